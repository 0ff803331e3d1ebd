//! The snapshot's wire form: one JSON object per line (`application/x-ndjson`), users and
//! teams rendered as the events render them (teams without `members`), one line per
//! membership, and last the `end` line with the cursor to follow the feed from. Lines are
//! gathered into chunks of about [`CHUNK`] bytes, each handed on as soon as it is full.

use bytes::Bytes;
use scimd_core::ResourceType;
use serde_json::json;

use super::render;
use crate::store::snapshot::Item;
use crate::store::{Store, StoreError};

/// The size a chunk of lines is handed on at.
pub const CHUNK: usize = 64 << 10;

/// Streams the snapshot of org `key` (SCIM base URL `base`) to `send`, chunk by chunk, until
/// its end or until `send` returns false (the client is gone or stopped reading). An error
/// ends the stream without its end line, which tells the consumer it is incomplete.
pub fn stream(
    store: &Store,
    key: &str,
    base: &str,
    send: &mut dyn FnMut(Bytes) -> bool,
) -> Result<(), StoreError> {
    let mut buf: Vec<u8> = Vec::with_capacity(CHUNK + 4096);
    let mut emit = |item: Item| -> Result<bool, StoreError> {
        let line = match item {
            Item::User(r) => json!({"type": "user", "data": render(base, ResourceType::User, r)}),
            Item::Team(r) => json!({"type": "team", "data": render(base, ResourceType::Group, r)}),
            Item::Member {
                team_id,
                team_name,
                user_id,
                user_name,
            } => json!({
                "type": "member",
                "team": {"id": team_id, "displayName": team_name},
                "user": {"id": user_id, "userName": user_name},
            }),
            Item::End {
                cursor,
                users,
                teams,
                members,
            } => json!({
                "type": "end",
                "cursor": cursor.to_string(),
                "users": users,
                "teams": teams,
                "members": members,
            }),
        };
        // Writing a JSON value into a Vec cannot fail.
        let _ = serde_json::to_writer(&mut buf, &line);
        buf.push(b'\n');
        if buf.len() < CHUNK {
            return Ok(true);
        }
        let chunk = Bytes::from(std::mem::replace(
            &mut buf,
            Vec::with_capacity(CHUNK + 4096),
        ));
        Ok(send(chunk))
    };
    store.snapshot(key, &mut emit)?;
    if !buf.is_empty() {
        send(Bytes::from(buf));
    }
    Ok(())
}
