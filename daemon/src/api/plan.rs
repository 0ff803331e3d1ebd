//! Query planning: answers `eq` filters on indexed attributes from an index instead of a scan,
//! and gives a scan the texts every match must hold, so a database leaves the rest out where
//! it reads them. The full filter is still evaluated on every candidate, so planning only
//! narrows.

use scimd_core::filter::{AttrPath, CompValue, CompareOp, Filter};
use scimd_core::resource::{fits_index, Limits};
use scimd_core::ResourceType;

use crate::store::{Lookup, Source};

/// The cheapest source that yields every resource `filter` can match.
pub fn source(filter: &Filter, rt: ResourceType) -> Source {
    if let Some(l) = lookup(filter, rt) {
        return Source::Lookup(l);
    }
    let mut found = Vec::new();
    needles(filter, rt, None, &mut found);
    if found.is_empty() {
        Source::All
    } else {
        Source::Matching(found)
    }
}

/// The most needles a scan carries: dropping one only lets more candidates through.
const MAX_NEEDLES: usize = 8;

/// The texts (ASCII-lowercased) that the stored attributes of every resource `filter`
/// matches hold as JSON text: the values its `and`-joined string comparisons (`eq`, `co`,
/// `sw`, `ew`) look for in string attributes stored with the record. Left out, so a scan
/// passes more: anything under `or` or `not`, attributes kept beside the record (`id`,
/// `meta`, a user's `groups`, a team's `members`), other types (a date or a number has
/// other spellings), extensions an org declares, and values with anything but printable
/// ASCII other than `"` and `\` (which JSON spells as they are). A backend compares them
/// with records that are ASCII alone; Unicode case folding can turn a non-ASCII letter into
/// an ASCII one (the Kelvin sign), so a record with any non-ASCII text always passes.
fn needles(filter: &Filter, rt: ResourceType, parent: Option<&AttrPath>, out: &mut Vec<String>) {
    match filter {
        Filter::Compare {
            path,
            op: CompareOp::Eq | CompareOp::Co | CompareOp::Sw | CompareOp::Ew,
            value: CompValue::Str(v),
        } if out.len() < MAX_NEEDLES && plain(v) && stored_text(rt, parent, path) => {
            out.push(v.to_ascii_lowercase());
        }
        Filter::ValuePath { path, filter } if parent.is_none() => {
            needles(filter, rt, Some(path), out);
        }
        Filter::And(a, b) => {
            needles(a, rt, parent, out);
            needles(b, rt, parent, out);
        }
        _ => {}
    }
}

/// Whether `v` is spelled the same in JSON text and lowercases the same in any database.
fn plain(v: &str) -> bool {
    !v.is_empty()
        && v.bytes()
            .all(|b| (b' '..=b'~').contains(&b) && b != b'"' && b != b'\\')
}

/// Whether `path` (under value path `parent`, when inside one) names a string attribute of
/// `rt` kept in the record's stored attributes.
fn stored_text(rt: ResourceType, parent: Option<&AttrPath>, path: &AttrPath) -> bool {
    let resolved = match parent {
        Some(p) if path.urn.is_none() && path.sub.is_none() => {
            rt.resolve(p.urn.as_deref(), &p.name, Some(&path.name))
        }
        Some(_) => None,
        None => rt.resolve(path.urn.as_deref(), &path.name, path.sub.as_deref()),
    };
    let Some(r) = resolved else {
        return false;
    };
    let beside = matches!(
        (rt, r.attr.name),
        (_, "id" | "meta") | (ResourceType::User, "groups") | (ResourceType::Group, "members")
    );
    !beside
        && matches!(
            r.leaf().ty,
            scimd_core::schema::AttrType::String | scimd_core::schema::AttrType::Reference
        )
}

/// Whether an index could hold the key `source` looks up. One it could not (a value with
/// U+0000, or longer than `max_indexed_length`) matches nothing, so it is never sent to the
/// backend, where it could only fail.
pub fn fits(source: &Source, limits: &Limits) -> bool {
    match source {
        Source::All | Source::Matching(_) => true,
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

#[cfg(test)]
mod tests {
    use super::*;
    use scimd_core::filter::parse_filter;

    fn needles_of(filter: &str, rt: ResourceType) -> Vec<String> {
        match source(&parse_filter(filter).expect("a filter"), rt) {
            Source::Matching(n) => n,
            Source::All => Vec::new(),
            Source::Lookup(l) => panic!("{filter}: a lookup {l:?}"),
        }
    }

    #[test]
    fn a_scan_carries_the_texts_every_match_holds() {
        let user = |f: &str| needles_of(f, ResourceType::User);
        assert_eq!(user(r#"name.familyName eq "SMITH""#), ["smith"]);
        assert_eq!(
            user(r#"title co "Eng" and emails[type eq "work" and value sw "a."]"#),
            ["eng", "work", "a."]
        );
        assert_eq!(
            user(
                r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department eq "R&D""#
            ),
            ["r&d"]
        );
        // Under `or` or `not`, beside the record, not a string, or not plain ASCII: none.
        for none in [
            r#"title eq "a" or title eq "b""#,
            r#"not (title eq "a")"#,
            r#"id eq "u1""#,
            r#"meta.resourceType eq "User""#,
            r#"groups.display eq "Eng""#,
            r#"active eq true"#,
            r#"meta.lastModified gt "2026-01-01T00:00:00Z""#,
            r#"name.familyName eq "José""#,
            r#"title co "a\"b""#,
            r#"title pr"#,
        ] {
            assert!(user(none).is_empty(), "{none}");
        }
        assert!(needles_of(r#"members.display eq "ann""#, ResourceType::Group).is_empty());
        // At most MAX_NEEDLES; the rest are dropped, which only lets more through.
        let many: Vec<String> = (0..20).map(|i| format!(r#"title co "t{i}""#)).collect();
        assert_eq!(user(&many.join(" and ")).len(), MAX_NEEDLES);
    }
}
