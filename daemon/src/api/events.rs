//! The events API's reads: the query of `GET /events/v1/{org}`, and one page of the org's
//! change feed after a cursor, rendered as the JSON consumers and webhooks receive.
//!
//! A cursor is the sequence number of the last event a consumer has handled, as a decimal
//! string; numbers only grow, so "after N" never skips or repeats an event.

use std::collections::HashMap;
use std::time::Duration;

use scimd_core::{ResourceType, ScimError};
use serde_json::{json, Value};

use super::{internal, render, Result};
use crate::store::events::{Event, Payload};
use crate::store::Store;

/// The most events one page returns.
pub const MAX_LIMIT: usize = 1000;
/// The page size when `limit` is absent.
pub const DEFAULT_LIMIT: usize = 100;
/// The longest `wait` a long-poll may ask for, in seconds.
pub const MAX_WAIT_SECS: u64 = 60;

/// A parsed events query.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Query {
    /// Events after this number; None starts at the oldest kept event.
    pub after: Option<u64>,
    pub limit: usize,
    /// How long to wait for a first event when there is none yet.
    pub wait: Duration,
}

fn number(query: &HashMap<String, String>, key: &str) -> Result<Option<u64>> {
    let Some(raw) = query.get(key) else {
        return Ok(None);
    };
    let raw = raw.trim();
    if raw.is_empty() {
        return Ok(None);
    }
    raw.parse::<u64>().map(Some).map_err(|_| {
        ScimError::invalid_value(format!(
            "'{key}' must be a non-negative whole number, not '{}'",
            crate::activity::clip(raw, 64)
        ))
    })
}

/// Reads `after`, `limit` and `wait` (keys lowercased by the edge).
pub fn parse_query(query: &HashMap<String, String>) -> Result<Query> {
    let after = number(query, "after")?;
    let limit = match number(query, "limit")? {
        None => DEFAULT_LIMIT,
        Some(n) if (1..=MAX_LIMIT as u64).contains(&n) => n as usize,
        Some(n) => {
            return Err(ScimError::invalid_value(format!(
                "'limit' must be between 1 and {MAX_LIMIT}, not {n}"
            )))
        }
    };
    let wait = match number(query, "wait")? {
        None => 0,
        Some(n) if n <= MAX_WAIT_SECS => n,
        Some(n) => {
            return Err(ScimError::invalid_value(format!(
                "'wait' is at most {MAX_WAIT_SECS} seconds, not {n}"
            )))
        }
    };
    Ok(Query {
        after,
        limit,
        wait: Duration::from_secs(wait),
    })
}

/// One read of the feed, rendered.
pub struct Page {
    pub body: Value,
    /// Whether it holds no event (a long-poll waits on).
    pub empty: bool,
}

/// The resource type an event's data is, by its type's prefix.
fn resource_type(kind: &str) -> ResourceType {
    if kind.starts_with("team.") {
        ResourceType::Group
    } else {
        ResourceType::User
    }
}

/// An event as consumers and webhooks receive it. `base` is the org's SCIM base URL, so a
/// resource's `meta.location` points where a consumer can read it again.
pub fn event_json(org: &str, base: &str, e: Event) -> Value {
    let data = match e.data {
        Payload::Resource(r) => render(base, resource_type(&e.kind), r),
        Payload::Member(v) => v,
    };
    json!({
        "id": e.id,
        "type": e.kind,
        "org": org,
        "seq": e.seq,
        "time": e.time,
        "data": data,
    })
}

/// The events of org `key` (named `name` on the wire) after `q.after`, at most `q.limit`.
/// A cursor older than what retention kept is 410; one past the newest event was not given
/// by this store and is refused rather than silently waited on.
pub fn page(store: &Store, key: &str, name: &str, base: &str, q: &Query) -> Result<Page> {
    let found = store.events(key, q.after, q.limit).map_err(internal)?;
    let from = q.after.unwrap_or(found.pruned);
    if from < found.pruned {
        return Err(ScimError::Gone(format!(
            "The events after {from} are no longer kept: retention has removed every event up \
             to {}. Resync through the SCIM lists (/Users, /Groups), then follow the feed from \
             cursor \"{}\", the newest event.",
            found.pruned, found.last
        )));
    }
    if from > found.last {
        return Err(ScimError::invalid_value(format!(
            "Cursor \"{from}\" is past the newest event of org '{name}' ({}); it was not \
             given by this server. Start without 'after' or from a cursor it returned.",
            found.last
        )));
    }
    let next = found.events.last().map_or(from, |e| e.seq);
    let empty = found.events.is_empty();
    let data: Vec<Value> = found
        .events
        .into_iter()
        .map(|e| event_json(name, base, e))
        .collect();
    Ok(Page {
        body: json!({
            "data": data,
            "next": next.to_string(),
            "hasMore": next < found.last,
        }),
        empty,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(pairs: &[(&str, &str)]) -> Result<Query> {
        parse_query(
            &pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
    }

    #[test]
    fn queries_have_defaults_and_bounds() {
        let d = q(&[]).unwrap();
        assert_eq!((d.after, d.limit, d.wait), (None, 100, Duration::ZERO));
        let set = q(&[("after", "42"), ("limit", "1000"), ("wait", "60")]).unwrap();
        assert_eq!(
            (set.after, set.limit, set.wait),
            (Some(42), 1000, Duration::from_secs(60))
        );
        for bad in [
            ("after", "-1"),
            ("after", "x"),
            ("limit", "0"),
            ("limit", "1001"),
            ("wait", "61"),
            ("wait", "1.5"),
        ] {
            let err = q(&[bad]).unwrap_err();
            assert_eq!(err.status(), 400, "{bad:?}");
            assert!(err.to_string().contains(bad.0), "{bad:?}: {err}");
        }
    }
}
