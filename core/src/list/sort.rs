//! `sortBy`/`sortOrder` (RFC 7644 §3.4.2.3): parsing the sort spec and comparing resources by it.

use std::cmp::Ordering;

use serde_json::Value;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::error::ScimError;
use crate::filter::{parse_attr_path, AttrPath};
use crate::schema::{Attr, AttrType, Declared, ResourceType};

use super::{find_key, resolve};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SortSpec {
    /// Canonical names: `urn` is set only for extension attributes; a complex attribute is
    /// completed to its `value` sub-attribute.
    pub path: AttrPath,
    pub descending: bool,
    /// The type of a declared extension's attribute, when `path` names one (its URN and name
    /// in their declared spelling); `None` for the built-in schemas.
    pub declared: Option<AttrType>,
}

/// A comparable sort key.
enum Key<'a> {
    Bool(bool),
    Num(f64),
    Time(OffsetDateTime),
    Str(&'a str),
}

impl SortSpec {
    /// `None` when `sortBy` is absent. An unknown `sortBy` attribute is `invalidPath`; a
    /// `sortOrder` other than ascending/descending is `invalidValue`.
    pub fn parse(
        rt: ResourceType,
        sort_by: Option<&str>,
        sort_order: Option<&str>,
    ) -> Result<Option<SortSpec>, ScimError> {
        Self::parse_with(rt, Declared::none(), sort_by, sort_order)
    }

    /// [`SortSpec::parse`] for an org that declares the extensions `declared`, whose
    /// attributes sort by full path (`urn:okta:custom:user:1.0:level`).
    pub fn parse_with(
        rt: ResourceType,
        declared: &Declared,
        sort_by: Option<&str>,
        sort_order: Option<&str>,
    ) -> Result<Option<SortSpec>, ScimError> {
        let descending = match sort_order.map(str::trim).filter(|s| !s.is_empty()) {
            None => false,
            Some(o) if o.eq_ignore_ascii_case("ascending") => false,
            Some(o) if o.eq_ignore_ascii_case("descending") => true,
            Some(o) => {
                return Err(ScimError::invalid_value(format!(
                    "sortOrder must be 'ascending' or 'descending', not '{o}'"
                )))
            }
        };
        let Some(sort_by) = sort_by.map(str::trim).filter(|s| !s.is_empty()) else {
            return Ok(None);
        };
        let parsed = parse_attr_path(sort_by)
            .map_err(|e| ScimError::invalid_path(format!("Invalid sortBy '{sort_by}': {e}")))?;
        let unknown = || ScimError::invalid_path(format!("Unknown sortBy attribute '{sort_by}'"));
        let custom = parsed
            .urn
            .as_deref()
            .filter(|_| parsed.sub.is_none())
            .and_then(|urn| declared.resolve(rt, urn, &parsed.name));
        if let (None, Some((ext, attr))) = (resolve(rt, &parsed), custom) {
            let path = AttrPath {
                urn: Some(ext.urn.clone()),
                name: attr.name.clone(),
                sub: None,
            };
            return Ok(Some(SortSpec {
                path,
                descending,
                declared: Some(attr.ty),
            }));
        }
        let (ext, attr, sub) = resolve(rt, &parsed).ok_or_else(unknown)?;
        let sub = match sub {
            Some(sub) => Some(sub.name),
            None if attr.ty == AttrType::Complex => match attr.sub_attr("value") {
                Some(v) => Some(v.name),
                None => {
                    return Err(ScimError::invalid_path(format!(
                        "Cannot sort by the complex attribute '{sort_by}'; name a sub-attribute"
                    )))
                }
            },
            None => None,
        };
        let path = AttrPath {
            urn: ext.map(str::to_string),
            name: attr.name.to_string(),
            sub: sub.map(str::to_string),
        };
        Ok(Some(SortSpec {
            path,
            descending,
            declared: None,
        }))
    }

