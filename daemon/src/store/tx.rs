//! The SCIM-level write operations of one (shared) transaction, written once over [`Rows`] so
//! every backend enforces the same rules: uniqueness, If-Match versions, member plans and
//! counters.

use scimd_core::patch::MemberOp;
use scimd_core::resource as res;
use scimd_core::wire::ActivityRecord;
use scimd_core::{ResourceType, ScimError};
use serde_json::{Map, Value};

use super::copy::Copied;
use super::error::{Result, StoreError};
use super::events::{self, Kind, Membership};
use super::members::{self, MemberPlan};
use super::model::*;
use super::rows::{IndexKeys, Rows};
use scimd_core::resource::precondition;

/// The write operations of one (shared) transaction. Every operation runs all the checks
/// that can refuse it before its first write, which is what lets group commit and Bulk share
/// a transaction between independent requests.
pub struct Tx<'t> {
    pub(super) rows: &'t mut dyn Rows,
}

impl Tx<'_> {
    /// Says this job is one user's create and writes nothing after it ([`Rows::lone_create`]).
    pub(crate) fn lone_create(&mut self) {
        self.rows.lone_create();
    }

    /// Writes `rec`, the activity record of a change of this transaction, with it: the log
    /// then holds the record exactly when the change is durable.
    pub fn note(&mut self, rec: &mut ActivityRecord) -> Result<()> {
        self.rows.append_activity(rec)
    }
}

/// 409 when the unique attribute of `attrs` belongs to another resource.
fn check_unique(
    rows: &mut dyn Rows,
    org: &str,
    rt: ResourceType,
    id: &str,
    attrs: &Map<String, Value>,
) -> Result<()> {
    // A user's write has no check after this one, so the write's own refusal answers the
    // same; a team's member checks come after it, and the 409 must answer before them.
    if rt == ResourceType::User && rows.unique_at_write() {
        return Ok(());
    }
    let key = match rt {
        ResourceType::User => res::user_name_key(attrs),
        ResourceType::Group => res::display_name_key(attrs),
    };
    if let Some(key) = key {
        if let Some(other) = rows.owner(org, rt, &key)? {
            if other != id {
                return Err(conflict(rt, attrs).into());
            }
        }
    }
    Ok(())
}

/// The 409 for a unique attribute of `attrs` that another resource holds; also what a backend
/// answers when its own unique constraint catches a race the check above could not see.
pub(crate) fn conflict(rt: ResourceType, attrs: &Map<String, Value>) -> ScimError {
    let attr = rt.name_attr();
    let name = rt.name_in(attrs).unwrap_or_default();
    ScimError::Conflict(format!("{} with {attr} {name} already exists.", rt.name()))
}

