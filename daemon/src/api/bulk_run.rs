//! Running a Bulk request's operations: each prepared outside the writer (bulkId references
//! resolved, bodies normalized, PATCHes applied against a snapshot of their target), so the
//! writer only checks versions and writes. An operation whose target an earlier operation of
//! the same request touched, or that moved since its snapshot, is worked out inside the
//! writer instead, exactly as it would have been without preparation.

use std::collections::{HashMap, HashSet};

use scimd_core::patch::parse_patch;
use scimd_core::resource as res;
use scimd_core::{ResourceType, ScimError};
use serde_json::Value;

use super::write::{patch_change, put_change, Rules};
use crate::store::{
    not_found, stale, Change, Outcome, Stamp, Store, StoreError, Target, Tx, Unknown,
};

/// One requested operation, as `bulk.rs` parsed it.
#[derive(Clone)]
pub(super) struct Op {
    pub(super) method: http::Method,
    pub(super) path: String,
    pub(super) bulk_id: Option<String>,
    pub(super) version: Option<String>,
    pub(super) data: Option<Value>,
}

/// What the operations run with inside the transaction; owned, as the writer thread runs it.
pub(super) struct Env {
    pub(super) org: String,
    pub(super) now: String,
    pub(super) unknown: Unknown,
    pub(super) rules: Rules,
}

impl Env {
    /// The time and unknown-member rule every operation of the request writes under.
    fn stamp(&self) -> Stamp<'_> {
        Stamp {
            now: &self.now,
            unknown: self.unknown,
        }
    }
}

/// What one operation ended in: the resource type, its id and the write's outcome.
pub(super) type OpResult = std::result::Result<(ResourceType, String, Outcome), ScimError>;

/// What was worked out for one operation before the writer.
enum Prep {
    /// A POST: the id it will have and its stored form.
    Create {
        rt: ResourceType,
        id: String,
        attrs: serde_json::Map<String, Value>,
        members: Vec<String>,
    },
    /// A PUT or PATCH of a resource at version `expected`.
    Modify {
        rt: ResourceType,
        id: String,
        expected: u64,
        change: Change,
    },
    /// Refused already (a body that does not normalize, a stale version, a missing target).
    Failed(ScimError),
    /// Worked out inside the writer: a DELETE (nothing to prepare), or a target named by a
    /// `bulkId` (it does not exist before the request runs).
    InWriter,
}

/// One operation with what was prepared for it.
pub(super) struct Planned {
    pub(super) op: Op,
    /// The `bulkId`s it refers to; each must name an earlier successful POST of the request.
    refs: Vec<String>,
    /// The resource it writes, when its path names one by id.
    target: Option<(ResourceType, String)>,
    prep: Prep,
}

/// Replaces every string `bulkId:<id>` inside `v` with the id created for it.
fn resolve(v: &mut Value, ids: &HashMap<String, String>) -> std::result::Result<(), ScimError> {
    match v {
        Value::String(s) => {
            if let Some(reference) = s.strip_prefix("bulkId:") {
                let id = ids.get(reference).ok_or_else(|| unresolved(reference))?;
                *s = id.clone();
            }
        }
        Value::Array(items) => items.iter_mut().try_for_each(|i| resolve(i, ids))?,
        Value::Object(map) => map.values_mut().try_for_each(|i| resolve(i, ids))?,
        _ => {}
    }
    Ok(())
}

fn unresolved(reference: &str) -> ScimError {
    ScimError::invalid_value(format!(
        "bulkId:{reference} does not name an earlier successful POST of this request"
    ))
}

/// Every `bulkId` that `v` refers to.
fn references(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::String(s) => {
            if let Some(r) = s.strip_prefix("bulkId:") {
                out.push(r.to_string());
            }
        }
        Value::Array(items) => items.iter().for_each(|i| references(i, out)),
        Value::Object(map) => map.values().for_each(|i| references(i, out)),
        _ => {}
    }
}

/// The resource type an operation's path names.
fn resource_type(path: &str, first: Option<&str>) -> std::result::Result<ResourceType, ScimError> {
    match first.map(str::to_ascii_lowercase).as_deref() {
        Some("users") => Ok(ResourceType::User),
        Some("groups") => Ok(ResourceType::Group),
        _ => Err(ScimError::NotFound(format!(
            "Bulk operations address /Users or /Groups, not {path}"
        ))),
    }
}