    fn leaf(&self, rt: ResourceType) -> Option<&'static Attr> {
        if let Some(ty) = self.declared {
            return Some(crate::schema::declared::leaf(ty));
        }
        let r = rt.resolve(
            self.path.urn.as_deref(),
            &self.path.name,
            self.path.sub.as_deref(),
        )?;
        Some(r.leaf())
    }

    /// The value a resource sorts by: for a multi-valued attribute, the primary element's (else
    /// the first element's).
    fn value<'a>(&self, resource: &'a Value) -> Option<&'a Value> {
        let mut container = resource.as_object()?;
        if let Some(urn) = &self.path.urn {
            container = container.get(&find_key(container, urn)?)?.as_object()?;
        }
        let mut v = container.get(&find_key(container, &self.path.name)?)?;
        if let Value::Array(items) = v {
            let primary = items.iter().find(|item| {
                item.as_object()
                    .and_then(|m| m.get(&find_key(m, "primary")?).cloned())
                    .is_some_and(|p| p == Value::Bool(true))
            });
            v = primary.or_else(|| items.first())?;
        }
        if let Some(sub) = &self.path.sub {
            let m = v.as_object()?;
            v = m.get(&find_key(m, sub)?)?;
        }
        (!v.is_null()).then_some(v)
    }

    /// Compares two rendered resources; missing values sort last ascending, first descending.
    pub fn compare(&self, rt: ResourceType, a: &Value, b: &Value) -> Ordering {
        self.compare_values(rt, self.value(a), self.value(b))
    }

    /// The value a rendered resource sorts by, alone: what a sorted listing keeps of each
    /// candidate instead of the whole resource.
    pub fn key(&self, resource: &Value) -> Option<Value> {
        self.value(resource).cloned()
    }

    /// Compares two sort keys as [`SortSpec::compare`] compares the resources they came from.
    pub fn compare_values(
        &self,
        rt: ResourceType,
        a: Option<&Value>,
        b: Option<&Value>,
    ) -> Ordering {
        let leaf = self.leaf(rt);
        let case_exact = leaf.is_some_and(|l| l.case_exact);
        let is_time = leaf.is_some_and(|l| l.ty == AttrType::DateTime);
        let ord = match (to_key(a, is_time), to_key(b, is_time)) {
            (None, None) => Ordering::Equal,
            (None, Some(_)) => Ordering::Greater,
            (Some(_), None) => Ordering::Less,
            (Some(x), Some(y)) => compare_keys(&x, &y, case_exact),
        };
        if self.descending {
            ord.reverse()
        } else {
            ord
        }
    }
}

fn to_key(v: Option<&Value>, is_time: bool) -> Option<Key<'_>> {
    match v? {
        Value::Bool(b) => Some(Key::Bool(*b)),
        Value::Number(n) => n.as_f64().map(Key::Num),
        Value::String(s) if is_time => {
            Some(OffsetDateTime::parse(s, &Rfc3339).map_or(Key::Str(s.as_str()), Key::Time))
        }
        Value::String(s) => Some(Key::Str(s.as_str())),
        _ => None,
    }
}

fn compare_keys(a: &Key<'_>, b: &Key<'_>, case_exact: bool) -> Ordering {
    let rank = |k: &Key<'_>| match k {
        Key::Bool(_) => 0,
        Key::Num(_) => 1,
        Key::Time(_) => 2,
        Key::Str(_) => 3,
    };
    match (a, b) {
        (Key::Bool(x), Key::Bool(y)) => x.cmp(y),
        (Key::Num(x), Key::Num(y)) => x.total_cmp(y),
        (Key::Time(x), Key::Time(y)) => x.cmp(y),
        (Key::Str(x), Key::Str(y)) if case_exact => x.cmp(y),
        (Key::Str(x), Key::Str(y)) => x
            .to_lowercase()
            .cmp(&y.to_lowercase())
            .then_with(|| x.cmp(y)),
        _ => rank(a).cmp(&rank(b)),
    }
}
