//! Team membership rules, once for every backend: a plan of member changes worked out by reads
//! alone before any write (unknown ids skipped or refused, re-adds no-ops, a full replace
//! writing only the difference), and the writes that carry it out with their counters.

use std::collections::{BTreeMap, BTreeSet};

use scimd_core::patch::MemberOp;
use scimd_core::resource as res;
use scimd_core::ScimError;

use super::error::Result;
use super::model::{member_counter, Unknown};
use super::rows::Rows;

/// A user a plan adds: id, member display name, and userName (for its event).
#[derive(Debug, Clone)]
pub(crate) struct Joining {
    pub(crate) uid: String,
    pub(crate) display: String,
    pub(crate) user_name: String,
}

/// Membership changes worked out (by reads alone) before any write.
#[derive(Debug, Default)]
pub(crate) struct MemberPlan {
    pub(crate) to_add: Vec<Joining>,
    pub(crate) to_remove: BTreeSet<String>,
    pub(crate) skipped: Vec<String>,
}

/// Works out membership changes to team `gid` without writing: the final wanted state of each
/// mentioned id. Refuses unknown ids under `Unknown::Reject`.
pub(crate) fn plan(
    rows: &mut dyn Rows,
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
    // Each question asked once for all the ids: a whole member list is one read, not one
    // per member.
    let wanted: Vec<&str> = want.iter().filter(|(_, w)| **w).map(|(u, _)| *u).collect();
    let members = rows.members_among(org, gid, &wanted)?;
    let joining: Vec<&str> = wanted
        .into_iter()
        .filter(|u| !members.contains(*u))
        .collect();
    let users = rows.users(org, &joining)?;
    for (uid, user) in joining.into_iter().zip(users) {
        match user {
            Some(rec) => plan.to_add.push(Joining {
                uid: uid.to_string(),
                display: res::member_display(&rec.attrs),
                user_name: user_name(&rec.attrs),
            }),
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
        for uid in rows.member_ids(org, gid)? {
            if !want.get(uid.as_str()).copied().unwrap_or(false) {
                plan.to_remove.insert(uid);
            }
        }
    }
    Ok(plan)
}

/// The userName of a user's attributes ("" when it has none, which SCIM does not allow).
pub(crate) fn user_name(attrs: &serde_json::Map<String, serde_json::Value>) -> String {
    attrs
        .get("userName")
        .and_then(serde_json::Value::as_str)
        .unwrap_or_default()
        .to_string()
}

/// What a plan's writes changed, for the outcome and the member events.
#[derive(Debug, Default)]
pub(crate) struct Written {
    pub(crate) added: Vec<Joining>,
    /// The user ids that left.
    pub(crate) removed: Vec<String>,
}

/// Writes a membership plan.
pub(crate) fn write(
    rows: &mut dyn Rows,
    org: &str,
    gid: &str,
    plan: MemberPlan,
) -> Result<Written> {
    let leaving: Vec<&str> = plan.to_remove.iter().map(String::as_str).collect();
    let removed = rows.remove_members(org, gid, &leaving)?;
    let joining: Vec<(&str, &str)> = plan
        .to_add
        .iter()
        .map(|j| (j.uid.as_str(), j.display.as_str()))
        .collect();
    rows.put_members(org, gid, &joining)?;
    let added = plan.to_add;
    if !added.is_empty() || !removed.is_empty() {
        rows.bump(
            org,
            &member_counter(gid),
            added.len() as i64 - removed.len() as i64,
        )?;
    }
    Ok(Written { added, removed })
}

/// Removes user `uid` from every team; returns the team ids it left.
pub(crate) fn leave_all(rows: &mut dyn Rows, org: &str, uid: &str) -> Result<Vec<String>> {
    let gids = rows.teams_of(org, uid)?;
    for gid in &gids {
        rows.remove_member(org, gid, uid)?;
        rows.bump(org, &member_counter(gid), -1)?;
    }
    Ok(gids)
}

/// Keeps the member display name stored beside each membership in step with the user.
pub(crate) fn redisplay(rows: &mut dyn Rows, org: &str, uid: &str, display: &str) -> Result<()> {
    for gid in rows.teams_of(org, uid)? {
        rows.put_member(org, &gid, uid, display)?;
    }
    Ok(())
}
