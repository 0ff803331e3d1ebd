//! The durable store: SCIM-level operations over one redb file. No redb type leaves this module,
//! so a PostgreSQL backend can later implement the same surface.
//!
//! Every changing call is one write transaction with `Durability::Immediate`: when it returns
//! Ok the change is on disk. Calls block; the HTTP layer runs them off the async threads.

pub mod activity;
mod commit;
mod dash;
mod schema;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::Arc;

use redb::{Database, ReadableTable};
use scimd_core::patch::MemberOp;
use scimd_core::resource::{self as res, Meta};
use scimd_core::{ResourceType, ScimError};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::precondition;
use schema::*;

/// A failure of the store: either a SCIM-level refusal or a database fault.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(transparent)]
    Scim(#[from] ScimError),
    #[error("database: {0}")]
    Db(Box<redb::Error>),
    /// The shared transaction this write was part of failed; nothing of it was committed.
    #[error("write batch failed: {0}")]
    Batch(String),
    #[error("corrupt record in {table} for {key}: {cause}")]
    Corrupt {
        table: &'static str,
        key: String,
        cause: String,
    },
}

macro_rules! from_redb {
    ($($t:ty),*) => {$(
        impl From<$t> for StoreError {
            fn from(e: $t) -> Self {
                StoreError::Db(Box::new(e.into()))
            }
        }
    )*};
}
from_redb!(
    redb::Error,
    redb::DatabaseError,
    redb::TransactionError,
    redb::TableError,
    redb::StorageError,
    redb::CommitError
);

type Result<T> = std::result::Result<T, StoreError>;

/// The persisted form of a user or group.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Record {
    attrs: Map<String, Value>,
    created: String,
    modified: String,
    version: u64,
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
}

/// An index lookup that answers an `eq` filter without a scan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup {
    UserName(String),
    ExternalId(String),
    Email(String),
    DisplayName(String),
}

/// Which resources a listing visits.
#[derive(Debug, Clone)]
pub enum Source {
    /// All of the org's resources of the type, in id order.
    All,
    /// Candidates from an index.
    Lookup(Lookup),
}

/// How team members that are not users of the org are treated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unknown {
    Skip,
    Reject,
}

/// The store handle; cheap to clone.
#[derive(Clone)]
pub struct Store {
    db: Arc<Database>,
    committer: Arc<commit::Committer>,
}

fn counter_users(rt: ResourceType) -> &'static str {
    match rt {
        ResourceType::User => "users",
        ResourceType::Group => "groups",
    }
}

/// redb's in-process page cache.
const CACHE_BYTES: usize = 64 << 20;

/// The counter of active users.
const ACTIVE: &str = "active";

fn is_active(attrs: &Map<String, Value>) -> bool {
    // RFC 7643 leaves `active` optional; a user without it is treated as active.
    attrs.get("active").and_then(Value::as_bool).unwrap_or(true)
}

fn member_counter(gid: &str) -> String {
    format!("members:{gid}")
}

fn decode(table: &'static str, key: &str, bytes: &[u8]) -> Result<Record> {
    serde_json::from_slice(bytes).map_err(|e| StoreError::Corrupt {
        table,
        key: key.to_string(),
        cause: e.to_string(),
    })
}

fn encode(rec: &Record) -> Vec<u8> {
    // Serializing a Map of JSON values cannot fail.
    serde_json::to_vec(rec).unwrap_or_default()
}

fn meta_of(rec: &Record) -> Meta {
    Meta {
        created: rec.created.clone(),
        last_modified: rec.modified.clone(),
        version: rec.version,
    }
}

fn table_name(rt: ResourceType) -> &'static str {
    match rt {
        ResourceType::User => "users",
        ResourceType::Group => "groups",
    }
}