fn wrong_path(op: &Op) -> ScimError {
    ScimError::invalid_syntax(format!(
        "{} {}: POST goes to /Users or /Groups, PUT, PATCH and DELETE to /Users/<id> or /Groups/<id>",
        op.method, op.path
    ))
}

/// Prepares every operation of a request, in order, outside the writer. POSTs get their ids
/// now, so later operations' references resolve before the run; the run still refuses a
/// reference to a POST that failed or comes later.
pub(super) fn prepare(store: &Store, env: &Env, ops: Vec<Op>) -> Vec<Planned> {
    let mut planned_ids: HashMap<String, String> = HashMap::new();
    let mut out = Vec::with_capacity(ops.len());
    for op in ops {
        let mut refs = Vec::new();
        for segment in op.path.split('/') {
            references(&Value::String(segment.to_string()), &mut refs);
        }
        let path_refs = !refs.is_empty();
        if let Some(data) = &op.data {
            references(data, &mut refs);
        }
        let prep =
            prepare_one(store, env, &op, &planned_ids, path_refs).unwrap_or_else(Prep::Failed);
        let target = match op
            .path
            .split('/')
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()[..]
        {
            [kind, id] if !path_refs => resource_type(&op.path, Some(kind))
                .ok()
                .map(|rt| (rt, id.to_string())),
            _ => None,
        };
        if let (Prep::Create { id, .. }, Some(b)) = (&prep, &op.bulk_id) {
            planned_ids.insert(b.clone(), id.clone());
        }
        out.push(Planned {
            op,
            refs,
            target,
            prep,
        });
    }
    out
}

fn prepare_one(
    store: &Store,
    env: &Env,
    op: &Op,
    planned: &HashMap<String, String>,
    path_refs: bool,
) -> std::result::Result<Prep, ScimError> {
    let segments: Vec<&str> = op.path.split('/').filter(|s| !s.is_empty()).collect();
    let rt = resource_type(&op.path, segments.first().copied())?;
    let (org, limits) = (&env.org, &env.rules.limits);
    if let [_, id] = segments.as_slice() {
        if !path_refs {
            res::check_id("id", id, limits)?;
        }
    }
    match (&op.method, segments.as_slice()) {
        (&http::Method::POST, [_]) => {
            let mut data = op.data.clone().unwrap_or(Value::Null);
            resolve(&mut data, planned)?;
            let n = res::normalize_with(rt, &data, limits, &env.rules.declared, None)?;
            let id = uuid::Uuid::now_v7().to_string();
            let prep = Prep::Create {
                rt,
                id,
                attrs: n.attrs,
                members: n.members.unwrap_or_default(),
            };
            Ok(prep)
        }
        (&http::Method::DELETE, [_, _]) => Ok(Prep::InWriter),
        (&http::Method::PUT | &http::Method::PATCH, [_, id]) if !path_refs => {
            let mut data = op.data.clone().unwrap_or(Value::Null);
            resolve(&mut data, planned)?;
            let current = store
                .get(org, rt, id, false)
                .map_err(super::internal)?
                .ok_or_else(|| not_found(rt, id))?;
            if let Some(h) = &op.version {
                if !res::precondition::matches(h, current.meta.version) {
                    return Err(stale(rt, id));
                }
            }
            let change = match op.method {
                http::Method::PUT => put_change(rt, &current, &data, &env.rules)?,
                _ => patch_change(rt, &current, &parse_patch(&data)?, &env.rules)?,
            };
            let prep = Prep::Modify {
                rt,
                id: id.to_string(),
                expected: current.meta.version,
                change,
            };
            Ok(prep)
        }
        (_, [_, _]) if path_refs => Ok(Prep::InWriter),
        _ => Err(wrong_path(op)),
    }
}

