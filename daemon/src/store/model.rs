//! The values that cross the storage interface (resources, changes, outcomes, lookups) and
//! the persisted record form with its encoding.

use scimd_core::patch::MemberOp;
use scimd_core::resource::Meta;
use scimd_core::wire::ActivityRecord;
use scimd_core::{ResourceType, ScimError};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::error::{Result, StoreError};

/// The persisted form of a user or group.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Record {
    pub(crate) attrs: Map<String, Value>,
    pub(crate) created: String,
    pub(crate) modified: String,
    pub(crate) version: u64,
}

/// A member of a team, or a team a user belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    pub id: String,
    pub display: String,
}

/// A resource as read from the store.
#[derive(Debug, Clone)]
pub struct Resource {
    pub id: String,
    pub attrs: Map<String, Value>,
    pub meta: Meta,
    /// Members (Group) or groups (User), when asked for.
    pub links: Option<Vec<Link>>,
}

/// What a modify closure returns: the new attributes and, for groups, membership changes.
#[derive(Debug, Clone)]
pub struct Change {
    pub attrs: Map<String, Value>,
    pub members: Vec<MemberOp>,
}

/// The result of a write, with what the activity log needs to describe it.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub resource: Resource,
    pub added: usize,
    pub removed: usize,
    /// Member ids that were asked for but are not users of this org.
    pub skipped: Vec<String>,
    /// The name before the write, when it changed (a rename, or a (de)activation for users).
    pub previous: Option<Map<String, Value>>,
    /// The activity record written in the change's own transaction, when the write was noted
    /// ([`super::Store::noting`]); numbered where the backend numbers as it writes.
    pub noted: Option<ActivityRecord>,
}

/// How a change is noted in the activity log: its record, made from the change's outcome
/// inside the change's own transaction, so the record is durable with the change or not at all.
pub type Note = std::sync::Arc<dyn Fn(&Outcome) -> ActivityRecord + Send + Sync>;

/// An index lookup that answers an `eq` filter without a scan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup {
    UserName(String),
    ExternalId(String),
    Email(String),
    DisplayName(String),
}

/// One resource: the org that holds it, its type and its id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Target<'a> {
    pub org: &'a str,
    pub rt: ResourceType,
    pub id: &'a str,
}

impl<'a> Target<'a> {
    pub fn new(org: &'a str, rt: ResourceType, id: &'a str) -> Target<'a> {
        Target { org, rt, id }
    }

    /// The org and id owned, for a job the writer may run more than once.
    pub(crate) fn owned(&self) -> (String, ResourceType, String) {
        (self.org.to_string(), self.rt, self.id.to_string())
    }
}

/// What a write runs under: the request's time (RFC 3339, also the time of its events) and
/// how member ids that name no user of the org are treated.
#[derive(Debug, Clone, Copy)]
pub struct Stamp<'a> {
    pub now: &'a str,
    pub unknown: Unknown,
}

/// Which resources a listing visits and how: its candidates, after id `after` (a cursor),
/// passing over the first `skip` without decoding them, with links when `with_links`.
#[derive(Debug, Clone, Copy)]
pub struct Walk<'a> {
    pub source: &'a Source,
    pub after: Option<&'a str>,
    pub skip: usize,
    pub with_links: bool,
}

/// A page of all of an org's resources of one type in id order, as a networked store reads it
/// ahead on the async runtime: after id `after`, past `skip` more, at most `limit`, with links
/// when `with_links`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageAsk {
    pub rt: scimd_core::ResourceType,
    pub after: Option<String>,
    pub skip: usize,
    pub limit: usize,
    pub with_links: bool,
}

/// What a [`PageAsk`] read, in one consistent statement: the type's count and the page.
#[derive(Debug)]
pub struct PageRead {
    pub ask: PageAsk,
    pub total: u64,
    pub resources: Vec<Resource>,
}

/// Which resources a listing visits.
#[derive(Debug, Clone)]
pub enum Source {
    /// All of the org's resources of the type, in id order.
    All,
    /// Those of them whose stored attributes hold each of these texts (ASCII, lowercased):
    /// a filter's values that every match must carry (`api::plan::needles`), so a backend
    /// can leave the others out where it scans.
    Matching(Vec<String>),
    /// Candidates from an index.
    Lookup(Lookup),
}

/// How team members that are not users of the org are treated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unknown {
    Skip,
    Reject,
}

pub(crate) fn counter_users(rt: ResourceType) -> &'static str {
    match rt {
        ResourceType::User => "users",
        ResourceType::Group => "groups",
    }
}

/// The counter of active users.
pub(crate) const ACTIVE: &str = "active";

pub(crate) use scimd_core::resource::is_active;

pub(crate) fn member_counter(gid: &str) -> String {
    format!("members:{gid}")
}

/// A stored row of `table` (a [`Record`], or any part of one), a corrupt one named by its key.
pub(crate) fn decode<T: serde::de::DeserializeOwned>(
    table: &'static str,
    key: &str,
    bytes: &[u8],
) -> Result<T> {
    serde_json::from_slice(bytes).map_err(|e| StoreError::Corrupt {
        table,
        key: key.to_string(),
        cause: e.to_string(),
    })
}

pub(crate) fn encode(rec: &Record) -> Vec<u8> {
    // Serializing a Map of JSON values cannot fail.
    serde_json::to_vec(rec).unwrap_or_default()
}

pub(crate) fn meta_of(rec: &Record) -> Meta {
    Meta {
        created: rec.created.clone(),
        last_modified: rec.modified.clone(),
        version: rec.version,
    }
}

pub(crate) fn table_name(rt: ResourceType) -> &'static str {
    match rt {
        ResourceType::User => "users",
        ResourceType::Group => "groups",
    }
}

pub(crate) fn not_found(rt: ResourceType, id: &str) -> ScimError {
    ScimError::NotFound(format!("{} {id} not found", rt.name()))
}

pub(crate) fn stale(rt: ResourceType, id: &str) -> ScimError {
    ScimError::PreconditionFailed(format!(
        "{} {id} has changed since the version in If-Match; fetch it again",
        rt.name()
    ))
}