impl Store {
    /// Opens (or creates) the store file, creating every table so reads never miss one.
    pub fn open(path: &Path) -> Result<Store> {
        // redb's default cache is 1 GiB; a bounded cache keeps the daemon's memory flat as
        // an org grows, and the OS page cache still holds the hot file pages.
        let db = redb::Builder::new()
            .set_cache_size(CACHE_BYTES)
            .create(path)?;
        let txn = db.begin_write()?;
        {
            txn.open_table(USERS)?;
            txn.open_table(GROUPS)?;
            txn.open_table(USER_BY_NAME)?;
            txn.open_multimap_table(USER_BY_EXTERNAL_ID)?;
            txn.open_multimap_table(USER_BY_EMAIL)?;
            txn.open_table(GROUP_BY_NAME)?;
            txn.open_multimap_table(GROUP_BY_EXTERNAL_ID)?;
            txn.open_table(MEMBERS)?;
            txn.open_table(MEMBER_OF)?;
            txn.open_table(COUNTS)?;
            txn.open_table(ACTIVITY)?;
            let mut meta = txn.open_table(META)?;
            if meta.get("schema_version")?.is_none() {
                meta.insert("schema_version", SCHEMA_VERSION)?;
            }
        }
        txn.commit()?;
        let db = Arc::new(db);
        let committer = Arc::new(commit::Committer::start(db.clone()));
        Ok(Store { db, committer })
    }

    /// Number of resources of `rt` in `org`.
    pub fn count(&self, org: &str, rt: ResourceType) -> Result<u64> {
        let txn = self.db.begin_read()?;
        let counts = txn.open_table(COUNTS)?;
        Ok(counts
            .get((org, counter_users(rt)))?
            .map(|v| v.value())
            .unwrap_or(0))
    }

    /// One resource by id, with its links when `with_links`.
    pub fn get(
        &self,
        org: &str,
        rt: ResourceType,
        id: &str,
        with_links: bool,
    ) -> Result<Option<Resource>> {
        let txn = self.db.begin_read()?;
        let reader = Reader { txn: &txn };
        reader.get(org, rt, id, with_links)
    }

    /// Visits the resources of `source` in id order inside one read transaction, starting
    /// after id `after` (a cursor) and passing over the first `skip` of them without decoding
    /// them. `visit` returns false to stop.
    #[allow(clippy::too_many_arguments)]
    pub fn visit(
        &self,
        org: &str,
        rt: ResourceType,
        source: &Source,
        after: Option<&str>,
        skip: usize,
        with_links: bool,
        visit: &mut dyn FnMut(Resource) -> std::result::Result<bool, ScimError>,
    ) -> Result<()> {
        use std::ops::Bound;
        let txn = self.db.begin_read()?;
        let reader = Reader { txn: &txn };
        match source {
            Source::All => {
                let table = txn.open_table(rt_table(rt))?;
                let start = match after {
                    Some(id) => Bound::Excluded((org, id)),
                    None => Bound::Included((org, "")),
                };
                for entry in table
                    .range::<(&str, &str)>((start, Bound::Unbounded))?
                    .skip(skip)
                {
                    let (k, v) = entry?;
                    let (o, id) = k.value();
                    if o != org {
                        break;
                    }
                    let rec = decode(table_name(rt), id, v.value())?;
                    let links = if with_links {
                        Some(reader.links(org, rt, id)?)
                    } else {
                        None
                    };
                    let r = Resource {
                        id: id.to_string(),
                        meta: meta_of(&rec),
                        attrs: rec.attrs,
                        links,
                    };
                    if !visit(r)? {
                        break;
                    }
                }
            }
            Source::Lookup(lookup) => {
                let mut ids = reader.lookup(org, lookup)?;
                ids.sort_unstable();
                ids.dedup();
                let ids = ids
                    .into_iter()
                    .filter(|id| after.is_none_or(|a| id.as_str() > a));
                for id in ids.skip(skip) {
                    if let Some(r) = reader.get(org, rt, &id, with_links)? {
                        if !visit(r)? {
                            break;
                        }
                    }
                }
            }
        }
        Ok(())
    }

