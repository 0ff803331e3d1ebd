//! Parser for filters, attribute paths and PATCH paths.
//!
//! A hand-written recursive-descent parser over bytes: every syntactic character is ASCII, so
//! byte offsets are always char boundaries and quoted strings can be sliced out and handed to
//! serde_json for escape decoding. Nesting is counted before each descent, so the recursion depth
//! is bounded by [`MAX_DEPTH`] no matter what the client sends.

use super::{AttrPath, CompValue, CompareOp, Filter, PatchPath};
use crate::error::ScimError;

/// How deeply parentheses, `not` and value paths may nest.
pub const MAX_DEPTH: usize = 32;

/// The longest filter or path accepted, in bytes; longer input is refused before parsing.
const MAX_LEN: usize = 8 * 1024;

/// Parses a whole filter expression.
pub fn parse_filter(input: &str) -> Result<Filter, ScimError> {
    if input.len() > MAX_LEN {
        return Err(ScimError::invalid_filter(format!(
            "filter is {} bytes long; the limit is {MAX_LEN}",
            input.len()
        )));
    }
    if input.trim().is_empty() {
        return Err(ScimError::invalid_filter("filter is empty"));
    }
    let mut p = Parser::new(input);
    let filter = p.parse_or(0, false)?;
    p.skip_ws();
    match p.peek() {
        None => Ok(filter),
        Some(b')') => Err(p.filter_err("unbalanced ')': no '(' is open here")),
        Some(b']') => Err(p.filter_err("unbalanced ']': no '[' is open here")),
        Some(_) => Err(p.filter_err(format!("expected 'and' or 'or', found {}", p.found()))),
    }
}

/// Parses `[urn:]name[.sub]` (used by `attributes`, `sortBy`).
pub fn parse_attr_path(input: &str) -> Result<AttrPath, ScimError> {
    let input = input.trim();
    if input.len() > MAX_LEN {
        return Err(ScimError::invalid_path(format!(
            "attribute path is {} bytes long; the limit is {MAX_LEN}",
            input.len()
        )));
    }
    if input.is_empty() {
        return Err(ScimError::invalid_path("attribute path is empty"));
    }
    let mut p = Parser::new(input);
    let path = p.attr_path(ScimError::invalid_path)?;
    if p.peek().is_some() {
        return Err(p.path_err(format!(
            "unexpected {} after attribute path '{}'",
            p.found(),
            &input[..p.pos]
        )));
    }
    Ok(path)
}

/// Parses a PATCH `path`.
pub fn parse_patch_path(input: &str) -> Result<PatchPath, ScimError> {
    let input = input.trim();
    if input.len() > MAX_LEN {
        return Err(ScimError::invalid_path(format!(
            "path is {} bytes long; the limit is {MAX_LEN}",
            input.len()
        )));
    }
    if input.is_empty() {
        return Err(ScimError::invalid_path("path is empty"));
    }
    let mut p = Parser::new(input);
    let mut attr = p.attr_path(ScimError::invalid_path)?;
    let mut filter = None;
    if p.peek() == Some(b'[') {
        if let Some(sub) = &attr.sub {
            return Err(p.path_err(format!(
                "a value filter '[...]' must follow a multi-valued attribute, not the \
                 sub-attribute '{sub}'"
            )));
        }
        let open = p.pos;
        p.pos += 1;
        // The brackets themselves are one level, as in a filter's value path.
        let inner = p.parse_or(1, true)?;
        p.skip_ws();
        p.close(b']', open, ScimError::invalid_path)?;
        filter = Some(inner);
        if p.peek() == Some(b'.') {
            p.pos += 1;
            attr.sub = Some(p.sub_attr_name(ScimError::invalid_path)?);
        }
    }
    if p.peek().is_some() {
        return Err(p.path_err(format!("unexpected {} at the end of the path", p.found())));
    }
    Ok(PatchPath { attr, filter })
}

/// Characters that may appear in `[urn:]name[.sub]`; the run is split and validated afterwards.
fn is_path_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'$' | b'.' | b':')
}

