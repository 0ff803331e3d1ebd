//! Shared by the property tests: the fuzz driver and generators of schema-aware JSON.
//!
//! Each `fuzz_*` test runs proptest's default number of cases (`PROPTEST_CASES` overrides it),
//! or, when `SCIMD_FUZZ_SECS` is set, batch after batch of freshly seeded cases until that many
//! seconds have passed. A failure panics with the shrunk input, to be pinned as a regression
//! test next to the property.

#![allow(dead_code)] // Every test binary uses a different part of this module.

use std::cell::Cell;
use std::fmt::Debug;
use std::time::{Duration, Instant};

use proptest::prelude::*;
use proptest::strategy::Union;
use proptest::test_runner::{Config, TestError, TestRunner};
use scimd_core::filter::{AttrPath, CompValue, CompareOp, Filter};
use scimd_core::schema::{Attr, AttrType, Mutability, COMMON_ATTRS, ENTERPRISE_USER, GROUP, USER};
use scimd_core::ResourceType;
use serde_json::{Map, Number, Value};

/// Cases per batch when fuzzing for a duration: the deadline is checked between batches.
const BATCH: u32 = 2_000;

/// Runs `test` on inputs from `strategy` (see the module documentation for how many).
pub fn fuzz<S>(name: &str, strategy: S, test: impl Fn(S::Value) -> Result<(), TestCaseError>)
where
    S: Strategy,
    S::Value: Debug,
{
    let secs = std::env::var("SCIMD_FUZZ_SECS")
        .ok()
        .and_then(|s| s.trim().parse::<u64>().ok());
    let started = Instant::now();
    let cases = Cell::new(0u64);
    let counted = |v: S::Value| {
        cases.set(cases.get() + 1);
        test(v)
    };
    let run = |config: Config| {
        // Failures are reported by panicking with the input, and pinned by hand.
        let config = Config {
            failure_persistence: None,
            ..config
        };
        match TestRunner::new(config).run(&strategy, counted) {
            Ok(()) => {}
            Err(TestError::Fail(why, input)) => {
                panic!("{name}: {why}\nminimal failing input: {input:#?}")
            }
            Err(TestError::Abort(why)) => panic!("{name}: aborted: {why}"),
        }
    };
    match secs {
        None => run(Config::default()),
        Some(secs) => {
            let deadline = started + Duration::from_secs(secs);
            while Instant::now() < deadline {
                run(Config {
                    cases: BATCH,
                    ..Config::default()
                });
            }
        }
    }
    eprintln!(
        "{name}: {} cases (shrinking included) in {:.1?}",
        cases.get(),
        started.elapsed()
    );
}

/// Characters of everyday values: names, emails, ids.
const PLAIN: &str = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 ._@-";

/// Fragments that break naive quoting and slicing: quotes, backslashes, escapes, control,
/// multi-byte and astral characters, filter and JSON syntax.
const AWKWARD: &[&str] = &[
    "\"", "\\", "\\\"", "\\u00e9", "\\uD800", "\n", "\t", "\u{0}", "\u{7f}", "é", "日本", "🦀",
    "\u{200b}", "\u{feff}", " and ", " or ", "not", "(", ")", "[", "]", " eq ", "pr", "urn:", ":",
    ".", "True", "null", "-1e9", "ann", "x", "work",
];

/// Strings that break naive quoting and slicing. Built from `select`s rather than regexes or
/// unions, which cost about a hundred times more per value in a debug build.
pub fn awkward_string() -> BoxedStrategy<String> {
    let plain: Vec<char> = PLAIN.chars().collect();
    prop_oneof![
        4 => prop::collection::vec(prop::sample::select(plain), 0..12)
            .prop_map(String::from_iter),
        3 => prop::collection::vec(prop::sample::select(AWKWARD), 0..8)
            .prop_map(|parts| parts.concat()),
        1 => prop::collection::vec(any::<char>(), 0..12).prop_map(String::from_iter),
        // Long values, around the default caps on indexed (512) and other strings.
        1 => (prop::sample::select(vec!['a', 'é', '日']), 0..1100usize)
            .prop_map(|(c, n)| c.to_string().repeat(n)),
    ]
    .boxed()
}

