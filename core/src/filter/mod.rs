//! SCIM filters (RFC 7644 section 3.4.2.2): the AST, its parser and its evaluator over JSON.
//!
//! The parser is lenient where real identity providers bend the RFC (unquoted values from
//! Microsoft's test suite, Entra's `emails[type eq "work"].value eq "x"`), strict elsewhere, and
//! caps nesting depth so a hostile filter cannot exhaust the stack.

mod eval;
mod parse;
mod print;

pub(crate) use eval::element_matches;
pub use eval::{matches, matches_with};
pub use parse::{parse_attr_path, parse_filter, parse_patch_path, MAX_DEPTH};

use serde_json::Number;

/// `[urn:]name[.sub]`, as written by the client (names are resolved against a schema later).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttrPath {
    /// The schema URN prefix, without the trailing `:`, when one was written.
    pub urn: Option<String>,
    pub name: String,
    pub sub: Option<String>,
}

impl AttrPath {
    /// A path without URN or sub-attribute.
    pub fn simple(name: &str) -> Self {
        AttrPath {
            urn: None,
            name: name.to_string(),
            sub: None,
        }
    }
}

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompareOp {
    Eq,
    Ne,
    Co,
    Sw,
    Ew,
    Gt,
    Ge,
    Lt,
    Le,
}

/// A literal on the right of a comparison.
#[derive(Debug, Clone, PartialEq)]
pub enum CompValue {
    Null,
    Bool(bool),
    Number(Number),
    Str(String),
}

/// A parsed filter.
#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    Compare {
        path: AttrPath,
        op: CompareOp,
        value: CompValue,
    },
    Present(AttrPath),
    And(Box<Filter>, Box<Filter>),
    Or(Box<Filter>, Box<Filter>),
    Not(Box<Filter>),
    /// `attr[filter]`: some element of the multi-valued (or complex) `path` matches `filter`,
    /// whose paths are relative to the element. Entra's `emails[type eq "work"].value eq "x"` is
    /// parsed into this form with the trailing comparison joined to `filter` by `and`.
    ValuePath {
        path: AttrPath,
        filter: Box<Filter>,
    },
}

/// A PATCH operation's `path` (RFC 7644 section 3.5.2):
/// `attrPath [ "[" valFilter "]" ] [ "." subAttr ]`.
#[derive(Debug, Clone, PartialEq)]
pub struct PatchPath {
    /// The attribute; `attr.sub` holds the sub-attribute, whether written as `name.givenName`
    /// or after a filter as `emails[type eq "work"].value`.
    pub attr: AttrPath,
    /// The value filter selecting elements of a multi-valued attribute.
    pub filter: Option<Filter>,
}
