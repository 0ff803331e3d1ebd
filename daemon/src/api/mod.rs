//! The SCIM API handlers: synchronous functions from a parsed request to a reply, run off the
//! async threads. They call `core` for everything protocol and the store for everything durable.

mod bulk;
mod discovery;
pub mod pages;
mod plan;
mod summary;

use std::collections::HashMap;
use std::time::Instant;

use scimd_core::filter::{parse_filter, Filter};
use scimd_core::list::{list_response, Projection, SortSpec};
use scimd_core::patch::{apply_patch, parse_patch, MemberOp, PatchOperation};
use scimd_core::resource::{self as res, Limits, UserNames};
use scimd_core::{ResourceType, ScimError, ScimType};
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
            M::POST => search_all(ctx, req),
            _ => not_allowed("POST"),
        },
        [kind] if rt_of(kind).is_some() => {
            let rt = rt_of(kind).unwrap_or(ResourceType::User);
            match req.method {
                M::GET => list(ctx, rt, &ListParams::from_query(rt, &req.query)?),
                M::POST => write(ctx, req, rt, None, create),
                _ => not_allowed("GET, POST"),
            }
        }
        [kind, ".search"] if rt_of(kind).is_some() => {
            let rt = rt_of(kind).unwrap_or(ResourceType::User);
            match req.method {
                M::POST => {
                    let body = json_body(&req.body)?;
                    list(ctx, rt, &ListParams::from_search(rt, &body)?)
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

/// List parameters, from the query string or a SearchRequest body.
#[derive(Debug)]
struct ListParams {
    filter: Option<Filter>,
    start_index: usize,
    count: usize,
    sort: Option<SortSpec>,
    projection: Projection,
    /// RFC 9865 cursor paging: `Some("")` asks for the first page, `Some(id)` for the page
    /// after resource `id`.
    cursor: Option<String>,
}

fn parse_int(name: &str, v: &str) -> Result<i64> {
    v.trim()
        .parse::<i64>()
        .map_err(|_| ScimError::invalid_value(format!("{name} must be an integer, got {v:?}")))
}

/// List parameters as the client wrote them.
#[derive(Default)]
struct RawList<'a> {
    filter: Option<&'a str>,
    start: Option<i64>,
    count: Option<i64>,
    sort_by: Option<&'a str>,
    sort_order: Option<&'a str>,
    attributes: Option<&'a str>,
    excluded: Option<&'a str>,
    cursor: Option<&'a str>,
}

impl ListParams {
    fn build(rt: ResourceType, raw: RawList<'_>) -> Result<ListParams> {
        let filter = match raw.filter {
            Some(f) => Some(parse_filter(f)?),
            None => None,
        };
        // RFC 7644 3.4.2.4: startIndex below 1 is 1; a negative count is 0.
        let start_index = raw.start.map_or(1, |s| s.max(1) as usize);
        let count = raw
            .count
            .map_or(DEFAULT_COUNT, |c| c.max(0) as usize)
            .min(MAX_RESULTS);
        let sort = SortSpec::parse(rt, raw.sort_by, raw.sort_order)?;
        if let Some(c) = raw.cursor {
            if raw.start.is_some() {
                return Err(ScimError::invalid_value(
                    "Use either cursor or startIndex paging, not both.",
                ));
            }
            if sort.is_some() {
                return Err(ScimError::invalid_value(
                    "Cursor paging returns resources in id order; drop sortBy or use startIndex.",
                ));
            }
            // Cursors are resource ids; anything else did not come from this server.
            if !c.is_empty() && uuid::Uuid::parse_str(c).is_err() {
                return Err(ScimError::bad(
                    ScimType::InvalidCursor,
                    format!("The cursor {c:?} was not issued by this server."),
                ));
            }
        }
        Ok(ListParams {
            filter,
            start_index,
            count,
            sort,
            projection: Projection::parse(rt, raw.attributes, raw.excluded)?,
            cursor: raw.cursor.map(str::to_string),
        })
    }

    fn from_query(rt: ResourceType, q: &HashMap<String, String>) -> Result<ListParams> {
        let int = |k: &str, name: &str| q.get(k).map(|v| parse_int(name, v)).transpose();
        let s = |k: &str| q.get(k).map(String::as_str);
        Self::build(
            rt,
            RawList {
                filter: s("filter"),
                start: int("startindex", "startIndex")?,
                count: int("count", "count")?,
                sort_by: s("sortby"),
                sort_order: s("sortorder"),
                attributes: s("attributes"),
                excluded: s("excludedattributes"),
                cursor: s("cursor"),
            },
        )
    }

    fn from_search(rt: ResourceType, body: &Value) -> Result<ListParams> {
        let obj = body
            .as_object()
            .ok_or_else(|| ScimError::invalid_syntax("A SearchRequest must be a JSON object."))?;
        let get = |k: &str| {
            obj.iter()
                .find(|(key, _)| key.eq_ignore_ascii_case(k))
                .map(|(_, v)| v)
        };
        let text = |k: &str| -> Result<Option<String>> {
            match get(k) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.clone())),
                Some(Value::Array(items)) => {
                    let parts: Option<Vec<&str>> = items.iter().map(Value::as_str).collect();
                    parts.map(|p| Some(p.join(","))).ok_or_else(|| {
                        ScimError::invalid_value(format!("{k} must be a list of strings"))
                    })
                }
                Some(_) => Err(ScimError::invalid_value(format!("{k} must be a string"))),
            }
        };
        let int = |k: &str| -> Result<Option<i64>> {
            match get(k) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::Number(n)) => n
                    .as_i64()
                    .map(Some)
                    .ok_or_else(|| ScimError::invalid_value(format!("{k} must be an integer"))),
                Some(Value::String(s)) => parse_int(k, s).map(Some),
                Some(_) => Err(ScimError::invalid_value(format!("{k} must be an integer"))),
            }
        };
        let (filter, sort_by, sort_order) = (text("filter")?, text("sortBy")?, text("sortOrder")?);
        let (attributes, excluded) = (text("attributes")?, text("excludedAttributes")?);
        let cursor = text("cursor")?;
        Self::build(
            rt,
            RawList {
                filter: filter.as_deref(),
                start: int("startIndex")?,
                count: int("count")?,
                sort_by: sort_by.as_deref(),
                sort_order: sort_order.as_deref(),
                attributes: attributes.as_deref(),
                excluded: excluded.as_deref(),
                cursor: cursor.as_deref(),
            },
        )
    }
}

