//! Query planning: answers `eq` filters on indexed attributes from an index instead of a scan.
//! The full filter is still evaluated on every candidate, so planning only narrows.

use scimd_core::filter::{AttrPath, CompValue, CompareOp, Filter};
use scimd_core::resource::{fits_index, Limits};
use scimd_core::ResourceType;

use crate::store::{Lookup, Source};

/// The cheapest source that yields every resource `filter` can match.
pub fn source(filter: &Filter, rt: ResourceType) -> Source {
    lookup(filter, rt).map_or(Source::All, Source::Lookup)
}

/// Whether an index could hold the key `source` looks up. One it could not (a value with
/// U+0000, or longer than `max_indexed_length`) matches nothing, so it is never sent to the
/// backend, where it could only fail.
pub fn fits(source: &Source, limits: &Limits) -> bool {
    match source {
        Source::All => true,
        Source::Lookup(
            Lookup::UserName(v) | Lookup::ExternalId(v) | Lookup::Email(v) | Lookup::DisplayName(v),
        ) => fits_index(v, limits),
    }
}

/// Whether `source` finds at most one resource through a unique index (`userName`, a team's
/// `displayName`), so the read is as cheap as one by id. `externalId` and emails are not
/// unique: thousands may share one, so their lookups are scans in disguise.
pub fn is_unique(source: &Source) -> bool {
    matches!(
        source,
        Source::Lookup(Lookup::UserName(_) | Lookup::DisplayName(_))
    )
}

fn canonical(rt: ResourceType, path: &AttrPath) -> Option<(&'static str, Option<&'static str>)> {
    let r = rt.resolve(path.urn.as_deref(), &path.name, path.sub.as_deref())?;
    if r.extension.is_some() {
        return None;
    }
    Some((r.attr.name, r.sub.map(|s| s.name)))
}

fn lookup(filter: &Filter, rt: ResourceType) -> Option<Lookup> {
    match filter {
        Filter::Compare {
            path,
            op: CompareOp::Eq,
            value: CompValue::Str(v),
        } => match (rt, canonical(rt, path)?) {
            (ResourceType::User, ("userName", None)) => Some(Lookup::UserName(v.clone())),
            (ResourceType::User, ("emails", Some("value") | None)) => {
                Some(Lookup::Email(v.clone()))
            }
            (ResourceType::Group, ("displayName", None)) => Some(Lookup::DisplayName(v.clone())),
            (_, ("externalId", None)) => Some(Lookup::ExternalId(v.clone())),
            _ => None,
        },
        Filter::ValuePath { path, filter } => {
            if rt != ResourceType::User || canonical(rt, path)? != ("emails", None) {
                return None;
            }
            inner_value_eq(filter).map(Lookup::Email)
        }
        Filter::And(a, b) => lookup(a, rt).or_else(|| lookup(b, rt)),
        _ => None,
    }
}

/// `value eq "x"` as a conjunct of a value filter on emails.
fn inner_value_eq(filter: &Filter) -> Option<String> {
    match filter {
        Filter::Compare {
            path,
            op: CompareOp::Eq,
            value: CompValue::Str(v),
        } if path.urn.is_none()
            && path.sub.is_none()
            && path.name.eq_ignore_ascii_case("value") =>
        {
            Some(v.clone())
        }
        Filter::And(a, b) => inner_value_eq(a).or_else(|| inner_value_eq(b)),
        _ => None,
    }
}

/// Whether `filter` refers to the top-level attribute `name` (e.g. `members`), so the
/// candidates must be read with it.
pub fn mentions(filter: &Filter, rt: ResourceType, name: &str) -> bool {
    let is = |p: &AttrPath| canonical(rt, p).is_some_and(|(n, _)| n.eq_ignore_ascii_case(name));
    match filter {
        Filter::Compare { path, .. } | Filter::Present(path) => is(path),
        Filter::ValuePath { path, .. } => is(path),
        Filter::And(a, b) | Filter::Or(a, b) => mentions(a, rt, name) || mentions(b, rt, name),
        Filter::Not(a) => mentions(a, rt, name),
    }
}
