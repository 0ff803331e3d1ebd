//! What the config property tests share: the path every generated file claims, the check that
//! any text either parses or fails with one line pointing into it, and TOML string quoting.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use scimd_config::{Config, ConfigError};

/// Where every generated file claims to live; every error must name it.
pub const PATH: &str = "/tmp/x/scimd.toml";

/// Parses `text`. Whatever it is, the parser must return; an error must be one line, start with
/// the file's path and, when it has a position, point inside the text.
pub fn check_any(text: &str) -> Result<(), TestCaseError> {
    let err = match Config::from_toml_str(text, Path::new(PATH)) {
        Ok(config) => {
            prop_assert_eq!(config.path, PathBuf::from(PATH));
            return Ok(());
        }
        Err(err) => err,
    };
    let shown = err.to_string();
    prop_assert!(
        shown.starts_with(PATH),
        "does not name the file: {:?}",
        shown
    );
    prop_assert!(
        !shown.chars().any(char::is_control),
        "not one printable line: {:?}",
        shown
    );
    let line_col = match &err {
        ConfigError::Parse { line_col, .. } | ConfigError::Invalid { line_col, .. } => *line_col,
        other => return Err(TestCaseError::fail(format!("unexpected error {other:?}"))),
    };
    if let Some((line, col)) = line_col {
        let lines: Vec<&str> = text.split('\n').collect();
        prop_assert!(
            line >= 1 && line <= lines.len(),
            "line {} of {}: {:?}",
            line,
            lines.len(),
            shown
        );
        let width = lines[line - 1].chars().count();
        prop_assert!(
            col >= 1 && col <= width + 1,
            "col {} of {}: {:?}",
            col,
            width,
            shown
        );
    }
    Ok(())
}

/// A TOML basic string holding exactly `s`.
pub fn basic_string(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04X}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}
