//! Listing: list parameters from a query string or a SearchRequest, and the pages they
//! select (startIndex, cursor, filtered, sorted), rendered as ListResponses.

use std::collections::HashMap;

use scimd_core::filter::{parse_filter, Filter};
use scimd_core::list::{list_response, Projection, SortSpec};
use scimd_core::schema::Declared;
use scimd_core::{ResourceType, ScimError, ScimType};
use serde_json::Value;

use super::{internal, json_body, links_attr, plan, render_owned, Context, Reply, Request, Result};
use super::{DEFAULT_COUNT, MAX_RESULTS};
use crate::store::{Lookup, PageAsk, Resource, Source, StoreError, Walk};

/// List parameters, from the query string or a SearchRequest body.
#[derive(Debug)]
pub(super) struct ListParams {
    pub(super) filter: Option<Filter>,
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
    fn build(rt: ResourceType, declared: &Declared, raw: RawList<'_>) -> Result<ListParams> {
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
        let sort = SortSpec::parse_with(rt, declared, raw.sort_by, raw.sort_order)?;
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
            projection: Projection::parse_with(rt, declared, raw.attributes, raw.excluded)?,
            cursor: raw.cursor.map(str::to_string),
        })
    }

    pub(super) fn from_query(
        rt: ResourceType,
        declared: &Declared,
        q: &HashMap<String, String>,
    ) -> Result<ListParams> {
        let int = |k: &str, name: &str| q.get(k).map(|v| parse_int(name, v)).transpose();
        let s = |k: &str| q.get(k).map(String::as_str);
        Self::build(
            rt,
            declared,
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

    pub(super) fn from_search(
        rt: ResourceType,
        declared: &Declared,
        body: &Value,
    ) -> Result<ListParams> {
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
            declared,
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

impl ListParams {
    /// How deep into the sorted results the page reaches.
    fn reach(&self) -> usize {
        (self.start_index - 1).saturating_add(self.count)
    }

    /// Refuses a sorted page that reaches past the sorted window: holding that many
    /// candidates is what a deep `startIndex` would cost every tenant in memory.
    fn check_window(&self, window: usize) -> Result<()> {
        if self.sort.is_none() {
            return Ok(());
        }
        let reach = self.reach();
        if reach > window {
            return Err(ScimError::invalid_value(format!(
                "A sorted list reaches at most {window} results deep ([limits] \
                 max_sorted_window), and startIndex {} with count {} reaches {reach}. Page \
                 without sortBy (by startIndex or by cursor) to go deeper.",
                self.start_index, self.count
            )));
        }
        Ok(())
    }
}

/// The most ids a page read ahead passes over (in the primary key alone, about a
/// millisecond's work); a deeper jump reads on a connection of its own.
const PAGE_AHEAD_MOST_SKIPPED: usize = 10_000;

/// What a networked store can read of a listing on the async runtime, in one statement,
/// before the listing runs on what it read.
pub enum ListAhead {
    /// What an index finds for the filter (`userName`, `externalId`, `emails`, a team's
    /// `displayName`): the type, the lookup, and whether to read the links.
    Found(ResourceType, Lookup, bool),
    /// An unfiltered page, as [`collect`] would walk it.
    Page(PageAsk),
}

/// What of a `GET /Users` or `GET /Groups` without sort a networked store can read ahead
/// ([`ListAhead`]). None for any other request, for one the usual path answers with an error,
/// and for one too big to share a connection with every tenant's point reads: teams with
/// their members, or a jump past more than [`PAGE_AHEAD_MOST_SKIPPED`] ids.
pub fn list_ahead(ctx: &Context<'_>, req: &Request) -> Option<ListAhead> {
    if req.method != http::Method::GET {
        return None;
    }
    let (rt, []) = req.path.resource()? else {
        return None;
    };
    let p = ListParams::from_query(rt, &ctx.declared, &req.query).ok()?;
    if p.sort.is_some() {
        return None;
    }
    let links = links_attr(rt);
    let shown = p.projection.includes(rt, links);
    let Some(filter) = &p.filter else {
        return page_ask(ctx, rt, &p, shown).map(ListAhead::Page);
    };
    let with_links = shown || plan::mentions(filter, rt, links);
    let source = plan::source(filter, rt);
    if p.cursor.is_some() || !plan::fits(&source, &ctx.limits) {
        return None;
    }
    match source {
        Source::Lookup(lookup) if rt == ResourceType::User || !with_links => {
            Some(ListAhead::Found(rt, lookup, with_links))
        }
        _ => None,
    }
}

/// The unfiltered page of `p` to read ahead, when it is small enough to.
fn page_ask(
    ctx: &Context<'_>,
    rt: ResourceType,
    p: &ListParams,
    with_links: bool,
) -> Option<PageAsk> {
    if p.count == 0 || (rt == ResourceType::Group && with_links) {
        return None;
    }
    let (after, skip, limit) = match &p.cursor {
        // One more than the page: whether there is a next.
        Some(c) => ((!c.is_empty()).then(|| c.clone()), 0, p.count + 1),
        None => {
            let skip = p.start_index - 1;
            match ctx.pages.after(ctx.org, rt, skip) {
                Some(id) => (Some(id), 0, p.count),
                None if skip <= PAGE_AHEAD_MOST_SKIPPED => (None, skip, p.count),
                None => return None,
            }
        }
    };
    Some(PageAsk {
        rt,
        after,
        skip,
        limit,
        with_links,
    })
}

pub(super) fn list(ctx: &Context<'_>, rt: ResourceType, p: &ListParams) -> Result<Reply> {
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

/// Visits the resources `walk` names, as `Store::visit` does: from what the request read
/// before (`Context::read_before`, a unique lookup's candidates) when it did, else from the
/// store.
fn candidates(
    ctx: &Context<'_>,
    rt: ResourceType,
    walk: Walk<'_>,
    visit: &mut dyn FnMut(Resource) -> std::result::Result<bool, ScimError>,
) -> std::result::Result<(), StoreError> {
    if let (Source::All, Some(page)) = (walk.source, ctx.page_read) {
        // Read for this very walk (`list_ahead`), up to where the listing stops.
        debug_assert!(page.ask.after.as_deref() == walk.after && page.ask.skip == walk.skip);
        for r in &page.resources {
            let mut r = r.clone();
            if !walk.with_links {
                r.links = None;
            }
            if !visit(r)? {
                break;
            }
        }
        return Ok(());
    }
    let (Source::Lookup(_), Some(read)) = (walk.source, ctx.read_before) else {
        return ctx.store.visit(ctx.org, rt, walk, visit);
    };
    let mut read: Vec<&Resource> = read
        .iter()
        .filter(|r| walk.after.is_none_or(|a| r.id.as_str() > a))
        .collect();
    read.sort_by(|a, b| a.id.cmp(&b.id));
    for r in read.into_iter().skip(walk.skip) {
        let mut r = r.clone();
        if !walk.with_links {
            r.links = None;
        }
        if !visit(r)? {
            break;
        }
    }
    Ok(())
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
            .is_none_or(|f| scimd_core::filter::matches_with(f, v, rt, &ctx.declared))
    };
    let source = p
        .filter
        .as_ref()
        .map_or(Source::All, |f| plan::source(f, rt));
    if !plan::fits(&source, &ctx.limits) {
        return Ok(Page {
            total: Some(0),
            resources: Vec::new(),
            next: None,
        });
    }
    let (org, store) = (ctx.org, ctx.store);
    // Every candidate from the start: what the filtered and sorted paths visit.
    let whole = Walk {
        source: &source,
        after: None,
        skip: 0,
        with_links,
    };
    let unfiltered_total = || -> Result<Option<usize>> {
        match (&p.filter, ctx.page_read) {
            (None, Some(page)) => Ok(Some(page.total as usize)),
            (None, None) => Ok(Some(store.count(org, rt).map_err(internal)? as usize)),
            (Some(_), _) => Ok(None),
        }
    };

    if let Some(cursor) = &p.cursor {
        // Keyset paging: O(page) whatever the position, so a full export costs O(n).
        let after = (!cursor.is_empty()).then_some(cursor.as_str());
        let mut resources = Vec::new();
        let (mut last, mut more) = (None, false);
        if p.count > 0 {
            candidates(
                ctx,
                rt,
                Walk {
                    source: &source,
                    after,
                    skip: 0,
                    with_links,
                },
                &mut |r| {
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
                },
            )
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
            let (after, skip_now) = match (ctx.page_read, ctx.pages.after(org, rt, skip)) {
                // Where the page read ahead started, whatever later pages noted since.
                (Some(page), _) => (page.ask.after.clone(), page.ask.skip),
                (None, Some(id)) => (Some(id), 0),
                (None, None) => (None, skip),
            };
            let mut last = None;
            candidates(
                ctx,
                rt,
                Walk {
                    source: &Source::All,
                    after: after.as_deref(),
                    skip: skip_now,
                    with_links,
                },
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
    let Some(sort) = &p.sort else {
        // Filtered, in id order: count every match, keep only the page.
        let (mut total, mut resources) = (0usize, Vec::new());
        candidates(ctx, rt, whole, &mut |r| {
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
    };
    // Sorted: only the first startIndex-1+count matches are ever kept (at most
    // `max_sorted_window`, checked when the request was parsed), and of each only its sort key
    // and id: the page's resources are read again by id at the end.
    let keep = skip.saturating_add(p.count);
    if keep > ctx.sorted_window {
        // Past the window, only a page beyond the last result can be answered (empty, as
        // a client walking to the end expects): counting needs no candidates kept.
        let total = match unfiltered_total()? {
            Some(total) => total,
            None => {
                let mut total = 0usize;
                candidates(ctx, rt, whole, &mut |r| {
                    total += usize::from(matches(&render_owned(ctx, rt, r)));
                    Ok(true)
                })
                .map_err(internal)?;
                total
            }
        };
        if skip >= total {
            return Ok(Page {
                total: Some(total),
                resources: Vec::new(),
                next: None,
            });
        }
        p.check_window(ctx.sorted_window)?;
    }
    type Candidate = (Option<Value>, String);
    let mut top = scimd_core::list::TopK::new(keep, |a: &Candidate, b: &Candidate| {
        sort.compare_values(rt, a.0.as_ref(), b.0.as_ref())
    });
    let mut total = 0usize;
    candidates(ctx, rt, whole, &mut |r| {
        let id = r.id.clone();
        let v = render_owned(ctx, rt, r);
        if matches(&v) {
            total += 1;
            top.push((sort.key(&v), id));
        }
        Ok(true)
    })
    .map_err(internal)?;
    let mut resources = Vec::with_capacity(p.count);
    for (_, id) in top.into_sorted().into_iter().skip(skip).take(p.count) {
        // One deleted since the scan is left out, as a later scan would leave it out.
        if let Some(r) = store.get(org, rt, &id, with_links).map_err(internal)? {
            resources.push(finish(render_owned(ctx, rt, r)));
        }
    }
    Ok(Page {
        total: Some(total),
        resources,
        next: None,
    })
}

/// `POST /.search` at the org root: users then groups, paged together.
pub(super) fn search_all(ctx: &Context<'_>, req: &Request) -> Result<Reply> {
    let body = json_body(&req.body)?;
    let mut all = Vec::new();
    let mut total = 0;
    let mut start_index = 1;
    for rt in ResourceType::ALL {
        let mut p = ListParams::from_search(rt, &ctx.declared, &body)?;
        if p.cursor.is_some() {
            return Err(ScimError::invalid_value(
                "Cursor paging works per resource type: search /Users or /Groups.",
            ));
        }
        p.check_window(ctx.sorted_window)?;
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