impl Tx<'_> {
    /// The stored record, when it exists and is at the version `if_match` names.
    fn current(
        &mut self,
        org: &str,
        rt: ResourceType,
        id: &str,
        if_match: Option<&str>,
    ) -> Result<Record> {
        let Some(old) = self.rows.record(org, rt, id)? else {
            return Err(not_found(rt, id).into());
        };
        if let Some(h) = if_match {
            if !precondition::matches(h, old.version) {
                return Err(stale(rt, id).into());
            }
        }
        Ok(old)
    }

    /// See [`Store::create`].
    pub fn create(
        &mut self,
        t: Target<'_>,
        s: Stamp<'_>,
        attrs: Map<String, Value>,
        members: Vec<String>,
    ) -> Result<Outcome> {
        let (Target { org, rt, id }, Stamp { now, unknown }) = (t, s);
        let w = &mut *self.rows;
        // Checks first: nothing may be written before a refusal.
        check_unique(w, org, rt, id, &attrs)?;
        let plan = if rt == ResourceType::Group {
            members::plan(w, org, id, &[MemberOp::Add(members)], unknown)?
        } else {
            MemberPlan::default()
        };
        let rec = Record {
            attrs,
            created: now.into(),
            modified: now.into(),
            version: 1,
        };
        w.insert(org, rt, id, &rec, &IndexKeys::of(rt, &rec.attrs))?;
        w.bump(org, counter_users(rt), 1)?;
        if rt == ResourceType::User && is_active(&rec.attrs) {
            w.bump(org, ACTIVE, 1)?;
        }
        let skipped = plan.skipped.clone();
        let written = members::write(w, org, id, plan)?;
        events::resource(w, org, now, events::Kind::created(rt), id, &rec)?;
        member_events(w, org, now, id, &rec.attrs, &written)?;
        let resource = Resource {
            id: id.into(),
            meta: meta_of(&rec),
            attrs: rec.attrs,
            links: None,
        };
        Ok(Outcome {
            resource,
            added: written.added.len(),
            removed: written.removed.len(),
            skipped,
            previous: None,
            noted: None,
        })
    }

    /// See [`Store::modify`].
    pub fn modify(
        &mut self,
        t: Target<'_>,
        if_match: Option<&str>,
        s: Stamp<'_>,
        change: impl FnOnce(&Resource) -> std::result::Result<Change, ScimError>,
    ) -> Result<Outcome> {
        let Target { org, rt, id } = t;
        let old = self.current(org, rt, id, if_match)?;
        let current = Resource {
            id: id.into(),
            meta: meta_of(&old),
            attrs: old.attrs.clone(),
            links: None,
        };
        let change = change(&current)?;
        self.apply(t, s, old, change)
    }

    /// Writes `change`, worked out outside the writer against version `expected` of the
    /// resource; `StoreError::Moved` (nothing written) when the resource is at another version
    /// now, so the caller prepares the change again.
    pub fn modify_prepared(
        &mut self,
        t: Target<'_>,
        expected: u64,
        s: Stamp<'_>,
        change: Change,
    ) -> Result<Outcome> {
        let Target { org, rt, id } = t;
        let Some(old) = self.rows.record(org, rt, id)? else {
            return Err(not_found(rt, id).into());
        };
        if old.version != expected {
            return Err(StoreError::Moved);
        }
        self.apply(t, s, old, change)
    }

    /// The checks and writes of a modify once the new state is known.
    fn apply(
        &mut self,
        t: Target<'_>,
        s: Stamp<'_>,
        old: Record,
        change: Change,
    ) -> Result<Outcome> {
        let (Target { org, rt, id }, Stamp { now, unknown }) = (t, s);
        let w = &mut *self.rows;
        let Change {
            attrs,
            members: ops,
        } = change;
        let attrs_changed = attrs != old.attrs;
        if attrs_changed {
            check_unique(w, org, rt, id, &attrs)?;
        }
        let plan = if rt == ResourceType::Group {
            members::plan(w, org, id, &ops, unknown)?
        } else {
            MemberPlan::default()
        };
        // Every check has passed; from here on only writes.
        let skipped = plan.skipped.clone();
        let written = members::write(w, org, id, plan)?;
        let (added, removed) = (written.added.len(), written.removed.len());
        let rec = if attrs_changed || added + removed > 0 {
            let old_keys = IndexKeys::of(rt, &old.attrs);
            let new_keys = if attrs_changed {
                if rt == ResourceType::User && is_active(&attrs) != is_active(&old.attrs) {
                    w.bump(org, ACTIVE, if is_active(&attrs) { 1 } else { -1 })?;
                }
                if rt == ResourceType::User
                    && res::member_display(&attrs) != res::member_display(&old.attrs)
                {
                    members::redisplay(w, org, id, &res::member_display(&attrs))?;
                }
                IndexKeys::of(rt, &attrs)
            } else {
                old_keys.clone()
            };
            let rec = Record {
                attrs,
                created: old.created.clone(),
                modified: now.into(),
                version: old.version + 1,
            };
            w.update(t, &rec, &old_keys, &new_keys)?;
            rec
        } else {
            old.clone()
        };
        // A rename comes before the member events that carry the new name.
        if let Some(kind) = events::changed(rt, &old.attrs, &rec.attrs) {
            events::resource(w, org, now, kind, id, &rec)?;
        }
        member_events(w, org, now, id, &rec.attrs, &written)?;
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
            noted: None,
        })
    }

    /// Writes a resource exactly as another store held it (id, version, timestamps, a team's
    /// members with their display names), for `scimd store copy`; uniqueness still holds.
    pub(crate) fn import(&mut self, org: &str, rt: ResourceType, c: Copied) -> Result<()> {
        let w = &mut *self.rows;
        check_unique(w, org, rt, &c.id, &c.record.attrs)?;
        w.insert(
            org,
            rt,
            &c.id,
            &c.record,
            &IndexKeys::of(rt, &c.record.attrs),
        )?;
        w.bump(org, counter_users(rt), 1)?;
        if rt == ResourceType::User && is_active(&c.record.attrs) {
            w.bump(org, ACTIVE, 1)?;
        }
        for link in &c.members {
            w.put_member(org, &c.id, &link.id, &link.display)?;
        }
        if !c.members.is_empty() {
            w.bump(org, &member_counter(&c.id), c.members.len() as i64)?;
        }
        Ok(())
    }

    /// See [`Store::delete`].
    pub fn delete(&mut self, t: Target<'_>, if_match: Option<&str>, now: &str) -> Result<Outcome> {
        let Target { org, rt, id } = t;
        let old = self.current(org, rt, id, if_match)?;
        let w = &mut *self.rows;
        // The memberships a delete ends are events of their own, before the delete's, so a
        // consumer that follows member events alone never keeps a member that is gone.
        let removed = match rt {
            ResourceType::User => {
                let gids = members::leave_all(w, org, id)?;
                let user_name = members::user_name(&old.attrs);
                for gid in &gids {
                    let team_name = w
                        .name_of(org, ResourceType::Group, gid)?
                        .unwrap_or_default();
                    let m = Membership {
                        team_id: gid,
                        team_name: &team_name,
                        user_id: id,
                        user_name: &user_name,
                    };
                    events::member(w, org, now, Kind::TeamMemberRemoved, &m)?;
                }
                gids.len()
            }
            ResourceType::Group => {
                let plan = members::plan(w, org, id, &[MemberOp::Clear], Unknown::Skip)?;
                let written = members::write(w, org, id, plan)?;
                member_events(w, org, now, id, &old.attrs, &written)?;
                written.removed.len()
            }
        };
        events::resource(w, org, now, events::Kind::deleted(rt), id, &old)?;
        w.remove(org, rt, id, &IndexKeys::of(rt, &old.attrs))?;
        w.bump(org, counter_users(rt), -1)?;
        if rt == ResourceType::User && is_active(&old.attrs) {
            w.bump(org, ACTIVE, -1)?;
        }
        if rt == ResourceType::Group {
            w.drop_counter(org, &member_counter(id))?;
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
            noted: None,
        })
    }
}

/// The member events of the writes `written` to team `gid` (named by `team_attrs`): removals
/// first, then additions, each in user id order.
fn member_events(
    w: &mut dyn Rows,
    org: &str,
    now: &str,
    gid: &str,
    team_attrs: &Map<String, Value>,
    written: &members::Written,
) -> Result<()> {
    if written.added.is_empty() && written.removed.is_empty() {
        return Ok(());
    }
    let team_name = team_attrs
        .get("displayName")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let leaving: Vec<&str> = written.removed.iter().map(String::as_str).collect();
    let names = w.names_of(org, ResourceType::User, &leaving)?;
    for (uid, user_name) in written.removed.iter().zip(names) {
        let user_name = user_name.unwrap_or_default();
        let m = Membership {
            team_id: gid,
            team_name,
            user_id: uid,
            user_name: &user_name,
        };
        events::member(w, org, now, Kind::TeamMemberRemoved, &m)?;
    }
    for j in &written.added {
        let m = Membership {
            team_id: gid,
            team_name,
            user_id: &j.uid,
            user_name: &j.user_name,
        };
        events::member(w, org, now, Kind::TeamMemberAdded, &m)?;
    }
    Ok(())
}