/// Every attribute (and sub-attribute) name of the User, Enterprise User and Group schemas and
/// the common attributes, as `(name, sub-attribute names)`.
pub fn schema_attrs() -> Vec<(&'static str, Vec<&'static str>)> {
    let all: Vec<&'static Attr> = USER
        .attributes
        .iter()
        .chain(ENTERPRISE_USER.attributes)
        .chain(GROUP.attributes)
        .chain(COMMON_ATTRS)
        .collect();
    all.into_iter()
        .map(|a| (a.name, a.sub.iter().map(|s| s.name).collect()))
        .collect()
}

/// The client-writable attributes of a resource type, as `(path, writable sub-attribute
/// names)`: core and common ones by name, extension ones qualified by their URN.
pub fn writable_attrs_of(rt: ResourceType) -> Vec<(String, Vec<&'static str>)> {
    let writable = |a: &&Attr| a.mutability != Mutability::ReadOnly;
    let subs = |a: &Attr| {
        a.sub
            .iter()
            .filter(writable)
            .map(|s| s.name)
            .collect::<Vec<_>>()
    };
    let core = rt
        .schema()
        .attributes
        .iter()
        .chain(COMMON_ATTRS)
        .filter(writable)
        .map(|a| (a.name.to_string(), subs(a)));
    let ext = rt.extensions().iter().flat_map(|ext| {
        ext.attributes
            .iter()
            .filter(writable)
            .map(|a| (format!("{}:{}", ext.id, a.name), subs(a)))
    });
    core.chain(ext).collect()
}

/// The schema URNs, plus a foreign one.
pub const URNS: [&str; 4] = [
    "urn:ietf:params:scim:schemas:core:2.0:User",
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
    "urn:ietf:params:scim:schemas:core:2.0:Group",
    "urn:ietf:params:scim:schemas:extension:acme:1.0:Thing",
];

/// `s` with the case of the ASCII letters flipped whose position (mod 64) is set in `flips`.
pub fn recase(s: &str, flips: u64) -> String {
    s.chars()
        .enumerate()
        .map(
            |(i, c)| match (flips >> (i % 64) & 1 == 1, c.is_ascii_uppercase()) {
                (false, _) => c,
                (true, true) => c.to_ascii_lowercase(),
                (true, false) => c.to_ascii_uppercase(),
            },
        )
        .collect()
}

/// Case flips for [`recase`]: none half the time, else about one letter in four.
pub fn case_flips() -> BoxedStrategy<u64> {
    (any::<u64>(), any::<u64>(), any::<bool>())
        .prop_map(|(a, b, on)| if on { a & b } else { 0 })
        .boxed()
}

/// An attribute name from the schemas, in canonical or random case.
pub fn attr_name() -> BoxedStrategy<String> {
    let names: Vec<&'static str> = schema_attrs().into_iter().map(|(n, _)| n).collect();
    (prop::sample::select(names), case_flips())
        .prop_map(|(n, flips)| recase(n, flips))
        .boxed()
}

/// A body key: a schema attribute, `name.sub`, URN-qualified, an extension URN, `schemas`,
/// `id`, `meta`, or something unknown.
pub fn body_key() -> BoxedStrategy<String> {
    let dotted: Vec<String> = schema_attrs()
        .into_iter()
        .flat_map(|(name, subs)| subs.into_iter().map(move |sub| format!("{name}.{sub}")))
        .collect();
    let names: Vec<&'static str> = schema_attrs().into_iter().map(|(n, _)| n).collect();
    let fixed: Vec<&'static str> = URNS
        .iter()
        .copied()
        .chain(["schemas", "id", "meta"])
        .collect();
    let keys = prop_oneof![
        6 => prop::sample::select(names.clone()).prop_map(str::to_string),
        2 => prop::sample::select(dotted),
        2 => (prop::sample::select(URNS.to_vec()), prop::sample::select(names))
            .prop_map(|(urn, name)| format!("{urn}:{name}")),
        3 => prop::sample::select(fixed).prop_map(str::to_string),
        1 => awkward_string(),
    ];
    (keys, case_flips())
        .prop_map(|(k, f)| recase(&k, f))
        .boxed()
}

