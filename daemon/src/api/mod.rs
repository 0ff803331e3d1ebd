//! The SCIM API handlers: synchronous functions from a parsed request to a reply, run off the
//! async threads. They call `core` for everything protocol and the store for everything durable.

mod bulk;
mod discovery;
pub mod events;
mod list;
pub mod pages;
mod plan;
mod summary;

use std::collections::HashMap;
use std::time::Instant;

use scimd_core::filter::parse_filter;
use scimd_core::list::Projection;
use scimd_core::patch::{apply_patch, parse_patch, MemberOp, PatchOperation};
use scimd_core::resource::{self as res, Limits, UserNames};
use scimd_core::{ResourceType, ScimError};
use serde_json::{Map, Value};

use crate::activity::{client_name, Activity, Bus};
use crate::precondition;
use crate::store::{Change, Link, Resource, Source, Store, StoreError, Unknown};

/// The most resources one list page returns, advertised as `filter.maxResults`.
pub const MAX_RESULTS: usize = 1000;
/// The page size when `count` is absent.
pub const DEFAULT_COUNT: usize = 100;

/// A request after routing, auth and body reading.
#[derive(Debug)]
pub struct Request {
    pub method: http::Method,
    /// Path segments after `/scim/v2/{org}`.
    pub segments: Vec<String>,
    /// Query parameters, keys lowercased.
    pub query: HashMap<String, String>,
    pub body: bytes::Bytes,
    pub if_match: Option<String>,
    pub if_none_match: Option<String>,
    pub user_agent: Option<String>,
}

/// What the org's request runs with.
pub struct Context<'a> {
    /// The org's key in the store (lowercase login name).
    pub org: &'a str,
    /// Absolute base URL of the org's SCIM API, without trailing slash.
    pub base: &'a str,
    pub store: &'a Store,
    pub bus: &'a Bus,
    pub limits: Limits,
    pub unknown: Unknown,
    /// Whether PUT and PATCH may change a userName.
    pub usernames: UserNames,
    /// Where recent startIndex pages ended, shared by all requests.
    pub pages: &'a pages::PageEnds,
    /// RFC 3339 time of the request, read once at the edge.
    pub now: String,
    pub started: Instant,
}

/// A successful reply.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub body: Option<Value>,
    pub etag: Option<String>,
    pub location: Option<String>,
    /// For 405: the methods allowed.
    pub allow: Option<&'static str>,
}

impl Reply {
    fn ok(body: Value) -> Reply {
        Reply {
            status: 200,
            body: Some(body),
            etag: None,
            location: None,
            allow: None,
        }
    }
}

/// Errors a handler ends in: SCIM refusals, or internal faults (logged, answered 500).
pub type Result<T> = std::result::Result<T, ScimError>;

/// A store error as the client sees it. A full disk (507) and a store that cannot serve now
/// (503, with `Retry-After`) say what the client can do; their causes, which name server paths, are
/// only logged. Every other fault is a plain 500.
fn internal(err: StoreError) -> ScimError {
    match err {
        StoreError::Scim(e) => e,
        StoreError::DiskFull(_) => {
            tracing::error!(cause = %err, "store failure");
            ScimError::InsufficientStorage(
                "The server's disk is full; nothing of this request was written. \
                 Retry once space has been freed."
                    .into(),
            )
        }
        StoreError::Unavailable(_) => {
            tracing::error!(cause = %err, "store failure");
            ScimError::Unavailable(
                "The server's database cannot serve right now (it is reopening after a \
                 fault, or shutting down); nothing of this request was written. Retry shortly."
                    .into(),
            )
        }
        other => {
            tracing::error!(cause = %other, "store failure");
            ScimError::Internal
        }
    }
}

