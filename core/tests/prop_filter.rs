//! Properties of the filter parser, printer and evaluator, over grammar-aware generated ASTs
//! and over arbitrary text.
//!
//! The printer/parser property is `parse_filter(&f.to_string()) == Ok(f')`, where `f'` is `f`
//! with each number replaced by what serde_json reads its printed form as (see
//! `as_serde_reads_numbers`); everything else round-trips exactly. The generated ASTs stay
//! inside what the grammar can spell (see the filter generators in `support`), and text over
//! the parser's length limit is skipped.

mod support;

use proptest::prelude::*;
use scimd_core::filter::{
    matches, parse_attr_path, parse_filter, parse_patch_path, AttrPath, CompValue, CompareOp,
    Filter,
};
use scimd_core::ResourceType;
use serde_json::{Number, Value};
use support::{
    as_serde_reads_numbers, attr_name, awkward_string, comp_value, filter, fuzz, json_body,
    json_value, sub_name, urn,
};

/// The parser's length limit (not exported): longer text is refused before parsing.
const MAX_LEN: usize = 8 * 1024;

#[test]
fn fuzz_print_then_parse_round_trips() {
    fuzz("fuzz_print_then_parse_round_trips", filter(), |f| {
        let text = f.to_string();
        prop_assume!(text.len() <= MAX_LEN);
        let want = as_serde_reads_numbers(f);
        prop_assert_eq!(parse_filter(&text), Ok(want), "text: {}", text);
        Ok(())
    });
}

/// The one float the round trip found serde_json reading back off by one unit in the last
/// place; pinned so the normalisation above stays necessary and sufficient.
#[test]
fn floats_read_back_as_serde_json_reads_them() {
    let f = Filter::Compare {
        path: AttrPath::simple("x"),
        op: CompareOp::Ge,
        value: CompValue::Number(Number::from_f64(-1.9887588860716815e-13).unwrap_or(0.into())),
    };
    let text = f.to_string();
    assert_eq!(text, "x ge -1.9887588860716815e-13");
    assert_eq!(parse_filter(&text), Ok(as_serde_reads_numbers(f)));
}

/// Whatever text parses prints in a form that parses to the same AST (the printer never
/// needs more nesting than the text it came from).
fn reparses_the_same(text: &str) -> Result<(), TestCaseError> {
    let _ = parse_attr_path(text);
    let _ = parse_patch_path(text);
    if let Ok(f) = parse_filter(text) {
        let printed = f.to_string();
        if printed.len() <= MAX_LEN {
            let want = as_serde_reads_numbers(f);
            prop_assert_eq!(parse_filter(&printed), Ok(want), "printed: {}", printed);
        }
    }
    Ok(())
}

#[test]
fn fuzz_parse_arbitrary_text() {
    let text = prop_oneof![
        any::<String>(),
        prop::collection::vec(any::<u8>(), 0..64)
            .prop_map(|b| String::from_utf8_lossy(&b).into_owned()),
        awkward_string(),
    ];
    fuzz("fuzz_parse_arbitrary_text", text, |text| {
        reparses_the_same(&text)
    });
}

/// Filter-ish token soups: the right words in the wrong order, unbalanced brackets, stray
/// quotes and escapes, deep nesting.
fn token_soup() -> BoxedStrategy<String> {
    let token = prop_oneof![
        4 => attr_name(),
        1 => sub_name().prop_map(|s| format!(".{s}")),
        1 => urn().prop_map(|u| format!("{u}:")),
        3 => prop::sample::select(vec![
            "eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le", "pr", "and", "or", "not",
            "AND", "Or", "NOT", "(", ")", "[", "]", "\"", "\\", ".", ":", "true", "False",
            "null", "-", "0", "1.5e3", "-0", "1e999", "\"x\"", "\"\\u12\"", "\"\\uD800\"",
            "é", "🦀", "\t", "\u{0}",
        ])
        .prop_map(str::to_string),
        1 => comp_value().prop_map(|v| v.to_string()),
        1 => "[ ]{0,3}",
    ];
    (
        prop::collection::vec(
            (token, prop::sample::select(vec!["", " ", " ", "  "])),
            0..40,
        ),
        0usize..40,
    )
        .prop_map(|(tokens, opens)| {
            let mut s = "(".repeat(opens % 36);
            for (t, sep) in tokens {
                s.push_str(&t);
                s.push_str(sep);
            }
            s
        })
        .boxed()
}

#[test]
fn fuzz_parse_token_soup() {
    fuzz("fuzz_parse_token_soup", token_soup(), |text| {
        reparses_the_same(&text)
    });
}

#[test]
fn fuzz_eval_generated_filters() {
    // Most soups do not parse; those that do are the filters a generator would not think of.
    let filters = prop_oneof![
        3 => filter().prop_map(Some),
        1 => token_soup().prop_map(|t| parse_filter(&t).ok()),
    ];
    let resource = prop_oneof![
        3 => json_body(3).prop_map(Value::Object),
        1 => json_value(3),
    ];
    fuzz(
        "fuzz_eval_generated_filters",
        (filters, resource),
        |(f, resource)| {
            let Some(f) = f else { return Ok(()) };
            for rt in ResourceType::ALL {
                let _ = matches(&f, &resource, rt);
            }
            Ok(())
        },
    );
}

/// The parser's depth limit holds for printed text too: a filter nested past it is refused,
/// not overflowed.
#[test]
fn deep_printed_filters_are_refused() {
    let mut f = Filter::Present(AttrPath::simple("a"));
    for _ in 0..40 {
        f = Filter::Not(Box::new(f));
    }
    assert!(parse_filter(&f.to_string()).is_err());
}