/// A JSON scalar, leaning towards the shapes identity providers send.
pub fn json_scalar() -> BoxedStrategy<Value> {
    prop_oneof![
        3 => prop::sample::select(vec![
            Value::Null,
            Value::Bool(true),
            Value::Bool(false),
            Value::String("True".into()),
            Value::String("false".into()),
            Value::Number(0.into()),
        ]),
        1 => any::<i64>().prop_map(|n| Value::Number(n.into())),
        1 => any::<u64>().prop_map(|n| Value::Number(n.into())),
        1 => any::<f64>().prop_map(|f| Number::from_f64(f).map_or(Value::Null, Value::Number)),
        3 => awkward_string().prop_map(Value::String),
    ]
    .boxed()
}

/// Arbitrary JSON up to `depth` levels, with schema attribute names among the object keys.
pub fn json_value(depth: u32) -> BoxedStrategy<Value> {
    json_scalar()
        .prop_recursive(depth, 16, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
                prop::collection::vec((body_key(), inner), 0..5)
                    .prop_map(|entries| Value::Object(entries.into_iter().collect())),
            ]
        })
        .boxed()
}

/// A JSON object of schema-ish keys and arbitrary values: a plausible, often invalid, body.
pub fn json_body(depth: u32) -> BoxedStrategy<Map<String, Value>> {
    let value = prop_oneof![2 => json_scalar(), 3 => json_value(depth)];
    prop::collection::vec((body_key(), value), 0..8)
        .prop_map(|entries| entries.into_iter().collect())
        .boxed()
}

// Filters the grammar can spell. Generated ASTs stay inside what the parser accepts: value
// paths are not nested and name no sub-attribute, no attribute is named `not` (the keyword wins
// at the start of a term), and nesting stays far below the parser's depth limit.

/// An ATTRNAME that is not the keyword `not`.
pub fn name_token() -> impl Strategy<Value = String> {
    "[a-zA-Z][a-zA-Z0-9_-]{0,8}"
        .prop_filter("`not` is a keyword", |s| !s.eq_ignore_ascii_case("not"))
}

pub fn sub_name() -> BoxedStrategy<String> {
    let subs: Vec<&'static str> = schema_attrs()
        .into_iter()
        .flat_map(|(_, subs)| subs)
        .collect();
    prop_oneof![
        3 => prop::sample::select(subs).prop_map(str::to_string),
        1 => name_token(),
        1 => Just("$ref".to_string()),
    ]
    .boxed()
}

pub fn urn() -> BoxedStrategy<String> {
    prop_oneof![
        3 => prop::sample::select(URNS.to_vec()).prop_map(str::to_string),
        1 => (
            prop::sample::select(vec!["urn", "URN", "Urn"]),
            prop::collection::vec("[a-zA-Z0-9._$-]{1,6}", 1..5),
        )
            .prop_map(|(head, parts)| format!("{head}:{}", parts.join(":"))),
    ]
    .boxed()
}

pub fn attr_path(with_sub: bool) -> BoxedStrategy<AttrPath> {
    let name = prop_oneof![3 => attr_name(), 1 => name_token()];
    let sub = if with_sub {
        prop::option::weighted(0.3, sub_name()).boxed()
    } else {
        Just(None).boxed()
    };
    (prop::option::weighted(0.2, urn()), name, sub)
        .prop_map(|(urn, name, sub)| AttrPath { urn, name, sub })
        .boxed()
}