    /// Creates a resource with the given id (and, for groups, initial members).
    #[allow(clippy::too_many_arguments)]
    pub fn create(
        &self,
        org: &str,
        rt: ResourceType,
        id: &str,
        now: &str,
        attrs: Map<String, Value>,
        members: Vec<String>,
        unknown: Unknown,
    ) -> Result<Outcome> {
        let (org, id, now) = (org.to_string(), id.to_string(), now.to_string());
        self.committer
            .submit(move |tx| tx.create(&org, rt, &id, &now, attrs, members, unknown))
    }

    /// Reads, changes and writes one resource atomically. `change` sees the current resource
    /// and returns the new attributes and membership changes; returning an error writes
    /// nothing.
    #[allow(clippy::too_many_arguments)]
    pub fn modify(
        &self,
        org: &str,
        rt: ResourceType,
        id: &str,
        if_match: Option<&str>,
        now: &str,
        unknown: Unknown,
        change: impl FnOnce(&Resource) -> std::result::Result<Change, ScimError> + Send + 'static,
    ) -> Result<Outcome> {
        let (org, id, now) = (org.to_string(), id.to_string(), now.to_string());
        let if_match = if_match.map(str::to_string);
        self.committer
            .submit(move |tx| tx.modify(&org, rt, &id, if_match.as_deref(), &now, unknown, change))
    }

    /// Deletes a resource; a user leaves every team, a team's memberships go with it.
    pub fn delete(
        &self,
        org: &str,
        rt: ResourceType,
        id: &str,
        if_match: Option<&str>,
    ) -> Result<Outcome> {
        let (org, id) = (org.to_string(), id.to_string());
        let if_match = if_match.map(str::to_string);
        self.committer
            .submit(move |tx| tx.delete(&org, rt, &id, if_match.as_deref()))
    }

    /// Runs several operations in one durable transaction (Bulk). Each operation on `Tx`
    /// either applies whole or refuses with nothing written.
    pub fn write<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Tx<'_>) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        self.committer.submit(f)
    }
}

/// The write operations of one (shared) transaction. Every operation runs all the checks
/// that can refuse it before its first write, which is what lets group commit and Bulk share
/// a transaction between independent requests.
pub struct Tx<'t> {
    w: Writer<'t>,
}

