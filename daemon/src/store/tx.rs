//! The SCIM-level write operations of one (shared) transaction.

use scimd_core::patch::MemberOp;
use scimd_core::resource as res;
use scimd_core::{ResourceType, ScimError};
use serde_json::{Map, Value};

use super::error::{Result, StoreError};
use super::model::*;
use super::writer::{MemberPlan, Writer};
use crate::precondition;

/// The write operations of one (shared) transaction. Every operation runs all the checks
/// that can refuse it before its first write, which is what lets group commit and Bulk share
/// a transaction between independent requests.
pub struct Tx<'t> {
    pub(super) w: Writer<'t>,
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
        let Some(old) = self.w.get(org, rt, id)? else {
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
        let old = self.current(org, rt, id, if_match)?;
        let current = Resource {
            id: id.into(),
            meta: meta_of(&old),
            attrs: old.attrs.clone(),
            links: None,
        };
        let change = change(&current)?;
        self.apply(org, rt, id, now, unknown, old, change)
    }

    /// Writes `change`, worked out outside the writer against version `expected` of the
    /// resource; `StoreError::Moved` (nothing written) when the resource is at another version
    /// now, so the caller prepares the change again.
    #[allow(clippy::too_many_arguments)]
    pub fn modify_prepared(
        &mut self,
        org: &str,
        rt: ResourceType,
        id: &str,
        expected: u64,
        now: &str,
        unknown: Unknown,
        change: Change,
    ) -> Result<Outcome> {
        let Some(old) = self.w.get(org, rt, id)? else {
            return Err(not_found(rt, id).into());
        };
        if old.version != expected {
            return Err(StoreError::Moved);
        }
        self.apply(org, rt, id, now, unknown, old, change)
    }

    /// The checks and writes of a modify once the new state is known.
    #[allow(clippy::too_many_arguments)]
    fn apply(
        &mut self,
        org: &str,
        rt: ResourceType,
        id: &str,
        now: &str,
        unknown: Unknown,
        old: Record,
        change: Change,
    ) -> Result<Outcome> {
        let w = &mut self.w;
        let Change { attrs, members } = change;
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
        let old = self.current(org, rt, id, if_match)?;
        let w = &mut self.w;
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
