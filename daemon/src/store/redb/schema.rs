//! Every redb table scimd uses, in one place. Keys are org-scoped tuples so that one org's
//! rows form a contiguous range and an id from another org simply is not found.

use redb::{MultimapTableDefinition, TableDefinition};

/// (org, user id) -> JSON [`super::Record`].
pub const USERS: TableDefinition<(&str, &str), &[u8]> = TableDefinition::new("users");
/// (org, group id) -> JSON [`super::Record`] (without members).
pub const GROUPS: TableDefinition<(&str, &str), &[u8]> = TableDefinition::new("groups");
/// (org, lowercased userName) -> user id. Unique: a clash is a 409.
pub const USER_BY_NAME: TableDefinition<(&str, &str), &str> = TableDefinition::new("user_by_name");
/// (org, externalId) -> user ids. Not unique: IdPs reuse externalIds.
pub const USER_BY_EXTERNAL_ID: MultimapTableDefinition<(&str, &str), &str> =
    MultimapTableDefinition::new("user_by_external_id");
/// (org, lowercased email) -> user ids.
pub const USER_BY_EMAIL: MultimapTableDefinition<(&str, &str), &str> =
    MultimapTableDefinition::new("user_by_email");
/// (org, lowercased displayName) -> group id. Unique: a clash is a 409.
pub const GROUP_BY_NAME: TableDefinition<(&str, &str), &str> =
    TableDefinition::new("group_by_name");
/// (org, externalId) -> group ids.
pub const GROUP_BY_EXTERNAL_ID: MultimapTableDefinition<(&str, &str), &str> =
    MultimapTableDefinition::new("group_by_external_id");
/// (org, group id, user id) -> the member's display name, kept here so listing a team's
/// members reads one range and never each user.
pub const MEMBERS: TableDefinition<(&str, &str, &str), &str> = TableDefinition::new("members");
/// (org, user id, group id) -> (). The reverse of [`MEMBERS`], for a user's `groups`.
pub const MEMBER_OF: TableDefinition<(&str, &str, &str), ()> = TableDefinition::new("member_of");
/// (org, counter name) -> count: users, groups, and `members:<group id>`.
pub const COUNTS: TableDefinition<(&str, &str), u64> = TableDefinition::new("counts");
/// seq -> JSON `ActivityRecord`: the persisted activity log, oldest first, pruned by
/// count and age (see `activity.rs`).
pub const ACTIVITY: TableDefinition<u64, &[u8]> = TableDefinition::new("activity");
/// (org, seq) -> JSON `StoredEvent`: the change feed (outbox), written in the transaction of
/// the change, oldest first per org, pruned from the front by `events.rs`. Files from before
/// the feed (layout 1) lack it; it is created at open, and layout 2 keeps binaries that would
/// write changes without their events away from the file.
pub const EVENTS: TableDefinition<(&str, u64), &[u8]> = TableDefinition::new("events");
/// (org, [`EVENT_LAST`] or [`EVENT_PRUNED`]) -> seq: the highest number given to an event of
/// the org, and the highest pruned; kept apart from the events so numbers never go back.
pub const EVENT_SEQ: TableDefinition<(&str, &str), u64> = TableDefinition::new("event_seq");
/// The [`EVENT_SEQ`] key of the last number given.
pub const EVENT_LAST: &str = "last";
/// The [`EVENT_SEQ`] key of the last number pruned.
pub const EVENT_PRUNED: &str = "pruned";
/// (org, endpoint id) -> JSON `HookState`: how far each webhook endpoint's delivery got. One
/// process holds the file, so it needs no lease.
pub const HOOKS: TableDefinition<(&str, &str), &[u8]> = TableDefinition::new("webhooks");
/// key -> value: the store's own metadata (schema version).
pub const META: TableDefinition<&str, u64> = TableDefinition::new("meta");

/// The on-disk layout version, bumped on incompatible changes.
pub const SCHEMA_VERSION: u64 = 2;
