//! The SCIM writes: POST, PUT, PATCH and DELETE of one resource, each prepared (parsing, PATCH,
//! normalising) before the store's writer takes it, and recorded on the activity bus whether it
//! succeeded or not.

use std::sync::Arc;

use scimd_core::list::Projection;
use scimd_core::patch::{apply_patch_with, parse_patch, MemberOp, PatchOperation};
use scimd_core::resource::{self as res, Limits, UserNames};
use scimd_core::schema::Declared;
use scimd_core::{ResourceType, ScimError};
use serde_json::{Map, Value};

use super::{
    internal, json_body, links_attr, projection, single, summary, undeclared, Context, Reply,
    Request, Result,
};
use crate::activity::{client_name, Activity, Bus};
use crate::store::{Change, Note, Outcome, Resource, Stamp, Target};

/// What a write produced: the reply, and the activity record its transaction wrote.
pub(super) struct Written {
    reply: Reply,
    noted: Option<Activity>,
}

pub(super) type WriteFn = fn(&Context<'_>, &Request, ResourceType, Option<&str>) -> Result<Written>;

/// Runs a write and records it on the activity bus, whether it succeeded or not. A change's
/// record was written in its own transaction and goes to live viewers only; a refusal's is
/// written by the activity log task.
pub(super) fn write(
    ctx: &Context<'_>,
    req: &Request,
    rt: ResourceType,
    id: Option<&str>,
    f: WriteFn,
) -> Result<Reply> {
    match f(ctx, req, rt, id) {
        Ok(w) => {
            if let Some(rec) = w.noted {
                ctx.bus.publish_stored(rec);
            }
            Ok(w.reply)
        }
        Err(e) => {
            ctx.bus.publish(Activity {
                id: id.map(str::to_string),
                summary: format!("failed: {e}"),
                status: e.status(),
                scim_type: e.scim_type().map(|t| t.as_str().to_string()),
                latency_us: ctx.started.elapsed().as_micros() as u64,
                ..record(ctx, req, rt.name())
            });
            Err(e)
        }
    }
}

/// The activity record of a write of this request, before its outcome is known.
pub(super) fn record(ctx: &Context<'_>, req: &Request, resource: &str) -> Activity {
    Activity {
        seq: 0,
        time: ctx.now().to_string(),
        org: ctx.org.to_string(),
        client: client_name(req.user_agent.as_deref()),
        method: req.method.to_string(),
        resource: resource.to_string(),
        id: None,
        name: None,
        summary: String::new(),
        status: 0,
        scim_type: None,
        latency_us: 0,
    }
}

/// How a write of `rt` that answers `status` is noted: its record, made from the outcome in
/// the change's own transaction (see [`crate::store::Store::noting`]). The latency is to the
/// moment the writer took the change.
fn note(
    ctx: &Context<'_>,
    req: &Request,
    rt: ResourceType,
    status: u16,
    summary: fn(ResourceType, &Outcome) -> String,
) -> Note {
    let base = record(ctx, req, rt.name());
    let started = ctx.started;
    Arc::new(move |out: &Outcome| {
        Bus::bounded(Activity {
            id: Some(out.resource.id.clone()),
            name: name_of(rt, &out.resource.attrs),
            summary: summary(rt, out),
            status,
            latency_us: started.elapsed().as_micros() as u64,
            ..base.clone()
        })
    })
}

/// What a change is worked out under: the org's limits, its userName rule and the extensions it
/// declares. Owned, as the writer thread may work a change out again.
#[derive(Clone)]
pub(super) struct Rules {
    pub(super) limits: Limits,
    pub(super) usernames: UserNames,
    pub(super) declared: Arc<Declared>,
}

impl Context<'_> {
    /// The request's time and unknown-member rule, as its writes run under them.
    pub(super) fn stamp(&self) -> Stamp<'_> {
        Stamp {
            now: self.now(),
            unknown: self.unknown,
        }
    }

    pub(super) fn rules(&self) -> Rules {
        Rules {
            limits: self.limits,
            usernames: self.usernames,
            declared: self.declared.clone(),
        }
    }
}

