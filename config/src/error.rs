//! The one error type of this crate, whose `Display` is a single line an operator can act on.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

/// Everything that can go wrong while reading, validating, editing or watching the config file.
///
/// `Display` prints one line in the `file:line:col: key: message` shape that editors and
/// terminals recognise, for example
/// `scimd.toml:7:10: orgs.acme.tokens[0]: expected "sha256:" followed by 64 hex digits`.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file (or its folder) could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file the operation was about.
        path: PathBuf,
        /// What the operating system said.
        source: io::Error,
    },
    /// The file is not valid TOML.
    #[error("{}: {message}", Location(path, *line_col))]
    Parse {
        /// The config file.
        path: PathBuf,
        /// 1-based line and column of the syntax error, when toml knows it.
        line_col: Option<(usize, usize)>,
        /// toml's own message, folded onto one line.
        message: String,
    },
    /// The file is valid TOML but a key is unknown, has the wrong type, or a bad value.
    #[error("{}: {}{message}", Location(path, *line_col), KeyPrefix(key))]
    Invalid {
        /// The config file.
        path: PathBuf,
        /// The dotted key path, e.g. `orgs.acme.tokens[0]`; empty when the problem is the file
        /// as a whole.
        key: String,
        /// 1-based line and column of the offending key or value.
        line_col: Option<(usize, usize)>,
        /// What is wrong and what is expected instead.
        message: String,
    },
    /// A token command named an org that is not in the file.
    #[error("no org named `{0}` in the config file")]
    UnknownOrg(String),
    /// The file system watcher could not be started or reported a failure.
    #[error("watching the config file: {0}")]
    Watch(String),
}

impl ConfigError {
    pub(crate) fn io(path: &Path, source: io::Error) -> Self {
        ConfigError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}

/// `path`, or `path:line:col` when the position is known.
struct Location<'a>(&'a Path, Option<(usize, usize)>);

impl fmt::Display for Location<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.1 {
            Some((line, col)) => write!(f, "{}:{line}:{col}", self.0.display()),
            None => write!(f, "{}", self.0.display()),
        }
    }
}

/// `key: `, or nothing for an error about the file as a whole.
struct KeyPrefix<'a>(&'a str);

impl fmt::Display for KeyPrefix<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            Ok(())
        } else {
            write!(f, "{}: ", self.0)
        }
    }
}

/// toml's messages can span several lines ("Unexpected x / Expected y"); errors here are one line.
///
/// They also quote the file's own text (an unknown key, say) as it is, and a control character
/// there would reach the log and the dashboard raw: a `\r` rewrites the line on a terminal, an
/// escape sequence restyles it. Those are escaped the way `{:?}` writes them.
pub(crate) fn one_line(message: &str) -> String {
    let joined = message
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("; ");
    let mut out = String::with_capacity(joined.len());
    for c in joined.chars() {
        if c.is_control() {
            out.extend(c.escape_debug());
        } else {
            out.push(c);
        }
    }
    out
}