impl Tx<'_> {
    /// See [`Store::create`].
    #[allow(clippy::too_many_arguments)]
    pub fn create(
        &mut self,
        org: &str,
        rt: ResourceType,
        id: &str,
        now: &str,
        attrs: Map<String, Value>,
        members: Vec<String>,
        unknown: Unknown,
    ) -> Result<Outcome> {
        let w = &mut self.w;
        // Checks first: nothing may be written before a refusal.
        w.check_unique(org, rt, id, &attrs)?;
        let plan = if rt == ResourceType::Group {
            w.plan_members(org, id, &[MemberOp::Add(members)], unknown)?
        } else {
            MemberPlan::default()
        };
        let rec = Record {
            attrs,
            created: now.into(),
            modified: now.into(),
            version: 1,
        };
        w.index(org, rt, id, &rec.attrs, true)?;
        w.put(org, rt, id, &rec)?;
        w.bump(org, counter_users(rt), 1)?;
        if rt == ResourceType::User && is_active(&rec.attrs) {
            w.bump(org, ACTIVE, 1)?;
        }
        let skipped = plan.skipped.clone();
        let (added, removed) = w.write_members(org, id, plan)?;
        let resource = Resource {
            id: id.into(),
            meta: meta_of(&rec),
            attrs: rec.attrs,
            links: None,
        };
        Ok(Outcome {
            resource,
            added,
            removed,
            skipped,
            previous: None,
        })
    }

    /// See [`Store::modify`].
    #[allow(clippy::too_many_arguments)]
    pub fn modify(
        &mut self,
        org: &str,
        rt: ResourceType,
        id: &str,
        if_match: Option<&str>,
        now: &str,
        unknown: Unknown,
        change: impl FnOnce(&Resource) -> std::result::Result<Change, ScimError>,
    ) -> Result<Outcome> {
        let w = &mut self.w;
        let Some(old) = w.get(org, rt, id)? else {
            return Err(not_found(rt, id).into());
        };
        if let Some(h) = if_match {
            if !precondition::matches(h, old.version) {
                return Err(stale(rt, id).into());
            }
        }
        let current = Resource {
            id: id.into(),
            meta: meta_of(&old),
            attrs: old.attrs.clone(),
            links: None,
        };
        let Change { attrs, members } = change(&current)?;
        let attrs_changed = attrs != old.attrs;
        if attrs_changed {
            w.check_unique(org, rt, id, &attrs)?;
        }
        let plan = if rt == ResourceType::Group {
            w.plan_members(org, id, &members, unknown)?
        } else {
            MemberPlan::default()
        };
        // Every check has passed; from here on only writes.
        let skipped = plan.skipped.clone();
        let (added, removed) = w.write_members(org, id, plan)?;
        let rec = if attrs_changed || added + removed > 0 {
            if attrs_changed {
                if rt == ResourceType::User && is_active(&attrs) != is_active(&old.attrs) {
                    w.bump(org, ACTIVE, if is_active(&attrs) { 1 } else { -1 })?;
                }
                w.reindex(org, rt, id, &old.attrs, &attrs)?;
                if rt == ResourceType::User
                    && res::member_display(&attrs) != res::member_display(&old.attrs)
                {
                    w.redisplay_member(org, id, &res::member_display(&attrs))?;
                }
            }
            let rec = Record {
                attrs,
                created: old.created.clone(),
                modified: now.into(),
                version: old.version + 1,
            };
            w.put(org, rt, id, &rec)?;
            rec
        } else {
            old.clone()
        };
        let resource = Resource {
            id: id.into(),
            meta: meta_of(&rec),
            attrs: rec.attrs,
            links: None,
        };
        let previous = attrs_changed.then_some(old.attrs);
        Ok(Outcome {
            resource,
            added,
            removed,
            skipped,
            previous,
        })
    }

    /// See [`Store::delete`].
    pub fn delete(
        &mut self,
        org: &str,
        rt: ResourceType,
        id: &str,
        if_match: Option<&str>,
    ) -> Result<Outcome> {
        let w = &mut self.w;
        let Some(old) = w.get(org, rt, id)? else {
            return Err(not_found(rt, id).into());
        };
        if let Some(h) = if_match {
            if !precondition::matches(h, old.version) {
                return Err(stale(rt, id).into());
            }
        }
        let removed = match rt {
            ResourceType::User => w.leave_all(org, id)?,
            ResourceType::Group => {
                let plan = w.plan_members(org, id, &[MemberOp::Clear], Unknown::Skip)?;
                w.write_members(org, id, plan)?.1
            }
        };
        w.index(org, rt, id, &old.attrs, false)?;
        w.remove(org, rt, id)?;
        w.bump(org, counter_users(rt), -1)?;
        if rt == ResourceType::User && is_active(&old.attrs) {
            w.bump(org, ACTIVE, -1)?;
        }
        if rt == ResourceType::Group {
            w.counts.remove((org, member_counter(id).as_str()))?;
        }
        let resource = Resource {
            id: id.into(),
            meta: meta_of(&old),
            attrs: old.attrs,
            links: None,
        };
        Ok(Outcome {
            resource,
            added: 0,
            removed,
            skipped: Vec::new(),
            previous: None,
        })
    }
}

/// Membership changes worked out (by reads alone) before any write.
#[derive(Debug, Default)]
struct MemberPlan {
    to_add: Vec<(String, String)>,
    to_remove: BTreeSet<String>,
    skipped: Vec<String>,
}

