//! Tests across the crate's public API: parsing, tokens, file edits and the watcher.

mod edit;
mod parse;
mod tokens;
mod watch;
