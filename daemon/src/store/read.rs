//! Reads over one snapshot, once for every backend: a resource with its links (a team's
//! members, a user's teams), and the visit of a listing's candidates in id order.

use scimd_core::{ResourceType, ScimError};

use super::error::{Result, StoreError};
use super::model::{meta_of, Link, Record, Resource, Source, Walk};
use super::rows::View;

fn resource(
    view: &dyn View,
    org: &str,
    rt: ResourceType,
    id: &str,
    rec: Record,
    with_links: bool,
) -> Result<Resource> {
    let links = if with_links {
        Some(links(view, org, rt, id)?)
    } else {
        None
    };
    Ok(Resource {
        id: id.to_string(),
        meta: meta_of(&rec),
        attrs: rec.attrs,
        links,
    })
}

/// One resource by id, with its links when `with_links`.
pub(crate) fn get(
    view: &dyn View,
    org: &str,
    rt: ResourceType,
    id: &str,
    with_links: bool,
) -> Result<Option<Resource>> {
    match view.record(org, rt, id)? {
        Some(rec) => Ok(Some(resource(view, org, rt, id, rec, with_links)?)),
        None => Ok(None),
    }
}

/// A team's members, or the teams of a user with their display names.
pub(crate) fn links(view: &dyn View, org: &str, rt: ResourceType, id: &str) -> Result<Vec<Link>> {
    match rt {
        ResourceType::Group => view.members(org, id),
        ResourceType::User => {
            let mut out = Vec::new();
            for gid in view.teams_of(org, id)? {
                if let Some(display) = view.team_name(org, &gid)? {
                    out.push(Link { id: gid, display });
                }
            }
            Ok(out)
        }
    }
}

/// What a listing's visitor returns: whether to go on.
pub(crate) type Visit<'a> = dyn FnMut(Resource) -> std::result::Result<bool, ScimError> + 'a;

/// See [`super::Store::visit`].
pub(crate) fn visit(
    view: &dyn View,
    org: &str,
    rt: ResourceType,
    walk: Walk<'_>,
    visit: &mut Visit<'_>,
) -> Result<()> {
    let Walk {
        source,
        after,
        skip,
        with_links,
    } = walk;
    match source {
        Source::All => view.scan(org, rt, after, skip, &mut |id, rec| {
            let r = resource(view, org, rt, id, rec, with_links)?;
            visit(r).map_err(StoreError::from)
        }),
        Source::Matching(needles) => {
            // A filtered walk never passes over candidates: `skip` is for unfiltered pages.
            debug_assert_eq!(skip, 0, "a filtered walk passes over nothing");
            view.scan_matching(org, rt, after, needles, &mut |id, rec| {
                let r = resource(view, org, rt, id, rec, with_links)?;
                visit(r).map_err(StoreError::from)
            })
        }
        Source::Lookup(lookup) => {
            let mut ids = view.lookup(org, rt, lookup)?;
            ids.sort_unstable();
            ids.dedup();
            let ids = ids
                .into_iter()
                .filter(|id| after.is_none_or(|a| id.as_str() > a));
            for id in ids.skip(skip) {
                if let Some(r) = get(view, org, rt, &id, with_links)? {
                    if !visit(r)? {
                        break;
                    }
                }
            }
            Ok(())
        }
    }
}
