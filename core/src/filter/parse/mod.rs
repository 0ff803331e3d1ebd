//! Parser for filters, attribute paths and PATCH paths.
//!
//! A hand-written recursive-descent parser over bytes: every syntactic character is ASCII, so
//! byte offsets are always char boundaries and quoted strings can be sliced out and handed to
//! serde_json for escape decoding. Nesting is counted before each descent, so the recursion depth
//! is bounded by [`MAX_DEPTH`] no matter what the client sends.
//!
//! The entry points are here; the byte cursor and its error positions are in `cursor`, the
//! filter grammar in `grammar`, and `[urn:]name[.sub]` in `path`.

mod cursor;
mod grammar;
mod path;

use super::{AttrPath, Filter, PatchPath};
use crate::error::ScimError;
use cursor::Parser;

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

#[cfg(test)]
mod tests;