/// Routes and handles one request.
pub fn handle(ctx: &Context<'_>, req: &Request) -> Result<Reply> {
    use http::Method as M;
    // Endpoint names are matched case-insensitively: Microsoft's suite asks for `/users`.
    const ENDPOINTS: [&str; 8] = [
        "Users",
        "Groups",
        "ServiceProviderConfig",
        "serviceConfiguration",
        "ResourceTypes",
        "Schemas",
        "Bulk",
        ".search",
    ];
    let mut seg: Vec<&str> = req.segments.iter().map(String::as_str).collect();
    if let Some(first) = seg.first_mut() {
        if let Some(canonical) = ENDPOINTS.iter().find(|e| e.eq_ignore_ascii_case(first)) {
            *first = canonical;
        }
    }
    let rt_of = |s: &str| match s {
        "Users" => Some(ResourceType::User),
        "Groups" => Some(ResourceType::Group),
        _ => None,
    };
    // A 405 carries the usual SCIM error body and, as RFC 7231 6.5.5 requires, `Allow`.
    let not_allowed = |allow: &'static str| -> Result<Reply> {
        let err = ScimError::MethodNotAllowed(format!(
            "{} is not allowed here; allowed: {allow}",
            req.method
        ));
        Ok(Reply {
            status: err.status(),
            body: Some(err.to_json()),
            etag: None,
            location: None,
            allow: Some(allow),
        })
    };
    match seg.as_slice() {
        [".search"] => match req.method {
            M::POST => list::search_all(ctx, req),
            _ => not_allowed("POST"),
        },
        [kind] if rt_of(kind).is_some() => {
            let rt = rt_of(kind).unwrap_or(ResourceType::User);
            match req.method {
                M::GET => list::list(ctx, rt, &list::ListParams::from_query(rt, &req.query)?),
                M::POST => write(ctx, req, rt, None, create),
                _ => not_allowed("GET, POST"),
            }
        }
        [kind, ".search"] if rt_of(kind).is_some() => {
            let rt = rt_of(kind).unwrap_or(ResourceType::User);
            match req.method {
                M::POST => {
                    let body = json_body(&req.body)?;
                    list::list(ctx, rt, &list::ListParams::from_search(rt, &body)?)
                }
                _ => not_allowed("POST"),
            }
        }
        [kind, id] if rt_of(kind).is_some() => {
            let rt = rt_of(kind).unwrap_or(ResourceType::User);
            match req.method {
                M::GET => get_one(ctx, req, rt, id),
                M::PUT => write(ctx, req, rt, Some(id), replace),
                M::PATCH => write(ctx, req, rt, Some(id), patch),
                M::DELETE => write(ctx, req, rt, Some(id), delete),
                _ => not_allowed("GET, PUT, PATCH, DELETE"),
            }
        }
        ["ServiceProviderConfig"] | ["serviceConfiguration"] => match req.method {
            M::GET => Ok(Reply::ok(discovery::service_provider_config(ctx.base))),
            _ => not_allowed("GET"),
        },
        ["ResourceTypes"] => match req.method {
            M::GET => Ok(Reply::ok(discovery::resource_types(ctx.base))),
            _ => not_allowed("GET"),
        },
        ["ResourceTypes", name] => match req.method {
            M::GET => discovery::resource_type(ctx.base, name).map(Reply::ok),
            _ => not_allowed("GET"),
        },
        ["Schemas"] => match req.method {
            M::GET => Ok(Reply::ok(discovery::schemas(ctx.base))),
            _ => not_allowed("GET"),
        },
        ["Schemas", urn] => match req.method {
            M::GET => discovery::schema(ctx.base, urn).map(Reply::ok),
            _ => not_allowed("GET"),
        },
        ["Bulk"] => match req.method {
            M::POST => bulk::bulk(ctx, req),
            _ => not_allowed("POST"),
        },
        _ => Err(ScimError::NotFound(format!(
            "no SCIM endpoint at /{}",
            req.segments.join("/")
        ))),
    }
}

