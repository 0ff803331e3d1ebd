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
use scimd_core::ResourceType;

/// Membership changes worked out (by reads alone) before any write.
#[derive(Debug, Default)]
pub(crate) struct MemberPlan {
    pub(crate) to_add: Vec<(String, String)>,
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
    for (uid, wanted) in &want {
        if !*wanted || rows.is_member(org, gid, uid)? {
            continue;
        }
        match rows.record(org, ResourceType::User, uid)? {
            Some(rec) => plan
                .to_add
                .push((uid.to_string(), res::member_display(&rec.attrs))),
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

/// Writes a membership plan; returns (added, removed).
pub(crate) fn write(
    rows: &mut dyn Rows,
    org: &str,
    gid: &str,
    plan: MemberPlan,
) -> Result<(usize, usize)> {
    let mut removed = 0;
    for uid in &plan.to_remove {
        if rows.remove_member(org, gid, uid)? {
            removed += 1;
        }
    }
    for (uid, display) in &plan.to_add {
        rows.put_member(org, gid, uid, display)?;
    }
    let added = plan.to_add.len();
    if added + removed > 0 {
        rows.bump(org, &member_counter(gid), added as i64 - removed as i64)?;
    }
    Ok((added, removed))
}

/// Removes user `uid` from every team; returns how many.
pub(crate) fn leave_all(rows: &mut dyn Rows, org: &str, uid: &str) -> Result<usize> {
    let gids = rows.teams_of(org, uid)?;
    for gid in &gids {
        rows.remove_member(org, gid, uid)?;
        rows.bump(org, &member_counter(gid), -1)?;
    }
    Ok(gids.len())
}

/// Keeps the member display name stored beside each membership in step with the user.
pub(crate) fn redisplay(rows: &mut dyn Rows, org: &str, uid: &str, display: &str) -> Result<()> {
    for gid in rows.teams_of(org, uid)? {
        rows.put_member(org, &gid, uid, display)?;
    }
    Ok(())
}