pub fn comp_value() -> BoxedStrategy<CompValue> {
    prop_oneof![
        1 => Just(CompValue::Null),
        1 => any::<bool>().prop_map(CompValue::Bool),
        1 => any::<i64>().prop_map(|n| CompValue::Number(n.into())),
        1 => any::<u64>().prop_map(|n| CompValue::Number(n.into())),
        1 => any::<f64>()
            .prop_filter_map("finite", Number::from_f64)
            .prop_map(CompValue::Number),
        5 => awkward_string().prop_map(CompValue::Str),
    ]
    .boxed()
}

pub fn compare_op() -> impl Strategy<Value = CompareOp> {
    prop::sample::select(vec![
        CompareOp::Eq,
        CompareOp::Ne,
        CompareOp::Co,
        CompareOp::Sw,
        CompareOp::Ew,
        CompareOp::Gt,
        CompareOp::Ge,
        CompareOp::Lt,
        CompareOp::Le,
    ])
}

/// A comparison or `pr` on a path (relative to an element when `with_sub` is false).
pub fn leaf(with_sub: bool) -> BoxedStrategy<Filter> {
    prop_oneof![
        4 => (attr_path(with_sub), compare_op(), comp_value())
            .prop_map(|(path, op, value)| Filter::Compare { path, op, value }),
        1 => attr_path(with_sub).prop_map(Filter::Present),
    ]
    .boxed()
}

/// `and`, `or` and `not` over `leaves`, a few levels deep.
pub fn tree(leaves: BoxedStrategy<Filter>, depth: u32) -> BoxedStrategy<Filter> {
    leaves
        .prop_recursive(depth, 24, 2, |inner| {
            prop_oneof![
                (inner.clone(), inner.clone())
                    .prop_map(|(a, b)| Filter::And(Box::new(a), Box::new(b))),
                (inner.clone(), inner.clone())
                    .prop_map(|(a, b)| Filter::Or(Box::new(a), Box::new(b))),
                inner.prop_map(|a| Filter::Not(Box::new(a))),
            ]
        })
        .boxed()
}

/// A filter the grammar can spell: element filters inside value paths have relative paths
/// (sub-attributes and URNs are syntax the parser accepts there too) but no value paths.
pub fn filter() -> BoxedStrategy<Filter> {
    let value_path =
        (attr_path(false), tree(leaf(true), 2)).prop_map(|(path, inner)| Filter::ValuePath {
            path,
            filter: Box::new(inner),
        });
    let leaves = prop_oneof![3 => leaf(true), 1 => value_path].boxed();
    tree(leaves, 4)
}

/// `f` with every number replaced by what serde_json reads its printed form as. The printer
/// writes the shortest exact form of a float, but serde_json (without its `float_roundtrip`
/// feature, which scimd does not enable) may read some back one unit in the last place off.
pub fn as_serde_reads_numbers(f: Filter) -> Filter {
    let reread = |n: Number| serde_json::from_str::<Number>(&n.to_string()).unwrap_or(n);
    match f {
        Filter::Compare {
            path,
            op,
            value: CompValue::Number(n),
        } => Filter::Compare {
            path,
            op,
            value: CompValue::Number(reread(n)),
        },
        Filter::And(a, b) => Filter::And(
            Box::new(as_serde_reads_numbers(*a)),
            Box::new(as_serde_reads_numbers(*b)),
        ),
        Filter::Or(a, b) => Filter::Or(
            Box::new(as_serde_reads_numbers(*a)),
            Box::new(as_serde_reads_numbers(*b)),
        ),
        Filter::Not(a) => Filter::Not(Box::new(as_serde_reads_numbers(*a))),
        Filter::ValuePath { path, filter } => Filter::ValuePath {
            path,
            filter: Box::new(as_serde_reads_numbers(*filter)),
        },
        other => other,
    }
}