fn rt_table(
    rt: ResourceType,
) -> redb::TableDefinition<'static, (&'static str, &'static str), &'static [u8]> {
    match rt {
        ResourceType::User => USERS,
        ResourceType::Group => GROUPS,
    }
}

fn not_found(rt: ResourceType, id: &str) -> ScimError {
    ScimError::NotFound(format!("{} {id} not found", rt.name()))
}

fn stale(rt: ResourceType, id: &str) -> ScimError {
    ScimError::PreconditionFailed(format!(
        "{} {id} has changed since the version in If-Match; fetch it again",
        rt.name()
    ))
}

/// Reads within one read transaction.
struct Reader<'a> {
    txn: &'a redb::ReadTransaction,
}

impl Reader<'_> {
    fn get(
        &self,
        org: &str,
        rt: ResourceType,
        id: &str,
        with_links: bool,
    ) -> Result<Option<Resource>> {
        let table = self.txn.open_table(rt_table(rt))?;
        let Some(v) = table.get((org, id))? else {
            return Ok(None);
        };
        let rec = decode(table_name(rt), id, v.value())?;
        let links = if with_links {
            Some(self.links(org, rt, id)?)
        } else {
            None
        };
        Ok(Some(Resource {
            id: id.to_string(),
            meta: meta_of(&rec),
            attrs: rec.attrs,
            links,
        }))
    }

    fn links(&self, org: &str, rt: ResourceType, id: &str) -> Result<Vec<Link>> {
        let mut out = Vec::new();
        match rt {
            ResourceType::Group => {
                let members = self.txn.open_table(MEMBERS)?;
                for entry in members.range((org, id, "")..)? {
                    let (k, v) = entry?;
                    let (o, g, u) = k.value();
                    if o != org || g != id {
                        break;
                    }
                    out.push(Link {
                        id: u.to_string(),
                        display: v.value().to_string(),
                    });
                }
            }
            ResourceType::User => {
                let member_of = self.txn.open_table(MEMBER_OF)?;
                let groups = self.txn.open_table(GROUPS)?;
                for entry in member_of.range((org, id, "")..)? {
                    let (k, _) = entry?;
                    let (o, u, g) = k.value();
                    if o != org || u != id {
                        break;
                    }
                    if let Some(v) = groups.get((org, g))? {
                        let rec = decode("groups", g, v.value())?;
                        let display = rec
                            .attrs
                            .get("displayName")
                            .and_then(Value::as_str)
                            .unwrap_or_default()
                            .to_string();
                        out.push(Link {
                            id: g.to_string(),
                            display,
                        });
                    }
                }
            }
        }
        Ok(out)
    }

    fn lookup(&self, org: &str, lookup: &Lookup) -> Result<Vec<String>> {
        let mut ids = Vec::new();
        match lookup {
            Lookup::UserName(name) => {
                let t = self.txn.open_table(USER_BY_NAME)?;
                if let Some(v) = t.get((org, name.to_lowercase().as_str()))? {
                    ids.push(v.value().to_string());
                }
            }
            Lookup::DisplayName(name) => {
                let t = self.txn.open_table(GROUP_BY_NAME)?;
                if let Some(v) = t.get((org, name.to_lowercase().as_str()))? {
                    ids.push(v.value().to_string());
                }
            }
            Lookup::Email(email) => {
                let t = self.txn.open_multimap_table(USER_BY_EMAIL)?;
                for v in t.get((org, email.to_lowercase().as_str()))? {
                    ids.push(v?.value().to_string());
                }
            }
            Lookup::ExternalId(ext) => {
                // The caller decides the resource type by which index it asks; external ids of
                // both types live in their own tables.
                let t = self.txn.open_multimap_table(USER_BY_EXTERNAL_ID)?;
                for v in t.get((org, ext.as_str()))? {
                    ids.push(v?.value().to_string());
                }
                let t = self.txn.open_multimap_table(GROUP_BY_EXTERNAL_ID)?;
                for v in t.get((org, ext.as_str()))? {
                    ids.push(v?.value().to_string());
                }
            }
        }
        Ok(ids)
    }
}

