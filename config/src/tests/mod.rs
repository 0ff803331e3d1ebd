//! Tests across the crate's public API: parsing, the store table, tokens, file edits and the
//! watcher.

mod edit;
mod events;
mod extensions;
mod parse;
mod read_tokens;
mod store;
mod tokens;
mod watch;
mod webhooks;