/// A value that fits `attr`'s definition, in the shapes identity providers use, leniencies
/// included: string booleans, numbers for strings, a lone object for a multi-valued attribute,
/// a bare id for a complex one.
pub fn value_for(attr: &'static Attr) -> BoxedStrategy<Value> {
    let leaf = |a: &'static Attr| -> BoxedStrategy<Value> {
        match a.ty {
            AttrType::Boolean => prop_oneof![
                3 => any::<bool>().prop_map(Value::Bool),
                1 => prop::sample::select(vec!["True", "false", "TRUE"])
                    .prop_map(|s| Value::String(s.into())),
            ]
            .boxed(),
            AttrType::Integer | AttrType::Decimal => {
                any::<i32>().prop_map(|n| Value::Number(n.into())).boxed()
            }
            AttrType::DateTime => prop::sample::select(vec![
                "2024-05-01T10:00:00Z",
                "2024-05-01T10:00:00.123+02:00",
                "yesterday",
            ])
            .prop_map(|s| Value::String(s.into()))
            .boxed(),
            _ => prop_oneof![
                6 => awkward_string().prop_map(Value::String),
                1 => any::<i32>().prop_map(|n| Value::Number(n.into())),
                1 => any::<bool>().prop_map(Value::Bool),
            ]
            .boxed(),
        }
    };
    if attr.ty != AttrType::Complex {
        let one = leaf(attr);
        return if attr.multi {
            prop::collection::vec(one, 0..4)
                .prop_map(Value::Array)
                .boxed()
        } else {
            one
        };
    }
    let subs: Vec<(&'static str, BoxedStrategy<Value>)> =
        attr.sub.iter().map(|s| (s.name, leaf(s))).collect();
    let entries: Vec<BoxedStrategy<Option<(String, Value)>>> = subs
        .into_iter()
        .map(|(name, v)| {
            prop::option::weighted(0.5, (case_flips(), v))
                .prop_map(move |e| e.map(|(f, v)| (recase(name, f), v)))
                .boxed()
        })
        .collect();
    let object = entries
        .prop_map(|entries| Value::Object(entries.into_iter().flatten().collect()))
        .boxed();
    if attr.multi {
        prop_oneof![
            6 => prop::collection::vec(object.clone(), 0..4).prop_map(Value::Array),
            1 => object,
        ]
        .boxed()
    } else {
        prop_oneof![
            6 => object,
            1 => awkward_string().prop_map(Value::String),
        ]
        .boxed()
    }
}

/// A body of `rt` whose keys are its attributes (plain, in random case, URN-qualified, or
/// inside their extension's object) and whose values fit them: often valid, and rich enough
/// that a valid one exercises every attribute type.
pub fn shaped_body(rt: ResourceType) -> BoxedStrategy<Map<String, Value>> {
    // One strategy per attribute, built once: a flat_map would rebuild them for every value.
    let core_urn = rt.schema().id;
    let mut kinds: Vec<(u32, BoxedStrategy<(String, Value)>)> = Vec::new();
    for a in rt.schema().attributes.iter().chain(COMMON_ATTRS) {
        let key = prop_oneof![
            4 => case_flips().prop_map(move |f| recase(a.name, f)),
            1 => Just(format!("{core_urn}:{}", a.name)),
        ];
        kinds.push((4, (key, value_for(a)).boxed()));
    }
    for ext in rt.extensions() {
        let id = ext.id;
        let mut inside = Vec::new();
        for a in ext.attributes {
            let qualified = (Just(format!("{id}:{}", a.name)), value_for(a)).boxed();
            kinds.push((1, qualified));
            inside.push((1, (Just(a.name.to_string()), value_for(a)).boxed()));
        }
        let nested = prop::collection::vec(Union::new_weighted(inside), 0..4)
            .prop_map(move |entries| (id.to_string(), Value::Object(entries.into_iter().collect())))
            .boxed();
        kinds.push((3, nested));
    }
    prop::collection::vec(Union::new_weighted(kinds), 0..10)
        .prop_map(|entries| entries.into_iter().collect())
        .boxed()
}