/// Runs the prepared operations in order inside the writer's transaction. Only a storage fault
/// ends the run early with an error (nothing of the request is then committed).
pub(super) fn run(
    tx: &mut Tx<'_>,
    env: &Env,
    planned: &[Planned],
    fail_on_errors: Option<usize>,
) -> Result<Vec<OpResult>, StoreError> {
    let mut ids: HashMap<String, String> = HashMap::new();
    let mut touched: HashSet<(ResourceType, String)> = HashSet::new();
    let mut errors = 0usize;
    let mut done = Vec::with_capacity(planned.len());
    for p in planned {
        if fail_on_errors.is_some_and(|max| errors >= max) {
            break;
        }
        let result = match p.refs.iter().find(|r| !ids.contains_key(*r)) {
            Some(r) => Err(unresolved(r).into()),
            None => run_planned(tx, env, p, &ids, &touched),
        };
        let result = match result {
            Ok(ok) => {
                if let (true, Some(b)) = (p.op.method == http::Method::POST, &p.op.bulk_id) {
                    ids.insert(b.clone(), ok.1.clone());
                }
                touched.insert((ok.0, ok.1.clone()));
                Ok(ok)
            }
            Err(StoreError::Scim(e)) => {
                errors += 1;
                Err(e)
            }
            Err(other) => return Err(other),
        };
        done.push(result);
    }
    Ok(done)
}

fn run_planned(
    tx: &mut Tx<'_>,
    env: &Env,
    p: &Planned,
    ids: &HashMap<String, String>,
    touched: &HashSet<(ResourceType, String)>,
) -> Result<(ResourceType, String, Outcome), StoreError> {
    let (org, stamp) = (env.org.as_str(), env.stamp());
    // What was prepared against the snapshot no longer holds once an earlier operation of
    // this request wrote the same resource.
    if p.target.as_ref().is_some_and(|t| touched.contains(t)) {
        return run_in_writer(tx, env, &p.op, ids);
    }
    match &p.prep {
        Prep::Create {
            rt,
            id,
            attrs,
            members,
        } => {
            let t = Target::new(org, *rt, id);
            let out = tx.create(t, stamp, attrs.clone(), members.clone())?;
            Ok((*rt, id.clone(), out))
        }
        Prep::Modify {
            rt,
            id,
            expected,
            change,
        } => {
            match tx.modify_prepared(Target::new(org, *rt, id), *expected, stamp, change.clone()) {
                // Another request wrote it since the snapshot: work it out again, here.
                Err(StoreError::Moved) => run_in_writer(tx, env, &p.op, ids),
                other => other.map(|out| (*rt, id.clone(), out)),
            }
        }
        Prep::Failed(e) => Err(e.clone().into()),
        Prep::InWriter => run_in_writer(tx, env, &p.op, ids),
    }
}

/// One operation worked out and written inside the writer, against the transaction's state.
fn run_in_writer(
    tx: &mut Tx<'_>,
    env: &Env,
    op: &Op,
    ids: &HashMap<String, String>,
) -> Result<(ResourceType, String, Outcome), StoreError> {
    // The path may name an earlier POST too: `/Users/bulkId:ann`.
    let mut segments: Vec<Value> = op
        .path
        .split('/')
        .filter(|s| !s.is_empty())
        .map(|s| Value::String(s.to_string()))
        .collect();
    segments.iter_mut().try_for_each(|s| resolve(s, ids))?;
    let segments: Vec<&str> = segments.iter().filter_map(Value::as_str).collect();
    let rt = resource_type(&op.path, segments.first().copied())?;
    let mut data = op.data.clone().unwrap_or(Value::Null);
    resolve(&mut data, ids)?;
    let (org, stamp, rules) = (env.org.as_str(), env.stamp(), &env.rules);
    let limits = rules.limits;
    if let [_, id] = segments.as_slice() {
        res::check_id("id", id, &limits)?;
    }
    let if_match = op.version.as_deref();
    match (&op.method, segments.as_slice()) {
        (&http::Method::PUT, [_, id]) => {
            let out = tx.modify(Target::new(org, rt, id), if_match, stamp, |cur| {
                put_change(rt, cur, &data, rules)
            })?;
            Ok((rt, id.to_string(), out))
        }
        (&http::Method::PATCH, [_, id]) => {
            let ops = parse_patch(&data)?;
            let out = tx.modify(Target::new(org, rt, id), if_match, stamp, |cur| {
                patch_change(rt, cur, &ops, rules)
            })?;
            Ok((rt, id.to_string(), out))
        }
        (&http::Method::DELETE, [_, id]) => {
            let out = tx.delete(Target::new(org, rt, id), if_match, &env.now)?;
            Ok((rt, id.to_string(), out))
        }
        _ => Err(wrong_path(op).into()),
    }
}
