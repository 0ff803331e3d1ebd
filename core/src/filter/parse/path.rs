//! `[urn:]name[.sub]` attribute paths and the sub-attribute name after `].`.

use super::cursor::{is_path_byte, Parser};
use crate::error::ScimError;
use crate::filter::AttrPath;

/// ATTRNAME of RFC 7643 (ALPHA *(ALPHA / DIGIT / "-" / "_")), plus the reserved `$ref`.
fn is_attr_name(s: &str) -> bool {
    if s.eq_ignore_ascii_case("$ref") {
        return true;
    }
    let mut bytes = s.bytes();
    matches!(bytes.next(), Some(b) if b.is_ascii_alphabetic())
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

impl Parser<'_> {
    /// `[urn:]name[.sub]` at the cursor; `make` picks the error kind for the caller.
    pub(super) fn attr_path(
        &mut self,
        make: fn(String) -> ScimError,
    ) -> Result<AttrPath, ScimError> {
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
    pub(super) fn sub_attr_name(
        &mut self,
        make: fn(String) -> ScimError,
    ) -> Result<String, ScimError> {
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
