//! The SCIM API handlers: synchronous functions from a parsed request to a reply, run on the
//! blocking pool (an embedded store's point reads inline, see [`is_point_read`]). They call
//! `core` for everything protocol and the store for everything durable.
//! Routing, reads and rendering live here; the writes (POST, PUT, PATCH, DELETE) in `write.rs`.

mod bulk;
mod bulk_run;
mod discovery;
pub mod events;
mod list;
pub mod pages;
mod plan;
pub mod route;
pub mod snapshot;
mod summary;
mod undeclared;
mod write;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use scimd_core::filter::parse_filter;
use scimd_core::list::Projection;
use scimd_core::resource::{self as res, Limits, UserNames};
use scimd_core::schema::Declared;
use scimd_core::{ResourceType, ScimError};
use serde_json::Value;

use crate::activity::Bus;
use crate::store::{Link, PageRead, Resource, Store, StoreError, Unknown};

pub use list::{list_ahead, ListAhead};
use route::{Endpoint, ScimPath};
use scimd_core::resource::precondition;
use write::{create, delete, patch, replace, write};

/// The largest request body the edge reads, advertised as Bulk `maxPayloadSize`.
pub const MAX_BODY: usize = 1 << 20;
/// The most resources one list page returns, advertised as `filter.maxResults`.
pub const MAX_RESULTS: usize = 1000;
/// The page size when `count` is absent.
pub const DEFAULT_COUNT: usize = 100;

/// A request after routing, auth and body reading.
#[derive(Debug)]
pub struct Request {
    pub method: http::Method,
    /// The path after `/scim/v2/{org}`, as the edge parsed it ([`route::Route`]).
    pub path: ScimPath,
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
    /// The most entries one sorted list holds (`[limits] max_sorted_window`).
    pub sorted_window: usize,
    pub unknown: Unknown,
    /// Whether PUT and PATCH may change a userName.
    pub usernames: UserNames,
    /// The extensions the org declares (`[orgs.NAME.extensions]`).
    pub declared: Arc<Declared>,
    /// Where recent startIndex pages ended, shared by all requests.
    pub pages: &'a pages::PageEnds,
    /// RFC 3339 time of the request, read once, when a handler first asks (reads never do).
    pub now: std::cell::OnceCell<String>,
    pub started: Instant,
    /// The candidates of a unique lookup the store already read on the async runtime
    /// ([`list_ahead`]): a listing visits these instead of asking the store again.
    pub read_before: Option<&'a [Resource]>,
    /// The page of an unfiltered listing the store already read on the async runtime
    /// ([`list_ahead`]): the listing answers from it, count included.
    pub page_read: Option<&'a PageRead>,
}