/// The name of the computed attribute of a resource type.
fn links_attr(rt: ResourceType) -> &'static str {
    match rt {
        ResourceType::User => "groups",
        ResourceType::Group => "members",
    }
}

fn links_json(ctx: &Context<'_>, rt: ResourceType, links: &[Link]) -> Vec<Value> {
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
                "$ref": format!("{}/{path}/{}", ctx.base, l.id),
                "type": kind,
            })
        })
        .collect()
}

/// A resource as clients read it; its attributes move into the answer, not copied.
fn render_owned(ctx: &Context<'_>, rt: ResourceType, r: Resource) -> Value {
    let computed = r.links.as_deref().map(|l| links_json(ctx, rt, l));
    res::render_owned(rt, &r.id, r.attrs, &r.meta, ctx.base, computed)
}

fn list(ctx: &Context<'_>, rt: ResourceType, p: &ListParams) -> Result<Reply> {
    let page = collect(ctx, rt, p)?;
    if p.cursor.is_none() {
        let total = page.total.unwrap_or(page.resources.len());
        return Ok(Reply::ok(list_response(
            page.resources,
            total,
            p.start_index,
        )));
    }
    // RFC 9865: no startIndex; totalResults only where it costs no scan.
    let mut body = serde_json::json!({
        "schemas": [scimd_core::schema::LIST_SCHEMA],
        "itemsPerPage": page.resources.len(),
    });
    if let Some(total) = page.total {
        body["totalResults"] = total.into();
    }
    if let Some(next) = page.next {
        body["nextCursor"] = next.into();
    }
    body["Resources"] = Value::Array(page.resources);
    Ok(Reply::ok(body))
}

/// One page of a listing.
struct Page {
    /// totalResults, when known without a scan beyond the page (cursor paging with a filter).
    total: Option<usize>,
    resources: Vec<Value>,
    /// The cursor of the next page, in cursor paging when there is one.
    next: Option<String>,
}