/// Whether the request is a read that one index lookup answers in microseconds: a user by
/// id, or a list whose filter the planner answers from an index (teams only when their members
/// are excluded, as a large team's member list is not a point read).
pub fn is_point_read(req: &Request) -> bool {
    if req.method != http::Method::GET {
        return false;
    }
    let rt = match req
        .segments
        .first()
        .map(|s| s.to_ascii_lowercase())
        .as_deref()
    {
        Some("users") => ResourceType::User,
        Some("groups") => ResourceType::Group,
        _ => return false,
    };
    let members_excluded = req.query.get("excludedattributes").is_some_and(|e| {
        e.to_ascii_lowercase()
            .split(',')
            .any(|a| a.trim() == "members")
    });
    if rt == ResourceType::Group && !members_excluded {
        return false;
    }
    match req.segments.len() {
        2 => req.segments[1] != ".search",
        1 => {
            !req.query.contains_key("sortby")
                && req
                    .query
                    .get("filter")
                    .and_then(|f| parse_filter(f).ok())
                    .is_some_and(|f| matches!(plan::source(&f, rt), Source::Lookup(_)))
        }
        _ => false,
    }
}

fn json_body(body: &[u8]) -> Result<Value> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(ScimError::invalid_syntax(
            "The request body is empty; expected a JSON object.",
        ));
    }
    serde_json::from_slice(body)
        .map_err(|e| ScimError::invalid_syntax(format!("The request body is not valid JSON: {e}.")))
}

/// The name of the computed attribute of a resource type.
fn links_attr(rt: ResourceType) -> &'static str {
    match rt {
        ResourceType::User => "groups",
        ResourceType::Group => "members",
    }
}

fn links_json(base: &str, rt: ResourceType, links: &[Link]) -> Vec<Value> {
    let (path, kind) = match rt {
        ResourceType::User => ("Groups", "direct"),
        ResourceType::Group => ("Users", "User"),
    };
    links
        .iter()
        .map(|l| {
            serde_json::json!({
                "value": l.id,
                "display": l.display,
                "$ref": format!("{base}/{path}/{}", l.id),
                "type": kind,
            })
        })
        .collect()
}

/// A resource as clients read it; its attributes move into the answer, not copied.
fn render_owned(ctx: &Context<'_>, rt: ResourceType, r: Resource) -> Value {
    render(ctx.base, rt, r)
}

/// A resource as clients read it under the org's SCIM base URL `base`: what the API
/// answers, and what `scimd export` writes.
pub fn render(base: &str, rt: ResourceType, r: Resource) -> Value {
    let computed = r.links.as_deref().map(|l| links_json(base, rt, l));
    res::render_owned(rt, &r.id, r.attrs, &r.meta, base, computed)
}

fn projection(rt: ResourceType, q: &HashMap<String, String>) -> Result<Projection> {
    Projection::parse(
        rt,
        q.get("attributes").map(String::as_str),
        q.get("excludedattributes").map(String::as_str),
    )
}

fn single(
    ctx: &Context<'_>,
    rt: ResourceType,
    r: Resource,
    proj: &Projection,
    status: u16,
) -> Reply {
    let location = (status == 201).then(|| format!("{}/{}/{}", ctx.base, rt.endpoint(), r.id));
    let etag = Some(res::etag(r.meta.version));
    let mut v = render_owned(ctx, rt, r);
    proj.apply(rt, &mut v);
    Reply {
        status,
        body: Some(v),
        etag,
        location,
        allow: None,
    }
}

fn get_one(ctx: &Context<'_>, req: &Request, rt: ResourceType, id: &str) -> Result<Reply> {
    let proj = projection(rt, &req.query)?;
    let with_links = proj.includes(rt, links_attr(rt));
    let r = ctx
        .store
        .get(ctx.org, rt, id, with_links)
        .map_err(internal)?
        .ok_or_else(|| ScimError::NotFound(format!("{} {id} not found", rt.name())))?;
    if let Some(h) = &req.if_none_match {
        if precondition::matches(h, r.meta.version) {
            return Ok(Reply {
                status: 304,
                body: None,
                etag: Some(res::etag(r.meta.version)),
                location: None,
                allow: None,
            });
        }
    }
    Ok(single(ctx, rt, r, &proj, 200))
}

