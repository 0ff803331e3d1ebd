//! The checks of stage two share one `Validator`: the file's text and parsed document, so an
//! error can point at the key and its line; each table's file adds its own checks to it.

use std::ffi::OsStr;
use std::fmt;
use std::ops::RangeInclusive;
use std::path::Path;

use toml_edit::ImDocument;

use crate::error::ConfigError;
use crate::span::{self, KeyPath};

/// The checks of stage two, with what they need to point into the file.
pub(crate) struct Validator<'a> {
    pub(crate) text: &'a str,
    pub(crate) doc: ImDocument<&'a str>,
    pub(crate) path: &'a Path,
    /// The value of `SCIMD_DATABASE_URL`, for `[store]`.
    pub(crate) database_url: Option<&'a OsStr>,
}

impl Validator<'_> {
    pub(crate) fn invalid(&self, key: &KeyPath, message: impl Into<String>) -> ConfigError {
        self.error_at(key, span::value_span(&self.doc, key), message)
    }

    pub(crate) fn invalid_name(&self, key: &KeyPath, message: impl Into<String>) -> ConfigError {
        self.error_at(key, span::key_span(&self.doc, key), message)
    }

    pub(crate) fn error_at(
        &self,
        key: &KeyPath,
        at: Option<std::ops::Range<usize>>,
        message: impl Into<String>,
    ) -> ConfigError {
        ConfigError::Invalid {
            path: self.path.to_path_buf(),
            key: key.to_string(),
            line_col: at.map(|s| span::line_col(self.text, s.start)),
            message: message.into(),
        }
    }

    /// `n` when it is within `range`, else an error naming `key`.
    pub(crate) fn in_range<T>(
        &self,
        key: &KeyPath,
        n: i64,
        range: RangeInclusive<T>,
    ) -> Result<T, ConfigError>
    where
        T: TryFrom<i64> + PartialOrd + fmt::Display,
    {
        T::try_from(n)
            .ok()
            .filter(|n| range.contains(n))
            .ok_or_else(|| {
                let (min, max) = (range.start(), range.end());
                self.invalid(
                    key,
                    format!("expected a number from {min} to {max}, got {n}"),
                )
            })
    }
}