pub(super) fn name_of(rt: ResourceType, attrs: &Map<String, Value>) -> Option<String> {
    rt.name_in(attrs).map(str::to_string)
}

fn reread(ctx: &Context<'_>, rt: ResourceType, id: &str, proj: &Projection) -> Result<Resource> {
    let with_links = proj.includes(rt, links_attr(rt));
    ctx.store
        .get(ctx.org, rt, id, with_links)
        .map_err(internal)?
        .ok_or_else(|| ScimError::NotFound(format!("{} {id} not found", rt.name())))
}

pub(super) fn create(
    ctx: &Context<'_>,
    req: &Request,
    rt: ResourceType,
    _: Option<&str>,
) -> Result<Written> {
    let proj = projection(ctx, rt, &req.query)?;
    let body = json_body(&req.body)?;
    let n = res::normalize_with(rt, &body, &ctx.limits, &ctx.declared, None)?;
    let id = uuid::Uuid::now_v7().to_string();
    let out = ctx
        .store
        .noting(note(ctx, req, rt, 201, summary::created))
        .create(
            Target::new(ctx.org, rt, &id),
            ctx.stamp(),
            n.attrs,
            n.members.unwrap_or_default(),
        )
        .map_err(internal)?;
    undeclared::note(ctx.org, rt, &out.resource.attrs, &ctx.declared);
    let noted = out.noted;
    let r = if rt == ResourceType::User {
        // A new user belongs to no team yet: the written state is the answer, no second read.
        let mut r = out.resource;
        r.links = proj.includes(rt, links_attr(rt)).then(Vec::new);
        r
    } else {
        reread(ctx, rt, &id, &proj)?
    };
    Ok(Written {
        reply: single(ctx, rt, r, &proj, 201),
        noted,
    })
}

/// Normalizes the new state of `cur`. A team name over the org's limit is refused only when
/// the name changes, so lowering `team_name_max` never blocks pushes to existing teams.
fn normalize_change(
    rt: ResourceType,
    cur: &Resource,
    input: &Value,
    rules: &Rules,
) -> Result<res::Normalized> {
    let (limits, declared) = (rules.limits, &*rules.declared);
    let n = res::normalize_with(
        rt,
        input,
        &Limits {
            team_name_max: usize::MAX,
            max_indexed_length: usize::MAX,
            max_string_length: usize::MAX,
            max_extension_bytes: usize::MAX,
            ..limits
        },
        declared,
        Some(&cur.attrs),
    )?;
    // Only what changes is held to the string limits, like the team name below.
    res::check_strings(&n.attrs, &limits, Some(&cur.attrs))?;
    res::undeclared::check_size(&n.attrs, &limits, Some(&cur.attrs))?;
    if let Some(ids) = &n.members {
        check_member_ids(ids, &limits)?;
    }
    if rt == ResourceType::Group && n.attrs.get("displayName") != cur.attrs.get("displayName") {
        let again = Value::Object(n.attrs.clone());
        res::normalize_with(rt, &again, &limits, declared, Some(&cur.attrs))?;
    }
    Ok(n)
}

fn check_member_ids(ids: &[String], limits: &Limits) -> Result<()> {
    ids.iter()
        .try_for_each(|id| res::check_id("members.value", id, limits))
}

/// The new state of a PUT: the body replaces everything but immutable attributes.
pub(super) fn put_change(
    rt: ResourceType,
    cur: &Resource,
    body: &Value,
    rules: &Rules,
) -> Result<Change> {
    let n = normalize_change(rt, cur, body, rules)?;
    let members = match (rt, n.members) {
        (ResourceType::Group, Some(m)) => vec![MemberOp::Clear, MemberOp::Add(m)],
        // PUT replaces the whole resource: a team PUT without members has none.
        (ResourceType::Group, None) => vec![MemberOp::Clear],
        (ResourceType::User, _) => Vec::new(),
    };
    let attrs = res::enforce_immutable(rt, &cur.attrs, n.attrs, rules.usernames)?;
    Ok(Change { attrs, members })
}