/// What a write produced, for the reply and the activity event.
struct Written {
    reply: Reply,
    id: Option<String>,
    name: Option<String>,
    summary: String,
}

type WriteFn = fn(&Context<'_>, &Request, ResourceType, Option<&str>) -> Result<Written>;

/// Runs a write and records it on the activity bus, whether it succeeded or not.
fn write(
    ctx: &Context<'_>,
    req: &Request,
    rt: ResourceType,
    id: Option<&str>,
    f: WriteFn,
) -> Result<Reply> {
    let result = f(ctx, req, rt, id);
    let (status, scim_type, summary, name, rid) = match &result {
        Ok(w) => (
            w.reply.status,
            None,
            w.summary.clone(),
            w.name.clone(),
            w.id.clone(),
        ),
        Err(e) => (
            e.status(),
            e.scim_type().map(|t| t.as_str().to_string()),
            format!("failed: {e}"),
            None,
            id.map(str::to_string),
        ),
    };
    ctx.bus.publish(Activity {
        seq: 0,
        time: ctx.now.clone(),
        org: ctx.org.to_string(),
        client: client_name(req.user_agent.as_deref()),
        method: req.method.to_string(),
        resource: rt.name().to_string(),
        id: rid,
        name,
        summary,
        status,
        scim_type,
        latency_us: ctx.started.elapsed().as_micros() as u64,
    });
    result.map(|w| w.reply)
}

fn name_of(rt: ResourceType, attrs: &Map<String, Value>) -> Option<String> {
    let key = match rt {
        ResourceType::User => "userName",
        ResourceType::Group => "displayName",
    };
    attrs.get(key).and_then(Value::as_str).map(str::to_string)
}

fn reread(ctx: &Context<'_>, rt: ResourceType, id: &str, proj: &Projection) -> Result<Resource> {
    let with_links = proj.includes(rt, links_attr(rt));
    ctx.store
        .get(ctx.org, rt, id, with_links)
        .map_err(internal)?
        .ok_or_else(|| ScimError::NotFound(format!("{} {id} not found", rt.name())))
}

fn create(ctx: &Context<'_>, req: &Request, rt: ResourceType, _: Option<&str>) -> Result<Written> {
    let proj = projection(rt, &req.query)?;
    let body = json_body(&req.body)?;
    let n = res::normalize(rt, &body, &ctx.limits)?;
    let id = uuid::Uuid::now_v7().to_string();
    let out = ctx
        .store
        .create(
            ctx.org,
            rt,
            &id,
            &ctx.now,
            n.attrs,
            n.members.unwrap_or_default(),
            ctx.unknown,
        )
        .map_err(internal)?;
    let summary = summary::created(rt, &out);
    let r = if rt == ResourceType::User {
        // A new user belongs to no team yet: the written state is the answer, no second read.
        let mut r = out.resource;
        r.links = proj.includes(rt, links_attr(rt)).then(Vec::new);
        r
    } else {
        reread(ctx, rt, &id, &proj)?
    };
    let name = name_of(rt, &r.attrs);
    Ok(Written {
        reply: single(ctx, rt, r, &proj, 201),
        id: Some(id),
        name,
        summary,
    })
}

/// Normalizes the new state of `cur`. A team name over the org's limit is refused only when
/// the name changes, so lowering `team_name_max` never blocks pushes to existing teams.
fn normalize_change(
    rt: ResourceType,
    cur: &Resource,
    input: &Value,
    limits: Limits,
) -> Result<res::Normalized> {
    let n = res::normalize(
        rt,
        input,
        &Limits {
            team_name_max: usize::MAX,
            ..limits
        },
    )?;
    if rt == ResourceType::Group && n.attrs.get("displayName") != cur.attrs.get("displayName") {
        res::normalize(rt, &Value::Object(n.attrs.clone()), &limits)?;
    }
    Ok(n)
}

/// The new state of a PUT: the body replaces everything but immutable attributes.
fn put_change(
    rt: ResourceType,
    cur: &Resource,
    body: &Value,
    limits: Limits,
    names: UserNames,
) -> Result<Change> {
    let n = normalize_change(rt, cur, body, limits)?;
    let members = match (rt, n.members) {
        (ResourceType::Group, Some(m)) => vec![MemberOp::Clear, MemberOp::Add(m)],
        // PUT replaces the whole resource: a team PUT without members has none.
        (ResourceType::Group, None) => vec![MemberOp::Clear],
        (ResourceType::User, _) => Vec::new(),
    };
    let attrs = res::enforce_immutable(rt, &cur.attrs, n.attrs, names)?;
    Ok(Change { attrs, members })
}

/// The new state of a PATCH: all operations, or an error and nothing.
fn patch_change(
    rt: ResourceType,
    cur: &Resource,
    ops: &[PatchOperation],
    limits: Limits,
    names: UserNames,
) -> Result<Change> {
    let mut attrs = cur.attrs.clone();
    let members = apply_patch(&mut attrs, rt, &cur.id, ops)?;
    let n = normalize_change(rt, cur, &Value::Object(attrs), limits)?;
    let attrs = res::enforce_immutable(rt, &cur.attrs, n.attrs, names)?;
    Ok(Change { attrs, members })
}

fn replace(
    ctx: &Context<'_>,
    req: &Request,
    rt: ResourceType,
    id: Option<&str>,
) -> Result<Written> {
    let body = json_body(&req.body)?;
    let (limits, names) = (ctx.limits, ctx.usernames);
    change_one(ctx, req, rt, id, move |cur| {
        put_change(rt, cur, &body, limits, names)
    })
}

fn patch(ctx: &Context<'_>, req: &Request, rt: ResourceType, id: Option<&str>) -> Result<Written> {
    let ops = parse_patch(&json_body(&req.body)?)?;
    let (limits, names) = (ctx.limits, ctx.usernames);
    change_one(ctx, req, rt, id, move |cur| {
        patch_change(rt, cur, &ops, limits, names)
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
    let proj = projection(rt, &req.query)?;
    let (org, now, if_match) = (ctx.org, &ctx.now, req.if_match.as_deref());
    let out = ctx
        .store
        .modify(org, rt, id, if_match, now, ctx.unknown, change)
        .map_err(internal)?;
    let team_patch = rt == ResourceType::Group && req.method == http::Method::PATCH;
    let asked_for =
        req.query.contains_key("attributes") || req.query.contains_key("excludedattributes");
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
            id: Some(id.to_string()),
            name: name_of(rt, &out.resource.attrs),
            summary: summary::changed(rt, &out),
        });
    }
    // Asked for attributes: exactly those, members only when they are among them.
    let r = if team_patch && !proj.includes(rt, links_attr(rt)) {
        out.resource.clone()
    } else {
        reread(ctx, rt, id, &proj)?
    };
    let (name, summary) = (name_of(rt, &r.attrs), summary::changed(rt, &out));
    Ok(Written {
        reply: single(ctx, rt, r, &proj, 200),
        id: Some(id.to_string()),
        name,
        summary,
    })
}

fn delete(ctx: &Context<'_>, req: &Request, rt: ResourceType, id: Option<&str>) -> Result<Written> {
    let id = id.unwrap_or_default();
    let out = ctx
        .store
        .delete(ctx.org, rt, id, req.if_match.as_deref(), &ctx.now)
        .map_err(internal)?;
    Ok(Written {
        reply: Reply {
            status: 204,
            body: None,
            etag: None,
            location: None,
            allow: None,
        },
        id: Some(id.to_string()),
        name: name_of(rt, &out.resource.attrs),
        summary: "deleted".into(),
    })
}
