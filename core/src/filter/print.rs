//! The canonical text of filters and paths: what the parser reads back into the same AST.
//!
//! Strings are always quoted (an unquoted `true` would read back as a boolean), with JSON
//! escapes for quotes, backslashes and control characters; every other character is written as
//! is. Parentheses appear only where precedence needs them: `and` binds tighter than `or`, both
//! group to the left, so a right operand of the same operator is parenthesised. Any AST the
//! parser produces prints to text it parses back to that AST, within [`super::MAX_DEPTH`].

use std::fmt::{self, Display, Formatter, Write};

use super::{AttrPath, CompValue, CompareOp, Filter, PatchPath};

impl Display for AttrPath {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        if let Some(urn) = &self.urn {
            write!(f, "{urn}:")?;
        }
        f.write_str(&self.name)?;
        if let Some(sub) = &self.sub {
            write!(f, ".{sub}")?;
        }
        Ok(())
    }
}

impl Display for CompareOp {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            CompareOp::Eq => "eq",
            CompareOp::Ne => "ne",
            CompareOp::Co => "co",
            CompareOp::Sw => "sw",
            CompareOp::Ew => "ew",
            CompareOp::Gt => "gt",
            CompareOp::Ge => "ge",
            CompareOp::Lt => "lt",
            CompareOp::Le => "le",
        })
    }
}

impl Display for CompValue {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            CompValue::Null => f.write_str("null"),
            CompValue::Bool(b) => write!(f, "{b}"),
            CompValue::Number(n) => write!(f, "{n}"),
            CompValue::Str(s) => quote(f, s),
        }
    }
}

/// A JSON string literal, which is what the parser decodes quoted values as.
fn quote(f: &mut Formatter<'_>, s: &str) -> fmt::Result {
    f.write_char('"')?;
    for c in s.chars() {
        match c {
            '"' => f.write_str("\\\"")?,
            '\\' => f.write_str("\\\\")?,
            '\n' => f.write_str("\\n")?,
            '\r' => f.write_str("\\r")?,
            '\t' => f.write_str("\\t")?,
            c if u32::from(c) < 0x20 => write!(f, "\\u{:04x}", u32::from(c))?,
            c => f.write_char(c)?,
        }
    }
    f.write_char('"')
}

/// What may stand at a position without parentheses.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Context {
    /// Anything: the top, inside `(...)`, `not (...)` or `[...]`, the left of `or`.
    Any,
    /// Anything but an `or`: the right of `or`, the left of `and`.
    NoOr,
    /// Neither `or` nor `and`: the right of `and`.
    NoAndOr,
}

impl Display for Filter {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write_filter(f, self, Context::Any)
    }
}

fn write_filter(f: &mut Formatter<'_>, filter: &Filter, ctx: Context) -> fmt::Result {
    match filter {
        Filter::Compare { path, op, value } => write!(f, "{path} {op} {value}"),
        Filter::Present(path) => write!(f, "{path} pr"),
        Filter::Or(a, b) => {
            let group = ctx >= Context::NoOr;
            open(f, group)?;
            write_filter(f, a, Context::Any)?;
            f.write_str(" or ")?;
            write_filter(f, b, Context::NoOr)?;
            close(f, group)
        }
        Filter::And(a, b) => {
            let group = ctx >= Context::NoAndOr;
            open(f, group)?;
            write_filter(f, a, Context::NoOr)?;
            f.write_str(" and ")?;
            write_filter(f, b, Context::NoAndOr)?;
            close(f, group)
        }
        Filter::Not(inner) => {
            f.write_str("not (")?;
            write_filter(f, inner, Context::Any)?;
            f.write_char(')')
        }
        Filter::ValuePath { path, filter } => {
            write!(f, "{path}[")?;
            write_filter(f, filter, Context::Any)?;
            f.write_char(']')
        }
    }
}

fn open(f: &mut Formatter<'_>, group: bool) -> fmt::Result {
    if group {
        f.write_char('(')?;
    }
    Ok(())
}

fn close(f: &mut Formatter<'_>, group: bool) -> fmt::Result {
    if group {
        f.write_char(')')?;
    }
    Ok(())
}

/// `attr[filter].sub` when there is a filter, else `[urn:]attr[.sub]`. A path to a whole
/// extension (empty `attr.name`) prints as its URN.
impl Display for PatchPath {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        let a = &self.attr;
        if a.name.is_empty() {
            return f.write_str(a.urn.as_deref().unwrap_or_default());
        }
        let Some(filter) = &self.filter else {
            return write!(f, "{a}");
        };
        if let Some(urn) = &a.urn {
            write!(f, "{urn}:")?;
        }
        write!(f, "{}[{filter}]", a.name)?;
        if let Some(sub) = &a.sub {
            write!(f, ".{sub}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::parse_filter;

    /// Text already in canonical form prints back unchanged.
    #[test]
    fn canonical_text_prints_as_is() {
        let rows = [
            r#"userName eq "bjensen""#,
            r#"title pr and userType eq "Employee""#,
            r#"title pr or userType eq "Intern" and active eq true"#,
            r#"(title pr or userType eq "Intern") and active eq false"#,
            r#"a pr and (b pr and c pr)"#,
            r#"a pr or (b pr or c pr)"#,
            r#"not (meta.created gt "2011-05-13T04:42:34Z") or x eq null"#,
            r#"emails[type eq "work" and value co "@example.com"] or ims[type eq "xmpp"]"#,
            r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq "m1""#,
            r#"x eq "q\"uote\\back\nline\u0001é🦀" and n ge -1.5e-7 and m lt 18446744073709551615"#,
        ];
        for text in rows {
            let parsed = parse_filter(text).unwrap_or_else(|e| panic!("{text}: {e}"));
            assert_eq!(parsed.to_string(), text);
        }
    }

    /// Other spellings print in the canonical form of the same AST.
    #[test]
    fn other_spellings_print_canonically() {
        let rows = [
            ("((a pr))", "a pr"),
            ("a pr AND b pr Or c pr", "a pr and b pr or c pr"),
            ("(a pr or b pr) or c pr", "a pr or b pr or c pr"),
            ("userName SW O", r#"userName sw "O""#),
            ("x eq True", "x eq true"),
            (
                r#"emails[type eq "work"].value eq "x""#,
                r#"emails[type eq "work" and value eq "x"]"#,
            ),
            (r#"x eq "\u00e9\/""#, r#"x eq "é/""#),
        ];
        for (text, want) in rows {
            let parsed = parse_filter(text).unwrap_or_else(|e| panic!("{text}: {e}"));
            assert_eq!(parsed.to_string(), want, "{text}");
            assert_eq!(parse_filter(want).ok(), Some(parsed), "{text}");
        }
    }
}