/// Finds the page of `p` for one resource type.
fn collect(ctx: &Context<'_>, rt: ResourceType, p: &ListParams) -> Result<Page> {
    let links = links_attr(rt);
    let needs_links_for_filter = p
        .filter
        .as_ref()
        .is_some_and(|f| plan::mentions(f, rt, links))
        || p.sort
            .as_ref()
            .is_some_and(|s| s.path.name.eq_ignore_ascii_case(links));
    let show_links = p.projection.includes(rt, links);
    let with_links = show_links || needs_links_for_filter;
    let finish = |mut v: Value| {
        if !show_links && with_links {
            if let Some(o) = v.as_object_mut() {
                o.remove(links);
            }
        }
        p.projection.apply(rt, &mut v);
        v
    };
    let matches = |v: &Value| {
        p.filter
            .as_ref()
            .is_none_or(|f| scimd_core::filter::matches(f, v, rt))
    };
    let source = p
        .filter
        .as_ref()
        .map_or(Source::All, |f| plan::source(f, rt));
    let (org, store) = (ctx.org, ctx.store);
    let unfiltered_total = || -> Result<Option<usize>> {
        match p.filter {
            None => Ok(Some(store.count(org, rt).map_err(internal)? as usize)),
            Some(_) => Ok(None),
        }
    };

    if let Some(cursor) = &p.cursor {
        // Keyset paging: O(page) whatever the position, so a full export costs O(n).
        let after = (!cursor.is_empty()).then_some(cursor.as_str());
        let mut resources = Vec::new();
        let (mut last, mut more) = (None, false);
        if p.count > 0 {
            store
                .visit(org, rt, &source, after, 0, with_links, &mut |r| {
                    let id = r.id.clone();
                    let v = render_owned(ctx, rt, r);
                    if matches(&v) {
                        if resources.len() == p.count {
                            more = true;
                            return Ok(false);
                        }
                        last = Some(id);
                        resources.push(finish(v));
                    }
                    Ok(true)
                })
                .map_err(internal)?;
        }
        let next = if more { last } else { None };
        return Ok(Page {
            total: unfiltered_total()?,
            resources,
            next,
        });
    }

    let skip = p.start_index - 1;
    if p.filter.is_none() && p.sort.is_none() {
        // The common IdP import: count from the counter, then read only the page.
        let total = unfiltered_total()?.unwrap_or(0);
        let mut resources = Vec::new();
        if p.count > 0 && skip < total {
            // The page right after a recent one continues after its last id: O(page).
            let (after, skip_now) = match ctx.pages.after(org, rt, skip) {
                Some(id) => (Some(id), 0),
                None => (None, skip),
            };
            let mut last = None;
            store
                .visit(
                    org,
                    rt,
                    &Source::All,
                    after.as_deref(),
                    skip_now,
                    with_links,
                    &mut |r| {
                        last = Some(r.id.clone());
                        resources.push(finish(render_owned(ctx, rt, r)));
                        Ok(resources.len() < p.count)
                    },
                )
                .map_err(internal)?;
            if let Some(last) = last {
                ctx.pages.ended(org, rt, skip + resources.len(), &last);
            }
        }
        return Ok(Page {
            total: Some(total),
            resources,
            next: None,
        });
    }
    if p.sort.is_none() {
        // Filtered, in id order: count every match, keep only the page.
        let (mut total, mut resources) = (0usize, Vec::new());
        store
            .visit(org, rt, &source, None, 0, with_links, &mut |r| {
                let v = render_owned(ctx, rt, r);
                if matches(&v) {
                    if total >= skip && resources.len() < p.count {
                        resources.push(finish(v));
                    }
                    total += 1;
                }
                Ok(true)
            })
            .map_err(internal)?;
        return Ok(Page {
            total: Some(total),
            resources,
            next: None,
        });
    }
    // Sorted: only the first startIndex-1+count matches are ever kept, whatever the org size.
    let Some(sort) = &p.sort else {
        return Err(ScimError::Internal);
    };
    let keep = skip.saturating_add(p.count);
    let mut top = scimd_core::list::TopK::new(keep, |a: &Value, b: &Value| sort.compare(rt, a, b));
    let mut total = 0usize;
    store
        .visit(org, rt, &source, None, 0, with_links, &mut |r| {
            let v = render_owned(ctx, rt, r);
            if matches(&v) {
                total += 1;
                top.push(v);
            }
            Ok(true)
        })
        .map_err(internal)?;
    let resources = top
        .into_sorted()
        .into_iter()
        .skip(skip)
        .take(p.count)
        .map(finish)
        .collect();
    Ok(Page {
        total: Some(total),
        resources,
        next: None,
    })
}

/// `POST /.search` at the org root: users then groups, paged together.
fn search_all(ctx: &Context<'_>, req: &Request) -> Result<Reply> {
    let body = json_body(&req.body)?;
    let mut all = Vec::new();
    let mut total = 0;
    let mut start_index = 1;
    for rt in ResourceType::ALL {
        let mut p = ListParams::from_search(rt, &body)?;
        if p.cursor.is_some() {
            return Err(ScimError::invalid_value(
                "Cursor paging works per resource type: search /Users or /Groups.",
            ));
        }
        start_index = p.start_index;
        let count = p.count;
        p.start_index = 1;
        p.count = MAX_RESULTS;
        let page = collect(ctx, rt, &p)?;
        total += page.total.unwrap_or(page.resources.len());
        all.extend(page.resources);
        all.truncate((start_index - 1) + count);
    }
    let page: Vec<Value> = all.into_iter().skip(start_index - 1).collect();
    Ok(Reply::ok(list_response(page, total, start_index)))
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
        .delete(ctx.org, rt, id, req.if_match.as_deref())
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