/// The new state of a PATCH: all operations, or an error and nothing.
pub(super) fn patch_change(
    rt: ResourceType,
    cur: &Resource,
    ops: &[PatchOperation],
    rules: &Rules,
) -> Result<Change> {
    let limits = rules.limits;
    let mut attrs = cur.attrs.clone();
    let mut members = apply_patch_with(&mut attrs, rt, &cur.id, ops, &rules.declared)?;
    for op in &mut members {
        match op {
            MemberOp::Add(ids) => check_member_ids(ids, &limits)?,
            // An id no member can have removes nothing, as a filter on it matches nothing.
            MemberOp::Remove(ids) => ids.retain(|id| res::fits_index(id, &limits)),
            MemberOp::Clear => {}
        }
    }
    let n = normalize_change(rt, cur, &Value::Object(attrs), rules)?;
    let attrs = res::enforce_immutable(rt, &cur.attrs, n.attrs, rules.usernames)?;
    Ok(Change { attrs, members })
}

pub(super) fn replace(
    ctx: &Context<'_>,
    req: &Request,
    rt: ResourceType,
    id: Option<&str>,
) -> Result<Written> {
    let body = json_body(&req.body)?;
    let rules = ctx.rules();
    change_one(ctx, req, rt, id, move |cur| {
        put_change(rt, cur, &body, &rules)
    })
}

pub(super) fn patch(
    ctx: &Context<'_>,
    req: &Request,
    rt: ResourceType,
    id: Option<&str>,
) -> Result<Written> {
    let ops = parse_patch(&json_body(&req.body)?)?;
    let rules = ctx.rules();
    change_one(ctx, req, rt, id, move |cur| {
        patch_change(rt, cur, &ops, &rules)
    })
}

/// PUT and PATCH: applies `change` to the current resource in one write and answers 200 with
/// the new state.
fn change_one(
    ctx: &Context<'_>,
    req: &Request,
    rt: ResourceType,
    id: Option<&str>,
    change: impl Fn(&Resource) -> Result<Change> + Send + Sync + 'static,
) -> Result<Written> {
    let id = id.unwrap_or_default();
    // Parsed before the write, so a bad `attributes` refuses the request instead of
    // failing after it applied.
    let proj = projection(ctx, rt, &req.query)?;
    let (org, if_match) = (ctx.org, req.if_match.as_deref());
    let team_patch = rt == ResourceType::Group && req.method == http::Method::PATCH;
    let asked_for =
        req.query.contains_key("attributes") || req.query.contains_key("excludedattributes");
    let status = if team_patch && !asked_for { 204 } else { 200 };
    let out = ctx
        .store
        .noting(note(ctx, req, rt, status, summary::changed))
        .modify(Target::new(org, rt, id), if_match, ctx.stamp(), change)
        .map_err(internal)?;
    undeclared::note(org, rt, &out.resource.attrs, &ctx.declared);
    if team_patch && !asked_for {
        // Microsoft's guidance and collection expect a group PATCH to answer 204, and a 200
        // body without `members` reads to some clients as "the members are gone". Nothing is
        // rendered, so one member change costs the same on any team size.
        return Ok(Written {
            reply: Reply {
                status: 204,
                body: None,
                etag: Some(res::etag(out.resource.meta.version)),
                location: None,
                allow: None,
            },
            noted: out.noted,
        });
    }
    // Asked for attributes: exactly those, members only when they are among them.
    let r = if team_patch && !proj.includes(rt, links_attr(rt)) {
        out.resource
    } else {
        reread(ctx, rt, id, &proj)?
    };
    Ok(Written {
        reply: single(ctx, rt, r, &proj, 200),
        noted: out.noted,
    })
}

pub(super) fn delete(
    ctx: &Context<'_>,
    req: &Request,
    rt: ResourceType,
    id: Option<&str>,
) -> Result<Written> {
    let id = id.unwrap_or_default();
    let out = ctx
        .store
        .noting(note(ctx, req, rt, 204, |_, _| "deleted".into()))
        .delete(
            Target::new(ctx.org, rt, id),
            req.if_match.as_deref(),
            ctx.now(),
        )
        .map_err(internal)?;
    Ok(Written {
        reply: Reply {
            status: 204,
            body: None,
            etag: None,
            location: None,
            allow: None,
        },
        noted: out.noted,
    })
}