type UniqueIndex<'t> = redb::Table<'t, (&'static str, &'static str), &'static str>;
type MultiIndex<'t> = redb::MultimapTable<'t, (&'static str, &'static str), &'static str>;

/// The index keys of one resource: its unique name (userName or team displayName, lowercased),
/// externalId, and (users) lowercased emails.
#[derive(Debug, Default, PartialEq)]
struct IndexKeys {
    name: Option<String>,
    ext: Option<String>,
    emails: Vec<String>,
}

impl IndexKeys {
    fn of(rt: ResourceType, attrs: &Map<String, Value>) -> IndexKeys {
        let ext = res::external_id(attrs).map(str::to_string);
        match rt {
            ResourceType::User => IndexKeys {
                name: res::user_name_key(attrs),
                ext,
                emails: res::email_keys(attrs),
            },
            ResourceType::Group => IndexKeys {
                name: res::display_name_key(attrs),
                ext,
                emails: Vec::new(),
            },
        }
    }

    /// The keys of `self` that `other` does not have.
    fn minus(&self, other: &IndexKeys) -> IndexKeys {
        IndexKeys {
            name: self.name.clone().filter(|n| other.name.as_ref() != Some(n)),
            ext: self.ext.clone().filter(|e| other.ext.as_ref() != Some(e)),
            emails: self
                .emails
                .iter()
                .filter(|e| !other.emails.contains(e))
                .cloned()
                .collect(),
        }
    }
}

/// Adds (`insert`) or removes one row of a unique index.
fn set_unique(t: &mut UniqueIndex<'_>, key: (&str, &str), id: &str, insert: bool) -> Result<()> {
    if insert {
        t.insert(key, id)?;
    } else {
        t.remove(key)?;
    }
    Ok(())
}

/// Adds (`insert`) or removes one row of a non-unique index.
fn set_multi(t: &mut MultiIndex<'_>, key: (&str, &str), id: &str, insert: bool) -> Result<()> {
    if insert {
        t.insert(key, id)?;
    } else {
        t.remove(key, id)?;
    }
    Ok(())
}

/// The tables of one write transaction.
struct Writer<'t> {
    users: redb::Table<'t, (&'static str, &'static str), &'static [u8]>,
    groups: redb::Table<'t, (&'static str, &'static str), &'static [u8]>,
    user_by_name: UniqueIndex<'t>,
    user_by_ext: MultiIndex<'t>,
    user_by_email: MultiIndex<'t>,
    group_by_name: UniqueIndex<'t>,
    group_by_ext: MultiIndex<'t>,
    members: redb::Table<'t, (&'static str, &'static str, &'static str), &'static str>,
    member_of: redb::Table<'t, (&'static str, &'static str, &'static str), ()>,
    counts: redb::Table<'t, (&'static str, &'static str), u64>,
}

impl<'t> Writer<'t> {
    fn open(txn: &'t redb::WriteTransaction) -> Result<Self> {
        Ok(Writer {
            users: txn.open_table(USERS)?,
            groups: txn.open_table(GROUPS)?,
            user_by_name: txn.open_table(USER_BY_NAME)?,
            user_by_ext: txn.open_multimap_table(USER_BY_EXTERNAL_ID)?,
            user_by_email: txn.open_multimap_table(USER_BY_EMAIL)?,
            group_by_name: txn.open_table(GROUP_BY_NAME)?,
            group_by_ext: txn.open_multimap_table(GROUP_BY_EXTERNAL_ID)?,
            members: txn.open_table(MEMBERS)?,
            member_of: txn.open_table(MEMBER_OF)?,
            counts: txn.open_table(COUNTS)?,
        })
    }

    fn table(
        &mut self,
        rt: ResourceType,
    ) -> &mut redb::Table<'t, (&'static str, &'static str), &'static [u8]> {
        match rt {
            ResourceType::User => &mut self.users,
            ResourceType::Group => &mut self.groups,
        }
    }