impl Context<'_> {
    /// The time of the request as RFC 3339: the same for every write of the request.
    pub fn now(&self) -> &str {
        self.now.get_or_init(crate::now_rfc3339)
    }
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
pub fn internal(err: StoreError) -> ScimError {
    match err {
        StoreError::Scim(e) => e,
        StoreError::DiskFull(_) | StoreError::WritesPaused(_) => {
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
    use Endpoint as E;
    // HEAD is GET without the body (RFC 9110 9.3.2); the edge sends the head alone.
    let method = match req.method {
        M::HEAD => M::GET,
        ref m => m.clone(),
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
    let rest: Vec<&str> = req.path.rest().iter().map(String::as_str).collect();
    match (req.path.endpoint, rest.as_slice()) {
        (Some(E::Search), []) => match method {
            M::POST => list::search_all(ctx, req),
            _ => not_allowed("POST"),
        },
        (Some(e @ (E::Users | E::Groups)), after) => {
            let rt = e.resource_type().unwrap_or(ResourceType::User);
            match after {
                [] => match method {
                    M::GET => list::list(
                        ctx,
                        rt,
                        &list::ListParams::from_query(rt, &ctx.declared, &req.query)?,
                    ),
                    M::POST => write(ctx, req, rt, None, create),
                    _ => not_allowed("GET, POST"),
                },
                [".search"] => match method {
                    M::POST => {
                        let body = json_body(&req.body)?;
                        let p = list::ListParams::from_search(rt, &ctx.declared, &body)?;
                        list::list(ctx, rt, &p)
                    }
                    _ => not_allowed("POST"),
                },
                [id] => {
                    res::check_id("id", id, &ctx.limits)?;
                    match method {
                        M::GET => get_one(ctx, req, rt, id),
                        M::PUT => write(ctx, req, rt, Some(id), replace),
                        M::PATCH => write(ctx, req, rt, Some(id), patch),
                        M::DELETE => write(ctx, req, rt, Some(id), delete),
                        _ => not_allowed("GET, PUT, PATCH, DELETE"),
                    }
                }
                _ => Err(no_endpoint(req)),
            }
        }
        (Some(E::ServiceProviderConfig), []) => match method {
            M::GET => Ok(Reply::ok(discovery::service_provider_config(ctx.base))),
            _ => not_allowed("GET"),
        },
        (Some(E::ResourceTypes), []) => match method {
            M::GET => Ok(Reply::ok(discovery::resource_types(
                ctx.base,
                &ctx.declared,
            ))),
            _ => not_allowed("GET"),
        },
        (Some(E::ResourceTypes), [name]) => match method {
            M::GET => discovery::resource_type(ctx.base, name, &ctx.declared).map(Reply::ok),
            _ => not_allowed("GET"),
        },
        (Some(E::Schemas), []) => match method {
            M::GET => Ok(Reply::ok(discovery::schemas(ctx.base, &ctx.declared))),
            _ => not_allowed("GET"),
        },
        (Some(E::Schemas), [urn]) => match method {
            M::GET => discovery::schema(ctx.base, urn, &ctx.declared).map(Reply::ok),
            _ => not_allowed("GET"),
        },
        (Some(E::Bulk), []) => match method {
            M::POST => bulk::bulk(ctx, req),
            _ => not_allowed("POST"),
        },
        _ => Err(no_endpoint(req)),
    }
}

fn no_endpoint(req: &Request) -> ScimError {
    ScimError::NotFound(format!(
        "no SCIM endpoint at /{}",
        req.path.segments.join("/")
    ))
}

/// Whether a request to `path` (after `/scim/v2/{org}`) with `method` only reads, and so is
/// open to a read-only token: GET and HEAD anywhere, and POST to a `.search` endpoint
/// (`/.search`, `/Users/.search`, `/Groups/.search`), which queries like a GET with its
/// filter in the body. Matched as [`handle`] routes.
pub fn is_read(method: &http::Method, path: &ScimPath) -> bool {
    use http::Method as M;
    match *method {
        M::GET | M::HEAD => true,
        M::POST => match (path.endpoint, path.rest()) {
            (Some(Endpoint::Search), []) => true,
            (Some(Endpoint::Users | Endpoint::Groups), [search]) => search == ".search",
            _ => false,
        },
        _ => false,
    }
}

/// Whether the request is a read that one index lookup answers in microseconds: a user by
/// id, or a list whose filter the planner answers from a unique index (teams only when their members
/// are excluded, as a large team's member list is not a point read).
pub fn is_point_read(req: &Request) -> bool {
    if req.method != http::Method::GET {
        return false;
    }
    let Some((rt, rest)) = req.path.resource() else {
        return false;
    };
    let members_excluded = req.query.get("excludedattributes").is_some_and(|e| {
        e.to_ascii_lowercase()
            .split(',')
            .any(|a| a.trim() == "members")
    });
    if rt == ResourceType::Group && !members_excluded {
        return false;
    }
    match rest {
        [id] => id != ".search",
        [] => {
            !req.query.contains_key("sortby")
                && req
                    .query
                    .get("filter")
                    .and_then(|f| parse_filter(f).ok())
                    .is_some_and(|f| plan::is_unique(&plan::source(&f, rt)))
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

fn links_json(base: &str, rt: ResourceType, links: Vec<Link>) -> Vec<Value> {
    let (path, kind) = match rt {
        ResourceType::User => ("Groups", "direct"),
        ResourceType::Group => ("Users", "User"),
    };
    // Built by hand, moving the strings in: a team's members can be thousands of these.
    let prefix = format!("{base}/{path}/");
    links
        .into_iter()
        .map(|l| {
            let mut uri = String::with_capacity(prefix.len() + l.id.len());
            uri.push_str(&prefix);
            uri.push_str(&l.id);
            let mut m = serde_json::Map::with_capacity(4);
            m.insert("value".into(), Value::String(l.id));
            m.insert("display".into(), Value::String(l.display));
            m.insert("$ref".into(), Value::String(uri));
            m.insert("type".into(), Value::String(kind.into()));
            Value::Object(m)
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
    let computed = r.links.map(|l| links_json(base, rt, l));
    res::render_owned(rt, &r.id, r.attrs, &r.meta, base, computed)
}

fn projection(
    ctx: &Context<'_>,
    rt: ResourceType,
    q: &HashMap<String, String>,
) -> Result<Projection> {
    Projection::parse_with(
        rt,
        &ctx.declared,
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
    let proj = projection(ctx, rt, &req.query)?;
    let with_links = proj.includes(rt, links_attr(rt));
    let got = ctx.store.get(ctx.org, rt, id, with_links);
    answer_one(ctx, req, rt, id, &proj, got)
}

/// A `GET /Users/{id}` or `GET /Groups/{id}` the store can read on the async runtime
/// ([`point`]).
pub struct Point {
    pub rt: ResourceType,
    pub id: String,
    /// Whether the answer shows the links, so the read must bring them.
    pub with_links: bool,
    proj: Projection,
}

/// The answer to a [`Point`] from what the store read for it.
pub fn answer_point(
    ctx: &Context<'_>,
    req: &Request,
    point: &Point,
    got: std::result::Result<Option<Resource>, StoreError>,
) -> Result<Reply> {
    answer_one(ctx, req, point.rt, &point.id, &point.proj, got)
}

/// A `GET /Users/{id}`, or a `GET /Groups/{id}` without its members, the store can read on
/// the async runtime. None for any other request: a team's whole member list can be long
/// enough that rendering it belongs on the blocking pool.
pub fn point(ctx: &Context<'_>, req: &Request) -> Option<Point> {
    if req.method != http::Method::GET {
        return None;
    }
    let (rt, [id]) = req.path.resource()? else {
        return None;
    };
    // An id no resource can have, or bad `attributes`: the usual path answers the error.
    if id == ".search" || res::check_id("id", id, &ctx.limits).is_err() {
        return None;
    }
    let proj = projection(ctx, rt, &req.query).ok()?;
    let with_links = proj.includes(rt, links_attr(rt));
    if rt == ResourceType::Group && with_links {
        return None;
    }
    Some(Point {
        rt,
        id: id.to_string(),
        with_links,
        proj,
    })
}

/// The answer to a GET of one resource, projected by `proj`, from what the store read for it.
fn answer_one(
    ctx: &Context<'_>,
    req: &Request,
    rt: ResourceType,
    id: &str,
    proj: &Projection,
    got: std::result::Result<Option<Resource>, StoreError>,
) -> Result<Reply> {
    let r = got
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
    Ok(single(ctx, rt, r, proj, 200))
}

#[cfg(test)]
mod tests {
    use super::is_read;
    use super::route::{Route, ScimPath};
    use http::Method as M;

    fn segs(path: &str) -> ScimPath {
        match Route::parse(&format!("/scim/v2/acme/{path}")) {
            Route::Scim { path, .. } => path,
            other => panic!("{path}: {other:?}"),
        }
    }

    #[test]
    fn reads_are_gets_heads_and_searches_and_nothing_else() {
        for (method, path) in [
            (M::GET, "Users"),
            (M::HEAD, "Groups/abc"),
            (M::GET, "Schemas"),
            (M::POST, ".search"),
            (M::POST, "Users/.search"),
            (M::POST, "groups/.search"),
            (M::POST, ".SEARCH"),
        ] {
            assert!(is_read(&method, &segs(path)), "{method} {path}");
        }
        for (method, path) in [
            (M::POST, "Users"),
            (M::POST, "Groups"),
            (M::POST, "Bulk"),
            (M::PUT, "Users/abc"),
            (M::PATCH, "Groups/abc"),
            (M::DELETE, "Users/abc"),
            // A search is only a search where `handle` routes one.
            (M::POST, "Users/abc/.search"),
            (M::POST, "Bulk/.search"),
            (M::POST, "Users/.SEARCH"),
            (M::PUT, "Users/.search"),
            (M::OPTIONS, "Users"),
        ] {
            assert!(!is_read(&method, &segs(path)), "{method} {path}");
        }
    }
}