/// ATTRNAME of RFC 7643 (ALPHA *(ALPHA / DIGIT / "-" / "_")), plus the reserved `$ref`.
fn is_attr_name(s: &str) -> bool {
    if s.eq_ignore_ascii_case("$ref") {
        return true;
    }
    let mut bytes = s.bytes();
    matches!(bytes.next(), Some(b) if b.is_ascii_alphabetic())
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

const OPERATORS: &str = "eq, ne, co, sw, ew, gt, ge, lt, le or pr";

struct Parser<'a> {
    src: &'a str,
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Parser<'a> {
    fn new(src: &'a str) -> Self {
        Parser {
            src,
            bytes: src.as_bytes(),
            pos: 0,
        }
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn skip_ws(&mut self) {
        while self.peek().is_some_and(|b| b.is_ascii_whitespace()) {
            self.pos += 1;
        }
    }

    /// Character position (not byte) for messages, so non-ASCII input reports what people count.
    fn column(&self, at: usize) -> usize {
        self.src.get(..at).map_or(at, |s| s.chars().count())
    }

    /// A short quotation of the input at the cursor for "found ..." in messages.
    fn found(&self) -> String {
        self.found_at(self.pos)
    }

    fn found_at(&self, at: usize) -> String {
        let rest = self.src.get(at..).unwrap_or("");
        if rest.is_empty() {
            return "end of input".to_string();
        }
        let snippet: String = rest.chars().take(20).collect();
        if snippet.len() < rest.len() {
            format!("'{snippet}...'")
        } else {
            format!("'{snippet}'")
        }
    }

    fn filter_err(&self, msg: impl AsRef<str>) -> ScimError {
        self.err_at(self.pos, msg, ScimError::invalid_filter)
    }

    fn path_err(&self, msg: impl AsRef<str>) -> ScimError {
        self.err_at(self.pos, msg, ScimError::invalid_path)
    }

    fn err_at(&self, at: usize, msg: impl AsRef<str>, make: fn(String) -> ScimError) -> ScimError {
        make(format!(
            "{} (at position {})",
            msg.as_ref(),
            self.column(at)
        ))
    }

    /// Refuses to descend once `depth` is at the limit; called before every recursive step.
    fn enter(&self, depth: usize) -> Result<usize, ScimError> {
        if depth >= MAX_DEPTH {
            return Err(self.filter_err(format!(
                "filter nests deeper than {MAX_DEPTH} levels of parentheses, 'not' and value paths"
            )));
        }
        Ok(depth + 1)
    }

    /// Whether the keyword `kw` (case-insensitive) is at the cursor as a whole word.
    fn at_keyword(&self, kw: &str) -> bool {
        let end = self.pos + kw.len();
        self.bytes
            .get(self.pos..end)
            .is_some_and(|w| w.eq_ignore_ascii_case(kw.as_bytes()))
            && !self.bytes.get(end).is_some_and(|&b| is_path_byte(b))
    }

    /// Expects `close` after a group opened at `open`, explaining what went wrong otherwise.
    fn close(
        &mut self,
        close: u8,
        open: usize,
        make: fn(String) -> ScimError,
    ) -> Result<(), ScimError> {
        let opener = if close == b')' { '(' } else { '[' };
        match self.peek() {
            Some(b) if b == close => {
                self.pos += 1;
                Ok(())
            }
            None => Err(self.err_at(
                self.pos,
                format!(
                    "missing '{}' to close the '{opener}' at position {}",
                    close as char,
                    self.column(open)
                ),
                make,
            )),
            Some(_) => Err(self.err_at(
                self.pos,
                format!(
                    "expected 'and', 'or' or '{}', found {}",
                    close as char,
                    self.found()
                ),
                make,
            )),
        }
    }

    fn parse_or(&mut self, depth: usize, in_value_path: bool) -> Result<Filter, ScimError> {
        let mut left = self.parse_and(depth, in_value_path)?;
        loop {
            let save = self.pos;
            self.skip_ws();
            if !self.at_keyword("or") {
                self.pos = save;
                return Ok(left);
            }
            self.pos += 2;
            let right = self.parse_and(depth, in_value_path)?;
            left = Filter::Or(Box::new(left), Box::new(right));
        }
    }

    fn parse_and(&mut self, depth: usize, in_value_path: bool) -> Result<Filter, ScimError> {
        let mut left = self.parse_term(depth, in_value_path)?;
        loop {
            let save = self.pos;
            self.skip_ws();
            if !self.at_keyword("and") {
                self.pos = save;
                return Ok(left);
            }
            self.pos += 3;
            let right = self.parse_term(depth, in_value_path)?;
            left = Filter::And(Box::new(left), Box::new(right));
        }
    }

    /// `( filter )`, `not ( filter )` or an attribute expression / value path.
    fn parse_term(&mut self, depth: usize, in_value_path: bool) -> Result<Filter, ScimError> {
        self.skip_ws();
        match self.peek() {
            None => {
                Err(self.filter_err("expected an attribute path, '(' or 'not', found end of input"))
            }
            Some(b'(') => self.parse_group(depth, in_value_path),
            Some(_) if self.at_keyword("not") => {
                let depth = self.enter(depth)?;
                self.pos += 3;
                self.skip_ws();
                if self.peek() != Some(b'(') {
                    return Err(self
                        .filter_err(format!("expected '(' after 'not', found {}", self.found())));
                }
                let inner = self.parse_group(depth, in_value_path)?;
                Ok(Filter::Not(Box::new(inner)))
            }
            Some(_) => self.parse_attr_exp(depth, in_value_path),
        }
    }

    /// A parenthesised filter; the cursor is on the `(`.
    fn parse_group(&mut self, depth: usize, in_value_path: bool) -> Result<Filter, ScimError> {
        let depth = self.enter(depth)?;
        let open = self.pos;
        self.pos += 1;
        let inner = self.parse_or(depth, in_value_path)?;
        self.skip_ws();
        self.close(b')', open, ScimError::invalid_filter)?;
        Ok(inner)
    }

    fn parse_attr_exp(&mut self, depth: usize, in_value_path: bool) -> Result<Filter, ScimError> {
        let path = self.attr_path(ScimError::invalid_filter)?;
        if self.peek() != Some(b'[') {
            return self.parse_op_value(path);
        }
        if in_value_path {
            return Err(self.filter_err("value paths '[...]' cannot be nested inside another"));
        }
        if let Some(sub) = &path.sub {
            return Err(self.filter_err(format!(
                "a value filter '[...]' must follow a multi-valued attribute, not the \
                 sub-attribute '{sub}'"
            )));
        }
        let depth = self.enter(depth)?;
        let open = self.pos;
        self.pos += 1;
        let inner = self.parse_or(depth, true)?;
        self.skip_ws();
        self.close(b']', open, ScimError::invalid_filter)?;
        if self.peek() != Some(b'.') {
            return Ok(Filter::ValuePath {
                path,
                filter: Box::new(inner),
            });
        }
        // Entra's `emails[type eq "work"].value eq "x"`: the trailing comparison applies to the
        // same element, so it joins the bracketed filter rather than the outer expression.
        self.pos += 1;
        let sub = self.sub_attr_name(ScimError::invalid_filter)?;
        let tail = self.parse_op_value(AttrPath {
            urn: None,
            name: sub,
            sub: None,
        })?;
        Ok(Filter::ValuePath {
            path,
            filter: Box::new(Filter::And(Box::new(inner), Box::new(tail))),
        })
    }

    /// `SP "pr"` or `SP compareOp SP compValue` after an attribute path.
    fn parse_op_value(&mut self, path: AttrPath) -> Result<Filter, ScimError> {
        let path_text = path.to_string();
        if !self.peek().is_some_and(|b| b.is_ascii_whitespace()) {
            return Err(self.filter_err(match self.peek() {
                None => format!("expected an operator ({OPERATORS}) after '{path_text}'"),
                Some(_) => format!(
                    "expected a space and an operator after '{path_text}', found {}",
                    self.found()
                ),
            }));
        }
        self.skip_ws();
        let start = self.pos;
        while self.peek().is_some_and(|b| b.is_ascii_alphanumeric()) {
            self.pos += 1;
        }
        let word = &self.src[start..self.pos];
        if word.is_empty() {
            return Err(self.filter_err(format!(
                "expected an operator ({OPERATORS}) after '{path_text}', found {}",
                self.found()
            )));
        }
        let op = match word.to_ascii_lowercase().as_str() {
            "pr" => return self.finish_present(path),
            "eq" => CompareOp::Eq,
            "ne" => CompareOp::Ne,
            "co" => CompareOp::Co,
            "sw" => CompareOp::Sw,
            "ew" => CompareOp::Ew,
            "gt" => CompareOp::Gt,
            "ge" => CompareOp::Ge,
            "lt" => CompareOp::Lt,
            "le" => CompareOp::Le,
            _ => {
                return Err(self.err_at(
                    start,
                    format!("unknown operator '{word}' after '{path_text}'; expected {OPERATORS}"),
                    ScimError::invalid_filter,
                ))
            }
        };
        self.skip_ws();
        let value = self.comp_value(word)?;
        Ok(Filter::Compare { path, op, value })
    }

    /// `pr` takes no value; a value after it is a client mistake worth naming precisely.
    fn finish_present(&mut self, path: AttrPath) -> Result<Filter, ScimError> {
        let save = self.pos;
        self.skip_ws();
        let fine = match self.peek() {
            None | Some(b')') | Some(b']') => true,
            Some(_) => self.pos > save && (self.at_keyword("and") || self.at_keyword("or")),
        };
        if !fine {
            return Err(self.filter_err(format!("'pr' takes no value, found {}", self.found())));
        }
        self.pos = save;
        Ok(Filter::Present(path))
    }

    fn comp_value(&mut self, op: &str) -> Result<CompValue, ScimError> {
        match self.peek() {
            None | Some(b')') | Some(b']') => Err(self.filter_err(format!(
                "expected a value after '{op}', found {}",
                self.found()
            ))),
            Some(b'"') => self.quoted(),
            Some(_) => self.unquoted(),
        }
    }

    fn quoted(&mut self) -> Result<CompValue, ScimError> {
        let start = self.pos;
        let mut i = start + 1;
        loop {
            match self.bytes.get(i) {
                None => {
                    return Err(self.err_at(
                        start,
                        "unterminated string: missing closing '\"'",
                        ScimError::invalid_filter,
                    ))
                }
                Some(b'\\') => i += 2,
                Some(b'"') => break,
                Some(_) => i += 1,
            }
        }
        let raw = &self.src[start..=i];
        let s: String = serde_json::from_str(raw).map_err(|e| {
            self.err_at(
                start,
                format!("invalid string {raw}: {e}"),
                ScimError::invalid_filter,
            )
        })?;
        self.pos = i + 1;
        Ok(CompValue::Str(s))
    }

    /// Microsoft's SCIM validator sends values unquoted (`userName sw O`,
    /// `meta.created gt 2015-10-10T14:38:21.8617979-07:00`), so a bare token is a string unless it
    /// is a JSON literal or number.
    fn unquoted(&mut self) -> Result<CompValue, ScimError> {
        let start = self.pos;
        while self
            .peek()
            .is_some_and(|b| !b.is_ascii_whitespace() && b != b')' && b != b']')
        {
            self.pos += 1;
        }
        let token = &self.src[start..self.pos];
        if let Some(bad) = token.chars().find(|c| matches!(c, '"' | '(' | '[')) {
            return Err(self.err_at(
                start,
                format!("unexpected '{bad}' in the value '{token}'; quote values as JSON strings"),
                ScimError::invalid_filter,
            ));
        }
        if token.eq_ignore_ascii_case("true") {
            return Ok(CompValue::Bool(true));
        }
        if token.eq_ignore_ascii_case("false") {
            return Ok(CompValue::Bool(false));
        }
        if token.eq_ignore_ascii_case("null") {
            return Ok(CompValue::Null);
        }
        if token.starts_with(|c: char| c == '-' || c.is_ascii_digit()) {
            if let Ok(n) = token.parse::<serde_json::Number>() {
                return Ok(CompValue::Number(n));
            }
        }
        Ok(CompValue::Str(token.to_string()))
    }

    /// `[urn:]name[.sub]` at the cursor; `make` picks the error kind for the caller.
    fn attr_path(&mut self, make: fn(String) -> ScimError) -> Result<AttrPath, ScimError> {
        let start = self.pos;
        while self.peek().is_some_and(is_path_byte) {
            self.pos += 1;
        }
        let run = &self.src[start..self.pos];
        if run.is_empty() {
            return Err(self.err_at(
                start,
                format!("expected an attribute path, found {}", self.found()),
                make,
            ));
        }
        let err = |msg: String| self.err_at(start, msg, make);
        // URNs carry dots of their own (`...:2.0:User`), so the name starts after the last ':'.
        let (urn, rest) = match run.rfind(':') {
            Some(i) => (Some(&run[..i]), &run[i + 1..]),
            None => (None, run),
        };
        if let Some(urn) = urn {
            let body = urn.get(4..).unwrap_or("");
            let prefixed = urn.get(..4).is_some_and(|p| p.eq_ignore_ascii_case("urn:"));
            if !prefixed || body.is_empty() || body.split(':').any(str::is_empty) {
                return Err(err(format!(
                    "'{run}' is not a valid attribute path: a schema prefix must be a URN such \
                     as 'urn:ietf:params:scim:schemas:core:2.0:User:'"
                )));
            }
        }
        let (name, sub) = match rest.split_once('.') {
            Some((n, s)) => (n, Some(s)),
            None => (rest, None),
        };
        if !is_attr_name(name) {
            return Err(err(format!(
                "'{name}' in '{run}' is not a valid attribute name (a letter, then letters, \
                 digits, '-' or '_')"
            )));
        }
        if let Some(sub) = sub {
            if !is_attr_name(sub) {
                return Err(err(format!(
                    "'{sub}' in '{run}' is not a valid sub-attribute name (a letter, then \
                     letters, digits, '-' or '_'; only one level of '.' is allowed)"
                )));
            }
        }
        Ok(AttrPath {
            urn: urn.map(str::to_string),
            name: name.to_string(),
            sub: sub.map(str::to_string),
        })
    }

    /// The ATTRNAME after `].`; the cursor is just past the dot.
    fn sub_attr_name(&mut self, make: fn(String) -> ScimError) -> Result<String, ScimError> {
        let start = self.pos;
        while self
            .peek()
            .is_some_and(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'$'))
        {
            self.pos += 1;
        }
        let name = &self.src[start..self.pos];
        if !is_attr_name(name) {
            return Err(self.err_at(
                start,
                format!(
                    "expected a sub-attribute name after '].', found {}",
                    self.found_at(start)
                ),
                make,
            ));
        }
        Ok(name.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ScimType;
    use serde_json::Number;

    const ENT: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
    const CORE: &str = "urn:ietf:params:scim:schemas:core:2.0:User";

    fn p(name: &str) -> AttrPath {
        AttrPath::simple(name)
    }
    fn ps(name: &str, sub: &str) -> AttrPath {
        AttrPath {
            urn: None,
            name: name.into(),
            sub: Some(sub.into()),
        }
    }
    fn pu(urn: &str, name: &str, sub: Option<&str>) -> AttrPath {
        AttrPath {
            urn: Some(urn.into()),
            name: name.into(),
            sub: sub.map(Into::into),
        }
    }
    fn cmp(path: AttrPath, op: CompareOp, value: CompValue) -> Filter {
        Filter::Compare { path, op, value }
    }
    fn s(v: &str) -> CompValue {
        CompValue::Str(v.into())
    }
    fn n(v: &str) -> CompValue {
        CompValue::Number(v.parse::<Number>().unwrap())
    }
    fn eq(name: &str, v: &str) -> Filter {
        cmp(p(name), CompareOp::Eq, s(v))
    }
    fn and(a: Filter, b: Filter) -> Filter {
        Filter::And(Box::new(a), Box::new(b))
    }
    fn or(a: Filter, b: Filter) -> Filter {
        Filter::Or(Box::new(a), Box::new(b))
    }
    fn not(a: Filter) -> Filter {
        Filter::Not(Box::new(a))
    }
    fn vp(path: AttrPath, f: Filter) -> Filter {
        Filter::ValuePath {
            path,
            filter: Box::new(f),
        }
    }
    fn pr(path: AttrPath) -> Filter {
        Filter::Present(path)
    }

    #[test]
    fn filters_parse_into_the_expected_tree() {
        use CompareOp::*;
        let rows: Vec<(&str, Filter)> = vec![
            (r#"userName eq "bjensen""#, eq("userName", "bjensen")),
            (r#"UserName EQ "x""#, eq("UserName", "x")),
            (r#"  userName   eq   "x"  "#, eq("userName", "x")),
            (r#"userName eq"x""#, eq("userName", "x")),
            (r#"userName ne "x""#, cmp(p("userName"), Ne, s("x"))),
            (r#"userName co "x""#, cmp(p("userName"), Co, s("x"))),
            (r#"userName sw "J""#, cmp(p("userName"), Sw, s("J"))),
            (r#"userName ew "n""#, cmp(p("userName"), Ew, s("n"))),
            (r#"userName gt "a""#, cmp(p("userName"), Gt, s("a"))),
            (r#"userName ge "a""#, cmp(p("userName"), Ge, s("a"))),
            (r#"userName lt "a""#, cmp(p("userName"), Lt, s("a"))),
            (r#"userName Le "a""#, cmp(p("userName"), Le, s("a"))),
            ("title pr", pr(p("title"))),
            ("title PR", pr(p("title"))),
            (
                r#"name.familyName co "O'Malley""#,
                cmp(ps("name", "familyName"), Co, s("O'Malley")),
            ),
            (
                r#"emails.value ew "@example.com""#,
                cmp(ps("emails", "value"), Ew, s("@example.com")),
            ),
            (
                r#"meta.lastModified gt "2011-05-13T04:42:34Z""#,
                cmp(ps("meta", "lastModified"), Gt, s("2011-05-13T04:42:34Z")),
            ),
            (
                r#"urn:ietf:params:scim:schemas:core:2.0:User:userName sw "J""#,
                cmp(pu(CORE, "userName", None), Sw, s("J")),
            ),
            (
                r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq "26""#,
                cmp(pu(ENT, "manager", Some("value")), Eq, s("26")),
            ),
            (
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber pr",
                pr(pu(ENT, "employeeNumber", None)),
            ),
            (r#"a eq "q\"uote""#, eq("a", "q\"uote")),
            (r#"a eq "caf\u00e9""#, eq("a", "café")),
            (r#"a eq "back\\slash""#, eq("a", "back\\slash")),
            (
                r#"a eq "with ) and ] inside""#,
                eq("a", "with ) and ] inside"),
            ),
            (r#"a eq """#, eq("a", "")),
            ("a eq true", cmp(p("a"), Eq, CompValue::Bool(true))),
            ("a eq FALSE", cmp(p("a"), Eq, CompValue::Bool(false))),
            ("a eq Null", cmp(p("a"), Eq, CompValue::Null)),
            ("a eq 42", cmp(p("a"), Eq, n("42"))),
            ("a gt -1.5", cmp(p("a"), Gt, n("-1.5"))),
            ("a lt 1.5e3", cmp(p("a"), Lt, n("1.5e3"))),
            ("a lt 2E-2", cmp(p("a"), Lt, n("2E-2"))),
            // Microsoft's unquoted forms.
            ("userName sw O", cmp(p("userName"), Sw, s("O"))),
            ("a eq 007", eq("a", "007")),
            (
                "meta.Created gt 2015-10-10T14:38:21.8617979-07:00",
                cmp(
                    ps("meta", "Created"),
                    Gt,
                    s("2015-10-10T14:38:21.8617979-07:00"),
                ),
            ),
            (
                "name.FamilyName eq Employee and (emails.Value co example.com or emails.Value co \
                 example.org)",
                and(
                    cmp(ps("name", "FamilyName"), Eq, s("Employee")),
                    or(
                        cmp(ps("emails", "Value"), Co, s("example.com")),
                        cmp(ps("emails", "Value"), Co, s("example.org")),
                    ),
                ),
            ),
            // Precedence: not > and > or, left-associative.
            (
                r#"a eq "1" or b eq "2" and c eq "3""#,
                or(eq("a", "1"), and(eq("b", "2"), eq("c", "3"))),
            ),
            (
                r#"a eq "1" and b eq "2" or c eq "3""#,
                or(and(eq("a", "1"), eq("b", "2")), eq("c", "3")),
            ),
            (
                r#"a eq "1" AND b eq "2" And c eq "3""#,
                and(and(eq("a", "1"), eq("b", "2")), eq("c", "3")),
            ),
            (r#"a eq "1" OR b pr"#, or(eq("a", "1"), pr(p("b")))),
            (
                r#"(a eq "1" or b eq "2") and c eq "3""#,
                and(or(eq("a", "1"), eq("b", "2")), eq("c", "3")),
            ),
            (r#"not (a eq "1")"#, not(eq("a", "1"))),
            (r#"NOT(a eq "1")"#, not(eq("a", "1"))),
            (
                r#"not (a eq "1") and b pr"#,
                and(not(eq("a", "1")), pr(p("b"))),
            ),
            (r#"((a pr))"#, pr(p("a"))),
            (r#"(a pr)and(b pr)"#, and(pr(p("a")), pr(p("b")))),
            (r#"notes pr"#, pr(p("notes"))),
            (r#"android eq "x""#, eq("android", "x")),
            // Value paths.
            (
                r#"emails[type eq "work" and value co "@example.com"]"#,
                vp(
                    p("emails"),
                    and(eq("type", "work"), eq_op("value", Co, "@example.com")),
                ),
            ),
            (
                r#"emails[type eq "work" and primary eq true]"#,
                vp(
                    p("emails"),
                    and(
                        eq("type", "work"),
                        cmp(p("primary"), Eq, CompValue::Bool(true)),
                    ),
                ),
            ),
            (
                r#"userType eq "Employee" and emails[type eq "work" and value co "@example.com"]"#,
                and(
                    eq("userType", "Employee"),
                    vp(
                        p("emails"),
                        and(eq("type", "work"), eq_op("value", Co, "@example.com")),
                    ),
                ),
            ),
            (
                r#"emails[not (type eq "home")]"#,
                vp(p("emails"), not(eq("type", "home"))),
            ),
            (
                r#"emails[(type eq "work")]"#,
                vp(p("emails"), eq("type", "work")),
            ),
            (
                r#"members[value eq "2819c223"]"#,
                vp(p("members"), eq("value", "2819c223")),
            ),
            (
                r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager[value eq "x"]"#,
                vp(pu(ENT, "manager", None), eq("value", "x")),
            ),
            // Entra's trailing sub-attribute form.
            (
                r#"emails[type eq "work"].value eq "x""#,
                vp(p("emails"), and(eq("type", "work"), eq("value", "x"))),
            ),
            (
                r#"emails[type eq "work"].value pr"#,
                vp(p("emails"), and(eq("type", "work"), pr(p("value")))),
            ),
            (
                r#"emails[type eq "work" or primary eq true].value eq "x" and active eq true"#,
                and(
                    vp(
                        p("emails"),
                        and(
                            or(
                                eq("type", "work"),
                                cmp(p("primary"), Eq, CompValue::Bool(true)),
                            ),
                            eq("value", "x"),
                        ),
                    ),
                    cmp(p("active"), Eq, CompValue::Bool(true)),
                ),
            ),
            ("members.$ref pr", pr(ps("members", "$ref"))),
        ];
        for (input, want) in rows {
            match parse_filter(input) {
                Ok(got) => assert_eq!(got, want, "{input}"),
                Err(e) => panic!("{input}: {e}"),
            }
        }
    }

    fn eq_op(name: &str, op: CompareOp, v: &str) -> Filter {
        cmp(p(name), op, s(v))
    }

    #[test]
    fn bad_filters_are_invalid_filter_errors() {
        let deep_ok = format!("{}a pr{}", "(".repeat(MAX_DEPTH), ")".repeat(MAX_DEPTH));
        assert!(parse_filter(&deep_ok).is_ok());
        let not_ok = format!(
            "{}a pr{}",
            "not (".repeat(MAX_DEPTH / 2),
            ")".repeat(MAX_DEPTH / 2)
        );
        assert!(parse_filter(&not_ok).is_ok());
        let too_deep = format!(
            "{}a pr{}",
            "(".repeat(MAX_DEPTH + 1),
            ")".repeat(MAX_DEPTH + 1)
        );
        let not_too_deep = format!("{}a pr{}", "not (".repeat(MAX_DEPTH), ")".repeat(MAX_DEPTH));
        let rows: Vec<(String, &str)> = vec![
            ("".into(), "empty"),
            ("   ".into(), "empty"),
            ("ANN@ACME.COM".into(), "operator"),
            (r#""bjensen""#.into(), "attribute path"),
            ("bjensen".into(), "operator"),
            ("userName".into(), "operator"),
            ("userName eq".into(), "value"),
            ("userName eq ".into(), "value"),
            (r#"userName xx "a""#.into(), "unknown operator 'xx'"),
            (r#"userName = "a""#.into(), "operator"),
            (r#"userName eqq "a""#.into(), "unknown operator"),
            (r#"userName pr "a""#.into(), "'pr' takes no value"),
            ("userName pr x".into(), "'pr' takes no value"),
            (r#"(userName eq "a""#.into(), "missing ')'"),
            (r#"userName eq "a")"#.into(), "unbalanced ')'"),
            (r#"(userName eq "a"))"#.into(), "unbalanced ')'"),
            (r#"emails[type eq "a""#.into(), "missing ']'"),
            (
                r#"emails[type eq "a")"#.into(),
                "expected 'and', 'or' or ']'",
            ),
            (r#"emails[type eq "a"]]"#.into(), "unbalanced ']'"),
            (r#"userName eq "a" foo"#.into(), "expected 'and' or 'or'"),
            (r#"userName eq "a" and"#.into(), "end of input"),
            (r#"userName eq "a" or or"#.into(), "operator"),
            (r#"and userName eq "a""#.into(), "operator"),
            ("()".into(), "attribute path"),
            (r#"not userName eq "a""#.into(), "'(' after 'not'"),
            (r#"emails[type[value eq "1"]]"#.into(), "nested"),
            (r#"emails[type eq "work"].value"#.into(), "operator"),
            (r#"emails[type eq "work"]."#.into(), "sub-attribute name"),
            (
                r#"emails[type eq "work"] eq "x""#.into(),
                "expected 'and' or 'or'",
            ),
            (r#"name.givenName[value eq "x"]"#.into(), "sub-attribute"),
            (r#"a.b.c eq "x""#.into(), "sub-attribute name"),
            (r#"1abc eq "x""#.into(), "attribute name"),
            (r#"name. eq "x""#.into(), "sub-attribute"),
            (r#"foo:userName eq "x""#.into(), "URN"),
            (r#"urn:: eq "x""#.into(), "URN"),
            (
                r#"urn:ietf:params:scim:schemas:core:2.0:User: eq "x""#.into(),
                "attribute name",
            ),
            (r#"userName eq "unterminated"#.into(), "unterminated"),
            (r#"userName eq "bad \q escape""#.into(), "invalid string"),
            (r#"userName eq ab"c"#.into(), "quote values"),
            (r#"userName eq f(x)"#.into(), "quote values"),
            (r#"emails[]"#.into(), "attribute path"),
            (too_deep, "deeper than 32"),
            (not_too_deep, "deeper than 32"),
            (
                format!("{}a pr{}", "(".repeat(4000), ")".repeat(4000)),
                "deeper than 32",
            ),
            ("(".repeat(100_000), "limit"),
            (format!("userName eq \"{}\"", "x".repeat(MAX_LEN)), "limit"),
            (format!("{}a pr]", "emails[".repeat(2)), "nested"),
        ];
        for (input, want) in rows {
            let shown: String = input.chars().take(60).collect();
            match parse_filter(&input) {
                Ok(f) => panic!("{shown}: expected an error, got {f:?}"),
                Err(e) => {
                    assert_eq!(e.scim_type(), Some(ScimType::InvalidFilter), "{shown}: {e}");
                    let detail = e.to_string();
                    assert!(detail.contains(want), "{shown}: {detail:?} lacks {want:?}");
                }
            }
        }
    }

    #[test]
    fn attribute_paths() {
        let ok: Vec<(&str, AttrPath)> = vec![
            ("userName", p("userName")),
            (" userName ", p("userName")),
            ("name.givenName", ps("name", "givenName")),
            ("members.$ref", ps("members", "$ref")),
            ("x509Certificates", p("x509Certificates")),
            ("cost-center_2", p("cost-center_2")),
            (
                "urn:ietf:params:scim:schemas:core:2.0:User:userName",
                pu(CORE, "userName", None),
            ),
            (
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value",
                pu(ENT, "manager", Some("value")),
            ),
            (
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
                pu(
                    "urn:ietf:params:scim:schemas:extension:enterprise:2.0",
                    "User",
                    None,
                ),
            ),
        ];
        for (input, want) in ok {
            match parse_attr_path(input) {
                Ok(got) => assert_eq!(got, want, "{input}"),
                Err(e) => panic!("{input}: {e}"),
            }
        }
        let err = [
            "",
            "  ",
            "1name",
            "name.",
            ".name",
            "a.b.c",
            "user name",
            "userName,",
            "emails[type eq \"x\"]",
            "$foo",
            "na$me",
            "urn:",
            "foo:bar",
            "urn:x::name",
            "name..x",
            "é",
        ];
        for input in err {
            match parse_attr_path(input) {
                Ok(got) => panic!("{input}: expected an error, got {got:?}"),
                Err(e) => assert_eq!(e.scim_type(), Some(ScimType::InvalidPath), "{input}: {e}"),
            }
        }
    }

    #[test]
    fn patch_paths() {
        let ok: Vec<(&str, AttrPath, Option<Filter>)> = vec![
            ("userName", p("userName"), None),
            ("name.givenName", ps("name", "givenName"), None),
            ("members", p("members"), None),
            (
                r#"members[value eq "2819c223"]"#,
                p("members"),
                Some(eq("value", "2819c223")),
            ),
            (
                r#"emails[type eq "work"].value"#,
                ps("emails", "value"),
                Some(eq("type", "work")),
            ),
            (
                r#"addresses[type eq "work"].streetAddress"#,
                ps("addresses", "streetAddress"),
                Some(eq("type", "work")),
            ),
            (
                r#"emails[type eq "work" and primary eq true]"#,
                p("emails"),
                Some(and(
                    eq("type", "work"),
                    cmp(p("primary"), CompareOp::Eq, CompValue::Bool(true)),
                )),
            ),
            (
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager",
                pu(ENT, "manager", None),
                None,
            ),
            (
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value",
                pu(ENT, "manager", Some("value")),
                None,
            ),
            (
                "urn:ietf:params:scim:schemas:core:2.0:User:emails[type eq \"work\"].value",
                AttrPath {
                    urn: Some(CORE.into()),
                    name: "emails".into(),
                    sub: Some("value".into()),
                },
                Some(eq("type", "work")),
            ),
        ];
        for (input, attr, filter) in ok {
            match parse_patch_path(input) {
                Ok(got) => assert_eq!(got, PatchPath { attr, filter }, "{input}"),
                Err(e) => panic!("{input}: {e}"),
            }
        }
        let err: &[(&str, ScimType)] = &[
            ("", ScimType::InvalidPath),
            ("1bad", ScimType::InvalidPath),
            ("a.b.c", ScimType::InvalidPath),
            ("name.givenName[value eq \"x\"]", ScimType::InvalidPath),
            ("emails[type eq \"work\"", ScimType::InvalidPath),
            ("emails[type eq \"work\"].", ScimType::InvalidPath),
            ("emails[type eq \"work\"].value.x", ScimType::InvalidPath),
            ("emails[type eq \"work\"]x", ScimType::InvalidPath),
            ("emails x", ScimType::InvalidPath),
            ("emails[type xx \"work\"]", ScimType::InvalidFilter),
            ("emails[]", ScimType::InvalidFilter),
            ("emails[type[value eq 1]]", ScimType::InvalidFilter),
        ];
        for (input, kind) in err {
            match parse_patch_path(input) {
                Ok(got) => panic!("{input}: expected an error, got {got:?}"),
                Err(e) => assert_eq!(e.scim_type(), Some(*kind), "{input}: {e}"),
            }
        }
    }

    #[test]
    fn error_details_say_where() {
        let e = parse_filter(r#"userName eq "a" foo"#)
            .unwrap_err()
            .to_string();
        assert!(e.contains("position 16") && e.contains("'foo'"), "{e}");
        let e = parse_filter(r#"(a pr"#).unwrap_err().to_string();
        assert!(e.contains("position 0"), "{e}");
    }
}