    fn get(&mut self, org: &str, rt: ResourceType, id: &str) -> Result<Option<Record>> {
        match self.table(rt).get((org, id))? {
            Some(v) => Ok(Some(decode(table_name(rt), id, v.value())?)),
            None => Ok(None),
        }
    }

    fn put(&mut self, org: &str, rt: ResourceType, id: &str, rec: &Record) -> Result<()> {
        self.table(rt).insert((org, id), encode(rec).as_slice())?;
        Ok(())
    }

    fn remove(&mut self, org: &str, rt: ResourceType, id: &str) -> Result<()> {
        self.table(rt).remove((org, id))?;
        Ok(())
    }

    fn bump(&mut self, org: &str, counter: &str, delta: i64) -> Result<()> {
        let cur = self
            .counts
            .get((org, counter))?
            .map(|v| v.value())
            .unwrap_or(0);
        let next = cur.saturating_add_signed(delta);
        self.counts.insert((org, counter), next)?;
        Ok(())
    }

    /// 409 when a unique attribute of `attrs` belongs to another resource.
    fn check_unique(
        &mut self,
        org: &str,
        rt: ResourceType,
        id: &str,
        attrs: &Map<String, Value>,
    ) -> Result<()> {
        let (key, table, attr, what) = match rt {
            ResourceType::User => (
                res::user_name_key(attrs),
                &self.user_by_name,
                "userName",
                "User",
            ),
            ResourceType::Group => (
                res::display_name_key(attrs),
                &self.group_by_name,
                "displayName",
                "Group",
            ),
        };
        if let Some(key) = key {
            if let Some(other) = table.get((org, key.as_str()))? {
                if other.value() != id {
                    let name = attrs.get(attr).and_then(Value::as_str).unwrap_or_default();
                    return Err(ScimError::Conflict(format!(
                        "{what} with {attr} {name} already exists."
                    ))
                    .into());
                }
            }
        }
        Ok(())
    }

    /// Adds (`insert`) or removes the index rows of `attrs`.
    fn index(
        &mut self,
        org: &str,
        rt: ResourceType,
        id: &str,
        attrs: &Map<String, Value>,
        insert: bool,
    ) -> Result<()> {
        self.index_keys(org, rt, id, &IndexKeys::of(rt, attrs), insert)
    }

    /// Moves the index rows from `old` to `new`, touching only the keys that changed, so a
    /// deactivation writes no index row at all.
    fn reindex(
        &mut self,
        org: &str,
        rt: ResourceType,
        id: &str,
        old: &Map<String, Value>,
        new: &Map<String, Value>,
    ) -> Result<()> {
        let (old, new) = (IndexKeys::of(rt, old), IndexKeys::of(rt, new));
        self.index_keys(org, rt, id, &old.minus(&new), false)?;
        self.index_keys(org, rt, id, &new.minus(&old), true)
    }

    fn index_keys(
        &mut self,
        org: &str,
        rt: ResourceType,
        id: &str,
        keys: &IndexKeys,
        insert: bool,
    ) -> Result<()> {
        let (by_name, by_ext) = match rt {
            ResourceType::User => (&mut self.user_by_name, &mut self.user_by_ext),
            ResourceType::Group => (&mut self.group_by_name, &mut self.group_by_ext),
        };
        if let Some(name) = &keys.name {
            set_unique(by_name, (org, name), id, insert)?;
        }
        if let Some(ext) = &keys.ext {
            set_multi(by_ext, (org, ext), id, insert)?;
        }
        for email in &keys.emails {
            set_multi(&mut self.user_by_email, (org, email), id, insert)?;
        }
        Ok(())
    }

