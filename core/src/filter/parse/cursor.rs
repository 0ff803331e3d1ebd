//! The byte cursor under the filter and path parsers: peeking, whitespace, keywords, nesting
//! depth, and errors that say where in the input they are.

use super::MAX_DEPTH;
use crate::error::ScimError;

/// A cursor over the input; the grammar and path parsers are methods on it too.
pub(super) struct Parser<'a> {
    pub(super) src: &'a str,
    pub(super) bytes: &'a [u8],
    pub(super) pos: usize,
}

impl<'a> Parser<'a> {
    pub(super) fn new(src: &'a str) -> Self {
        Parser {
            src,
            bytes: src.as_bytes(),
            pos: 0,
        }
    }

    pub(super) fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    pub(super) fn skip_ws(&mut self) {
        while self.peek().is_some_and(|b| b.is_ascii_whitespace()) {
            self.pos += 1;
        }
    }

    /// Character position (not byte) for messages, so non-ASCII input reports what people count.
    pub(super) fn column(&self, at: usize) -> usize {
        self.src.get(..at).map_or(at, |s| s.chars().count())
    }

    /// A short quotation of the input at the cursor for "found ..." in messages.
    pub(super) fn found(&self) -> String {
        self.found_at(self.pos)
    }

    pub(super) fn found_at(&self, at: usize) -> String {
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

    pub(super) fn filter_err(&self, msg: impl AsRef<str>) -> ScimError {
        self.err_at(self.pos, msg, ScimError::invalid_filter)
    }

    pub(super) fn path_err(&self, msg: impl AsRef<str>) -> ScimError {
        self.err_at(self.pos, msg, ScimError::invalid_path)
    }

    pub(super) fn err_at(
        &self,
        at: usize,
        msg: impl AsRef<str>,
        make: fn(String) -> ScimError,
    ) -> ScimError {
        make(format!(
            "{} (at position {})",
            msg.as_ref(),
            self.column(at)
        ))
    }

    /// Refuses to descend once `depth` is at the limit; called before every recursive step.
    pub(super) fn enter(&self, depth: usize) -> Result<usize, ScimError> {
        if depth >= MAX_DEPTH {
            return Err(self.filter_err(format!(
                "filter nests deeper than {MAX_DEPTH} levels of parentheses, 'not' and value paths"
            )));
        }
        Ok(depth + 1)
    }

    /// Whether the keyword `kw` (case-insensitive) is at the cursor as a whole word.
    pub(super) fn at_keyword(&self, kw: &str) -> bool {
        let end = self.pos + kw.len();
        self.bytes
            .get(self.pos..end)
            .is_some_and(|w| w.eq_ignore_ascii_case(kw.as_bytes()))
            && !self.bytes.get(end).is_some_and(|&b| is_path_byte(b))
    }

    /// Expects `close` after a group opened at `open`, explaining what went wrong otherwise.
    pub(super) fn close(
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
}

/// Characters that may appear in `[urn:]name[.sub]`; the run is split and validated afterwards.
/// The cursor needs it to tell a keyword from the start of a longer name.
pub(super) fn is_path_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'$' | b'.' | b':')
}
