//! The filter grammar (RFC 7644 §3.4.2.2): `or`, `and`, `not`, groups, value paths, operators
//! and comparison values, by recursive descent with the depth counted before each step.

use super::cursor::Parser;
use crate::error::ScimError;
use crate::filter::{AttrPath, CompValue, CompareOp, Filter};

const OPERATORS: &str = "eq, ne, co, sw, ew, gt, ge, lt, le or pr";

impl Parser<'_> {
    pub(super) fn parse_or(
        &mut self,
        depth: usize,
        in_value_path: bool,
    ) -> Result<Filter, ScimError> {
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

    pub(super) fn parse_and(
        &mut self,
        depth: usize,
        in_value_path: bool,
    ) -> Result<Filter, ScimError> {
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
    pub(super) fn parse_term(
        &mut self,
        depth: usize,
        in_value_path: bool,
    ) -> Result<Filter, ScimError> {
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
    pub(super) fn parse_group(
        &mut self,
        depth: usize,
        in_value_path: bool,
    ) -> Result<Filter, ScimError> {
        let depth = self.enter(depth)?;
        let open = self.pos;
        self.pos += 1;
        let inner = self.parse_or(depth, in_value_path)?;
        self.skip_ws();
        self.close(b')', open, ScimError::invalid_filter)?;
        Ok(inner)
    }

    pub(super) fn parse_attr_exp(
        &mut self,
        depth: usize,
        in_value_path: bool,
    ) -> Result<Filter, ScimError> {
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
    pub(super) fn parse_op_value(&mut self, path: AttrPath) -> Result<Filter, ScimError> {
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
    pub(super) fn finish_present(&mut self, path: AttrPath) -> Result<Filter, ScimError> {
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

    pub(super) fn comp_value(&mut self, op: &str) -> Result<CompValue, ScimError> {
        match self.peek() {
            None | Some(b')') | Some(b']') => Err(self.filter_err(format!(
                "expected a value after '{op}', found {}",
                self.found()
            ))),
            Some(b'"') => self.quoted(),
            Some(_) => self.unquoted(),
        }
    }

    pub(super) fn quoted(&mut self) -> Result<CompValue, ScimError> {
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
    pub(super) fn unquoted(&mut self) -> Result<CompValue, ScimError> {
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
}