    /// Works out membership changes to team `gid` without writing: the final wanted state of
    /// each mentioned id, so a full replace that keeps most members writes only the
    /// difference. Refuses unknown ids under `Unknown::Reject`.
    fn plan_members(
        &mut self,
        org: &str,
        gid: &str,
        ops: &[MemberOp],
        unknown: Unknown,
    ) -> Result<MemberPlan> {
        let mut plan = MemberPlan::default();
        if ops.is_empty() {
            return Ok(plan);
        }
        let mut cleared = false;
        let mut want: BTreeMap<&str, bool> = BTreeMap::new();
        for op in ops {
            match op {
                MemberOp::Clear => {
                    cleared = true;
                    want.clear();
                }
                MemberOp::Add(ids) => ids.iter().for_each(|i| {
                    want.insert(i.as_str(), true);
                }),
                MemberOp::Remove(ids) => ids.iter().for_each(|i| {
                    want.insert(i.as_str(), false);
                }),
            }
        }
        for (uid, wanted) in &want {
            if !*wanted {
                continue;
            }
            if self.members.get((org, gid, *uid))?.is_some() {
                continue;
            }
            match self.users.get((org, *uid))? {
                Some(v) => {
                    let rec = decode("users", uid, v.value())?;
                    plan.to_add
                        .push((uid.to_string(), res::member_display(&rec.attrs)));
                }
                None => plan.skipped.push(uid.to_string()),
            }
        }
        if unknown == Unknown::Reject && !plan.skipped.is_empty() {
            return Err(ScimError::invalid_value(format!(
                "Cannot add invalid members to team. Invalid member ids: {}",
                plan.skipped.join(", ")
            ))
            .into());
        }
        plan.to_remove = want
            .iter()
            .filter(|(_, w)| !**w)
            .map(|(u, _)| u.to_string())
            .collect();
        if cleared {
            for entry in self.members.range((org, gid, "")..)? {
                let (k, _) = entry?;
                let (o, g, u) = k.value();
                if o != org || g != gid {
                    break;
                }
                if !want.get(u).copied().unwrap_or(false) {
                    plan.to_remove.insert(u.to_string());
                }
            }
        }
        Ok(plan)
    }

    /// Writes a membership plan; returns (added, removed).
    fn write_members(&mut self, org: &str, gid: &str, plan: MemberPlan) -> Result<(usize, usize)> {
        let mut removed = 0;
        for uid in &plan.to_remove {
            if self.members.remove((org, gid, uid.as_str()))?.is_some() {
                self.member_of.remove((org, uid.as_str(), gid))?;
                removed += 1;
            }
        }
        for (uid, display) in &plan.to_add {
            self.members
                .insert((org, gid, uid.as_str()), display.as_str())?;
            self.member_of.insert((org, uid.as_str(), gid), ())?;
        }
        let added = plan.to_add.len();
        if added + removed > 0 {
            self.bump(org, &member_counter(gid), added as i64 - removed as i64)?;
        }
        Ok((added, removed))
    }

    /// Removes user `uid` from every team; returns how many.
    fn leave_all(&mut self, org: &str, uid: &str) -> Result<usize> {
        let gids = self.groups_of(org, uid)?;
        for gid in &gids {
            self.members.remove((org, gid.as_str(), uid))?;
            self.member_of.remove((org, uid, gid.as_str()))?;
            self.bump(org, &member_counter(gid), -1)?;
        }
        Ok(gids.len())
    }

    fn groups_of(&mut self, org: &str, uid: &str) -> Result<Vec<String>> {
        let mut gids = Vec::new();
        for entry in self.member_of.range((org, uid, "")..)? {
            let (k, _) = entry?;
            let (o, u, g) = k.value();
            if o != org || u != uid {
                break;
            }
            gids.push(g.to_string());
        }
        Ok(gids)
    }

    /// Keeps the denormalized member display name in step with the user.
    fn redisplay_member(&mut self, org: &str, uid: &str, display: &str) -> Result<()> {
        for gid in self.groups_of(org, uid)? {
            self.members.insert((org, gid.as_str(), uid), display)?;
        }
        Ok(())
    }
}
