//! Parser for filters, attribute paths and PATCH paths.

use super::{AttrPath, Filter, PatchPath};
use crate::error::ScimError;

/// How deeply parentheses, `not` and value paths may nest.
pub const MAX_DEPTH: usize = 32;

/// Parses a whole filter expression.
pub fn parse_filter(_input: &str) -> Result<Filter, ScimError> {
    Err(ScimError::invalid_filter("filters are not implemented yet"))
}

/// Parses `[urn:]name[.sub]` (used by `attributes`, `sortBy`).
pub fn parse_attr_path(_input: &str) -> Result<AttrPath, ScimError> {
    Err(ScimError::invalid_path("paths are not implemented yet"))
}

/// Parses a PATCH `path`.
pub fn parse_patch_path(_input: &str) -> Result<PatchPath, ScimError> {
    Err(ScimError::invalid_path("paths are not implemented yet"))
}
