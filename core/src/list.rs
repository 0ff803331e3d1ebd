//! List responses: attribute projection (RFC 7644 §3.9), sorting (§3.4.2.3) and the envelope.

use std::cmp::Ordering;

use serde_json::{json, Map, Value};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::error::ScimError;
use crate::filter::{parse_attr_path, AttrPath};
use crate::schema::{Attr, AttrType, ResourceType, LIST_SCHEMA};

/// One selected attribute, by canonical names. `attr: None` selects a whole extension.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Sel {
    ext: Option<&'static str>,
    attr: Option<&'static str>,
    sub: Option<&'static str>,
}

impl Sel {
    /// Whether this selection names the top-level key `name` (an attribute or an extension URN).
    fn names_top(&self, name: &str) -> bool {
        match (self.ext, self.attr) {
            (None, Some(attr)) => attr.eq_ignore_ascii_case(name),
            (Some(ext), None) => ext.eq_ignore_ascii_case(name),
            _ => false,
        }
    }
}

/// Which attributes a response carries, from `attributes` and `excludedAttributes`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Projection {
    /// `None`: every attribute returned by default.
    include: Option<Vec<Sel>>,
    exclude: Vec<Sel>,
}

/// Splits on commas outside brackets and quotes, and drops the bracketed value filters, in one
/// pass: `emails[type eq "work"].value,userName` gives `emails.value` and `userName`. Microsoft's
/// suite asks for attributes with a value filter, which §3.9 does not define; the whole
/// attribute is what it wants to see, and a filter may hold a comma. Each item comes as written
/// (for error details) and as the path to resolve.
fn split_items(list: &str) -> Result<Vec<(&str, String)>, ScimError> {
    let mut items = Vec::new();
    let mut item = String::new();
    let (mut depth, mut quoted, mut escaped, mut start) = (0usize, false, false, 0usize);
    for (i, c) in list.char_indices() {
        if quoted {
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '"' => quoted = false,
                _ => {}
            }
            continue;
        }
        match c {
            '"' if depth > 0 => quoted = true,
            '[' => depth += 1,
            ']' if depth == 0 => {
                return Err(ScimError::invalid_path(format!(
                    "Unbalanced ']' in '{list}'"
                )))
            }
            ']' => depth -= 1,
            ',' if depth == 0 => {
                items.push((
                    list[start..i].trim(),
                    std::mem::take(&mut item).trim().to_string(),
                ));
                start = i + 1;
            }
            _ if depth == 0 => item.push(c),
            _ => {}
        }
    }
    if depth > 0 || quoted {
        return Err(ScimError::invalid_path(format!(
            "Unbalanced '[' in '{list}'"
        )));
    }
    items.push((list[start..].trim(), item.trim().to_string()));
    Ok(items)
}

/// Resolves a path against the schemas; `None` for names scimd does not know.
fn resolve(
    rt: ResourceType,
    path: &AttrPath,
) -> Option<(Option<&'static str>, &'static Attr, Option<&'static Attr>)> {
    let r = rt.resolve(path.urn.as_deref(), &path.name, path.sub.as_deref())?;
    Some((r.extension, r.attr, r.sub))
}

fn parse_list(rt: ResourceType, list: &str, param: &str) -> Result<Vec<Sel>, ScimError> {
    let mut sels = Vec::new();
    for (item, path) in split_items(list)? {
        if path.is_empty() {
            continue;
        }
        let sel = if let Some(ext) = rt.extension(&path) {
            Some(Sel {
                ext: Some(ext.id),
                attr: None,
                sub: None,
            })
        } else {
            let parsed = parse_attr_path(&path).map_err(|e| {
                ScimError::invalid_path(format!(
                    "Invalid attribute '{}' in {param}: {e}",
                    item.trim()
                ))
            })?;
            resolve(rt, &parsed).map(|(ext, attr, sub)| Sel {
                ext,
                attr: Some(attr.name),
                sub: sub.map(|s| s.name),
            })
        };
        if let Some(sel) = sel {
            if !sels.contains(&sel) {
                sels.push(sel);
            }
        }
    }
    Ok(sels)
}

/// The key in `m` that matches `name` case-insensitively, exact spelling first.
fn find_key(m: &Map<String, Value>, name: &str) -> Option<String> {
    if m.contains_key(name) {
        return Some(name.to_string());
    }
    m.keys().find(|k| k.eq_ignore_ascii_case(name)).cloned()
}

/// Keeps only the given sub-attributes of a complex value (each element of a multi-valued one).
fn keep_subs(v: Value, subs: &[&str]) -> Option<Value> {
    let keep = |m: Map<String, Value>| -> Option<Value> {
        let kept: Map<String, Value> = m
            .into_iter()
            .filter(|(k, _)| subs.iter().any(|s| s.eq_ignore_ascii_case(k)))
            .collect();
        (!kept.is_empty()).then_some(Value::Object(kept))
    };
    match v {
        Value::Object(m) => keep(m),
        Value::Array(items) => {
            let kept: Vec<Value> = items
                .into_iter()
                .filter_map(|item| match item {
                    Value::Object(m) => keep(m),
                    _ => None,
                })
                .collect();
            (!kept.is_empty()).then_some(Value::Array(kept))
        }
        _ => None,
    }
}

/// Removes a sub-attribute from a complex value (each element of a multi-valued one).
fn drop_sub(v: &mut Value, sub: &str) {
    let drop = |m: &mut Map<String, Value>| {
        if let Some(k) = find_key(m, sub) {
            m.shift_remove(&k);
        }
    };
    match v {
        Value::Object(m) => drop(m),
        Value::Array(items) => {
            for item in items.iter_mut() {
                if let Value::Object(m) = item {
                    drop(m);
                }
            }
            items.retain(|item| !item.as_object().is_some_and(Map::is_empty));
        }
        _ => {}
    }
}

fn is_empty_container(v: &Value) -> bool {
    match v {
        Value::Object(m) => m.is_empty(),
        Value::Array(a) => a.is_empty(),
        _ => false,
    }
}

/// Filters one object (the resource or an extension object) down to the selections for `ext`.
fn include_in(
    obj: Map<String, Value>,
    sels: &[Sel],
    ext: Option<&'static str>,
    lookup: impl Fn(&str) -> Option<&'static Attr>,
) -> Map<String, Value> {
    let mut out = Map::new();
    for (key, value) in obj {
        let Some(attr) = lookup(&key) else {
            continue;
        };
        let mine: Vec<&Sel> = sels
            .iter()
            .filter(|s| s.ext == ext && s.attr == Some(attr.name))
            .collect();
        if mine.is_empty() {
            continue;
        }
        let kept = if mine.iter().any(|s| s.sub.is_none()) {
            Some(value)
        } else {
            let subs: Vec<&str> = mine.iter().filter_map(|s| s.sub).collect();
            keep_subs(value, &subs)
        };
        if let Some(kept) = kept {
            out.insert(key, kept);
        }
    }
    out
}

fn always_returned(key: &str) -> bool {
    key == "schemas" || key == "id"
}

impl Projection {
    /// From the `attributes` / `excludedAttributes` query values (comma-separated attribute
    /// paths). Unknown attribute names are ignored; a path that does not parse is `invalidPath`.
    pub fn parse(
        rt: ResourceType,
        attributes: Option<&str>,
        excluded: Option<&str>,
    ) -> Result<Projection, ScimError> {
        let attributes = attributes.map(str::trim).filter(|s| !s.is_empty());
        let include = match attributes {
            Some(list) => Some(parse_list(rt, list, "attributes")?),
            None => None,
        };
        let exclude = match excluded.map(str::trim).filter(|s| !s.is_empty()) {
            Some(list) => parse_list(rt, list, "excludedAttributes")?,
            None => Vec::new(),
        };
        Ok(Projection { include, exclude })
    }

    /// Every attribute returned by default.
    pub fn all() -> Projection {
        Projection::default()
    }

    /// Whether the top-level attribute (canonical name, e.g. "members", "groups", or an
    /// extension URN) will appear in a response.
    pub fn includes(&self, rt: ResourceType, name: &str) -> bool {
        if always_returned(name) {
            return true;
        }
        let ext = rt.extension(name).map(|e| e.id);
        let included = match &self.include {
            None => true,
            Some(sels) => sels.iter().any(|s| match ext {
                Some(ext) => s.ext == Some(ext),
                None => s.names_top(name),
            }),
        };
        included
            && !self
                .exclude
                .iter()
                .any(|s| s.sub.is_none() && s.names_top(name))
    }

    /// Applies RFC 7644 §3.9 to a rendered resource. `schemas` and `id` always stay.
    pub fn apply(&self, rt: ResourceType, resource: &mut Value) {
        let Value::Object(obj) = resource else {
            return;
        };
        if let Some(sels) = &self.include {
            let mut out = Map::new();
            for (key, value) in std::mem::take(obj) {
                if always_returned(&key) {
                    out.insert(key, value);
                } else if let Some(ext) = rt.extension(&key) {
                    let whole = sels
                        .iter()
                        .any(|s| s.ext == Some(ext.id) && s.attr.is_none());
                    let kept = match value {
                        v if whole => Some(v),
                        Value::Object(m) => {
                            let m = include_in(m, sels, Some(ext.id), |k| ext.attr(k));
                            (!m.is_empty()).then_some(Value::Object(m))
                        }
                        _ => None,
                    };
                    if let Some(kept) = kept {
                        out.insert(key, kept);
                    }
                } else {
                    let mut single = Map::new();
                    single.insert(key, value);
                    out.extend(include_in(single, sels, None, |k| rt.top_attr(k)));
                }
            }
            *obj = out;
        }
        for sel in &self.exclude {
            exclude_from(obj, sel);
        }
    }
}

fn exclude_from(obj: &mut Map<String, Value>, sel: &Sel) {
    let Some(attr) = sel.attr else {
        if let Some(k) = sel.ext.and_then(|ext| find_key(obj, ext)) {
            obj.shift_remove(&k);
        }
        return;
    };
    let (container, ext_key) = match sel.ext {
        None => (Some(&mut *obj), None),
        Some(ext) => match find_key(obj, ext) {
            Some(k) => (obj.get_mut(&k).and_then(Value::as_object_mut), Some(k)),
            None => (None, None),
        },
    };
    let Some(container) = container else {
        return;
    };
    if let Some(key) = find_key(container, attr).filter(|k| !always_returned(k)) {
        match sel.sub {
            None => {
                container.shift_remove(&key);
            }
            Some(sub) => {
                if let Some(v) = container.get_mut(&key) {
                    drop_sub(v, sub);
                    if is_empty_container(v) {
                        container.shift_remove(&key);
                    }
                }
            }
        }
    }
    let emptied = container.is_empty();
    if let (Some(k), true) = (ext_key, emptied) {
        obj.shift_remove(&k);
    }
}

/// `sortBy`/`sortOrder` (RFC 7644 §3.4.2.3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SortSpec {
    /// Canonical names: `urn` is set only for extension attributes; a complex attribute is
    /// completed to its `value` sub-attribute.
    pub path: AttrPath,
    pub descending: bool,
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
        Ok(Some(SortSpec { path, descending }))
    }

    fn leaf(&self, rt: ResourceType) -> Option<&'static Attr> {
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

/// The `k` smallest of the items pushed, by a comparator, in O(k) memory: a sorted page of a
/// large result set without holding, or sorting, all of it. Equal items keep the order they
/// were pushed in, so the result is exactly that of a stable sort followed by `truncate(k)`.
///
/// Like `slice::sort_by`, `cmp` must be a total order.
pub struct TopK<T, F> {
    k: usize,
    cmp: F,
    /// Candidates with their push number, which breaks ties in favour of the earlier push. At
    /// most `2k` long: when full, the `k` best are selected in linear time and the rest dropped.
    buf: Vec<(u64, T)>,
    pushed: u64,
    /// Once the buffer has been cut back, the position of the worst item kept: an item not
    /// smaller than it can never make the cut, because it also comes later in push order.
    worst: Option<usize>,
}

impl<T, F: Fn(&T, &T) -> Ordering> TopK<T, F> {
    /// Keeps the `k` smallest items by `cmp`.
    pub fn new(k: usize, cmp: F) -> Self {
        TopK {
            k,
            cmp,
            buf: Vec::new(),
            pushed: 0,
            worst: None,
        }
    }

    pub fn push(&mut self, item: T) {
        if self.k == 0 {
            return;
        }
        if let Some((_, worst)) = self.worst.and_then(|i| self.buf.get(i)) {
            if (self.cmp)(&item, worst) != Ordering::Less {
                return;
            }
        }
        self.buf.push((self.pushed, item));
        self.pushed += 1;
        if self.buf.len() >= self.k.saturating_mul(2).max(2) {
            self.cut();
        }
    }

    /// The kept items, smallest first.
    pub fn into_sorted(self) -> Vec<T> {
        let TopK {
            k, cmp, mut buf, ..
        } = self;
        buf.sort_unstable_by(|a, b| cmp(&a.1, &b.1).then(a.0.cmp(&b.0)));
        buf.truncate(k);
        buf.into_iter().map(|(_, item)| item).collect()
    }

    /// Cuts the buffer back to the `k` best, with the worst of them last.
    fn cut(&mut self) {
        let cmp = &self.cmp;
        let Some(last) = self.k.checked_sub(1) else {
            return;
        };
        if self.buf.len() > self.k {
            self.buf
                .select_nth_unstable_by(last, |a, b| cmp(&a.1, &b.1).then(a.0.cmp(&b.0)));
            self.buf.truncate(self.k);
        }
        self.worst = Some(last);
    }
}

/// The ListResponse message; `itemsPerPage` is the number of resources on this page.
pub fn list_response(resources: Vec<Value>, total: usize, start_index: usize) -> Value {
    // Built by hand: `json!` would serialize the page into a second copy of itself.
    let mut body = serde_json::Map::new();
    body.insert("schemas".into(), json!([LIST_SCHEMA]));
    body.insert("totalResults".into(), total.into());
    body.insert("itemsPerPage".into(), resources.len().into());
    body.insert("startIndex".into(), start_index.into());
    body.insert("Resources".into(), Value::Array(resources));
    Value::Object(body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::{ENTERPRISE_SCHEMA as ENT, GROUP_SCHEMA, USER_SCHEMA};
    use crate::ScimType;

    fn user() -> Value {
        json!({
            "schemas": [USER_SCHEMA, ENT],
            "id": "u1",
            "externalId": "e1",
            "userName": "ann",
            "name": {"familyName": "Smith", "givenName": "Ann"},
            "active": true,
            "emails": [
                {"value": "ann@work.com", "type": "work", "primary": true},
                {"value": "ann@home.org", "type": "home"}
            ],
            "groups": [{"value": "g1", "display": "Eng"}],
            ENT: {"employeeNumber": "7", "manager": {"value": "m1", "$ref": "http://h/Users/m1"}},
            "meta": {"resourceType": "User", "lastModified": "2024-01-01T00:00:00Z"}
        })
    }

    fn group() -> Value {
        json!({
            "schemas": [GROUP_SCHEMA],
            "id": "g1",
            "displayName": "Eng",
            "members": [{"value": "u1", "display": "ann"}],
            "meta": {"resourceType": "Group"}
        })
    }

    #[test]
    fn projects_attributes() {
        let u = ResourceType::User;
        let g = ResourceType::Group;
        let user_without = |f: &dyn Fn(&mut Map<String, Value>)| {
            let mut v = user();
            if let Some(m) = v.as_object_mut() {
                f(m);
            }
            v
        };
        let rows: Vec<(ResourceType, Option<&str>, Option<&str>, Value)> = vec![
            (u, None, None, user()),
            (u, Some(""), Some(" "), user()),
            (
                u,
                Some("userName,emails"),
                None,
                json!({"schemas": [USER_SCHEMA, ENT], "id": "u1", "userName": "ann",
                    "emails": user()["emails"]}),
            ),
            (
                u,
                Some(" USERNAME , emails[type eq \"work\"] ,,"),
                None,
                json!({"schemas": [USER_SCHEMA, ENT], "id": "u1", "userName": "ann",
                    "emails": user()["emails"]}),
            ),
            (
                u,
                Some("emails[value eq \"a,b]\"].value"),
                None,
                json!({"schemas": [USER_SCHEMA, ENT], "id": "u1",
                    "emails": [{"value": "ann@work.com"}, {"value": "ann@home.org"}]}),
            ),
            (
                u,
                Some("name.givenName"),
                None,
                json!({"schemas": [USER_SCHEMA, ENT], "id": "u1", "name": {"givenName": "Ann"}}),
            ),
            (
                u,
                Some("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber"),
                None,
                json!({"schemas": [USER_SCHEMA, ENT], "id": "u1", ENT: {"employeeNumber": "7"}}),
            ),
            (
                u,
                Some("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value"),
                None,
                json!({"schemas": [USER_SCHEMA, ENT], "id": "u1", ENT: {"manager": {"value": "m1"}}}),
            ),
            (
                u,
                Some("urn:ietf:params:scim:schemas:extension:enterprise:2.0:user"),
                None,
                json!({"schemas": [USER_SCHEMA, ENT], "id": "u1", ENT: user()[ENT]}),
            ),
            (
                u,
                Some("urn:ietf:params:scim:schemas:core:2.0:User:userName,meta.lastModified"),
                None,
                json!({"schemas": [USER_SCHEMA, ENT], "id": "u1", "userName": "ann",
                    "meta": {"lastModified": "2024-01-01T00:00:00Z"}}),
            ),
            (
                u,
                Some("nickName,nope,urn:x:y:z"),
                None,
                json!({"schemas": [USER_SCHEMA, ENT], "id": "u1"}),
            ),
            (
                u,
                None,
                Some("emails,groups"),
                user_without(&|m| {
                    m.shift_remove("emails");
                    m.shift_remove("groups");
                }),
            ),
            (u, None, Some("id,nope"), user()),
            (
                u,
                None,
                Some("name.givenName"),
                user_without(&|m| {
                    m.insert("name".into(), json!({"familyName": "Smith"}));
                }),
            ),
            (
                u,
                None,
                Some("emails.type,emails.primary"),
                user_without(&|m| {
                    m.insert(
                        "emails".into(),
                        json!([{"value": "ann@work.com"}, {"value": "ann@home.org"}]),
                    );
                }),
            ),
            (
                u,
                None,
                Some("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager"),
                user_without(&|m| {
                    m.insert(ENT.into(), json!({"employeeNumber": "7"}));
                }),
            ),
            (
                u,
                None,
                Some(
                    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager,\
                     urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber",
                ),
                user_without(&|m| {
                    m.shift_remove(ENT);
                }),
            ),
            (
                u,
                None,
                Some("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"),
                user_without(&|m| {
                    m.shift_remove(ENT);
                }),
            ),
            (
                u,
                Some("userName,emails"),
                Some("emails"),
                json!({"schemas": [USER_SCHEMA, ENT], "id": "u1", "userName": "ann"}),
            ),
            (
                g,
                None,
                Some("members"),
                json!({"schemas": [GROUP_SCHEMA], "id": "g1", "displayName": "Eng",
                    "meta": {"resourceType": "Group"}}),
            ),
            (
                g,
                Some("displayName"),
                None,
                json!({"schemas": [GROUP_SCHEMA], "id": "g1", "displayName": "Eng"}),
            ),
        ];
        for (rt, attributes, excluded, want) in rows {
            let p = Projection::parse(rt, attributes, excluded)
                .unwrap_or_else(|e| panic!("{attributes:?} / {excluded:?}: {e}"));
            let mut doc = if rt == u { user() } else { group() };
            p.apply(rt, &mut doc);
            assert_eq!(
                doc.to_string(),
                want.to_string(),
                "{attributes:?} / {excluded:?}"
            );
        }
        let mut doc = user();
        Projection::all().apply(u, &mut doc);
        assert_eq!(doc, user());
    }

    #[test]
    fn rejects_bad_projections() {
        let rows: &[(Option<&str>, Option<&str>)] = &[
            (Some("emails[type eq \"work\""), None),
            (Some("emails]"), None),
            (None, Some("user name")),
            (Some("name..givenName"), None),
            (None, Some("emails[type eq \"work]")),
        ];
        for (attributes, excluded) in rows {
            let got = Projection::parse(ResourceType::User, *attributes, *excluded);
            assert_eq!(
                got.err().and_then(|e| e.scim_type()),
                Some(ScimType::InvalidPath),
                "{attributes:?} / {excluded:?}"
            );
        }
    }

    /// (type, attributes, excludedAttributes, top-level name, appears)
    type IncludesRow = (
        ResourceType,
        Option<&'static str>,
        Option<&'static str>,
        &'static str,
        bool,
    );

    #[test]
    fn tells_whether_an_attribute_appears() {
        let g = ResourceType::Group;
        let u = ResourceType::User;
        let rows: &[IncludesRow] = &[
            (g, None, None, "members", true),
            (g, None, Some("members"), "members", false),
            (g, None, Some("MEMBERS"), "members", false),
            (g, None, Some("members.display"), "members", true),
            (g, Some("displayName"), None, "members", false),
            (g, Some("members.value"), None, "members", true),
            (g, Some("displayName"), None, "id", true),
            (g, None, Some("id"), "id", true),
            (u, None, Some("groups"), "groups", false),
            (u, Some("userName"), None, "groups", false),
            (u, Some("groups"), None, "groups", true),
            (
                u,
                Some("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager"),
                None,
                ENT,
                true,
            ),
            (u, Some("userName"), None, ENT, false),
            (
                u,
                None,
                Some("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"),
                ENT,
                false,
            ),
        ];
        for (rt, attributes, excluded, name, want) in rows {
            let p = Projection::parse(*rt, *attributes, *excluded);
            let got = p.map(|p| p.includes(*rt, name));
            assert_eq!(
                got.ok(),
                Some(*want),
                "{attributes:?} / {excluded:?} / {name}"
            );
        }
    }

    /// (sortBy, sortOrder, outcome)
    type SortRow = (
        Option<&'static str>,
        Option<&'static str>,
        Result<Option<SortSpec>, ScimType>,
    );

    #[test]
    fn parses_sort_specs() {
        let u = ResourceType::User;
        let path = |urn: Option<&str>, name: &str, sub: Option<&str>| AttrPath {
            urn: urn.map(String::from),
            name: name.into(),
            sub: sub.map(String::from),
        };
        let rows: Vec<SortRow> = vec![
            (None, None, Ok(None)),
            (Some(" "), Some("descending"), Ok(None)),
            (
                Some("userName"),
                None,
                Ok(Some(SortSpec {
                    path: path(None, "userName", None),
                    descending: false,
                })),
            ),
            (
                Some("USERNAME"),
                Some("Descending"),
                Ok(Some(SortSpec {
                    path: path(None, "userName", None),
                    descending: true,
                })),
            ),
            (
                Some("name.FAMILYNAME"),
                Some("ascending"),
                Ok(Some(SortSpec {
                    path: path(None, "name", Some("familyName")),
                    descending: false,
                })),
            ),
            (
                Some("emails"),
                None,
                Ok(Some(SortSpec {
                    path: path(None, "emails", Some("value")),
                    descending: false,
                })),
            ),
            (
                Some("urn:ietf:params:scim:schemas:core:2.0:User:meta.created"),
                None,
                Ok(Some(SortSpec {
                    path: path(None, "meta", Some("created")),
                    descending: false,
                })),
            ),
            (
                Some("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager"),
                None,
                Ok(Some(SortSpec {
                    path: path(Some(ENT), "manager", Some("value")),
                    descending: false,
                })),
            ),
            (Some("nope"), None, Err(ScimType::InvalidPath)),
            (Some("name.nope"), None, Err(ScimType::InvalidPath)),
            (Some("name"), None, Err(ScimType::InvalidPath)),
            (Some("user name"), None, Err(ScimType::InvalidPath)),
            (
                Some("userName"),
                Some("sideways"),
                Err(ScimType::InvalidValue),
            ),
            (None, Some("up"), Err(ScimType::InvalidValue)),
        ];
        for (sort_by, sort_order, want) in rows {
            let got = SortSpec::parse(u, sort_by, sort_order).map_err(|e| e.scim_type());
            assert_eq!(got, want.map_err(Some), "{sort_by:?} / {sort_order:?}");
        }
    }

    #[test]
    fn sorts_resources() {
        let u = ResourceType::User;
        let people = vec![
            json!({"id": "1", "userName": "bob", "externalId": "b", "active": true,
                "emails": [{"value": "z@x", "primary": false}, {"value": "a@x", "primary": true}],
                "meta": {"created": "2024-01-01T10:00:00+02:00"}}),
            json!({"id": "2", "userName": "Alice", "externalId": "B", "active": false,
                "title": "CTO", "emails": [{"value": "m@x"}],
                "meta": {"created": "2024-01-01T09:00:00Z"}}),
            json!({"id": "3", "userName": "carol", "externalId": "a", "title": "cfo",
                "emails": [{"value": "b@x"}, {"value": "0@x", "primary": "junk"}],
                ENT: {"manager": {"value": "m2"}},
                "meta": {"created": "2023-12-31T23:00:00Z"}}),
        ];
        let rows: &[(&str, Option<&str>, [&str; 3])] = &[
            ("userName", None, ["2", "1", "3"]),
            ("userName", Some("descending"), ["3", "1", "2"]),
            ("externalId", None, ["2", "3", "1"]),
            ("emails", None, ["1", "3", "2"]),
            ("emails.value", Some("descending"), ["2", "3", "1"]),
            ("title", None, ["3", "2", "1"]),
            ("title", Some("descending"), ["1", "2", "3"]),
            ("active", None, ["2", "1", "3"]),
            ("meta.created", None, ["3", "1", "2"]),
            (
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager",
                None,
                ["3", "1", "2"],
            ),
        ];
        for (sort_by, order, want) in rows {
            let spec = SortSpec::parse(u, Some(sort_by), *order);
            let Ok(Some(spec)) = spec else {
                panic!("{sort_by}: {spec:?}");
            };
            let mut sorted = people.clone();
            sorted.sort_by(|a, b| spec.compare(u, a, b));
            let ids: Vec<&str> = sorted.iter().filter_map(|p| p["id"].as_str()).collect();
            assert_eq!(ids, want, "{sort_by} {order:?}");
        }
    }

    #[test]
    fn list_response_envelope() {
        let doc = list_response(vec![json!({"id": "a"}), json!({"id": "b"})], 7, 3);
        assert_eq!(
            doc.to_string(),
            json!({"schemas": [LIST_SCHEMA], "totalResults": 7, "itemsPerPage": 2,
                "startIndex": 3, "Resources": [{"id": "a"}, {"id": "b"}]})
            .to_string()
        );
        let empty = list_response(Vec::new(), 0, 1);
        assert_eq!(empty["Resources"], json!([]));
        assert_eq!(empty["itemsPerPage"], 0);
        assert!(empty["totalResults"].is_u64());
    }

    #[test]
    fn top_k_equals_a_stable_sort_then_truncate() {
        // (key, push number): equal keys must come out in push order.
        let items: Vec<(u8, usize)> = [5u8, 1, 3, 1, 9, 0, 3, 3, 7, 1, 0, 2, 8, 3]
            .iter()
            .enumerate()
            .map(|(i, k)| (*k, i))
            .collect();
        for k in 0..=items.len() + 2 {
            let mut top = TopK::new(k, |a: &(u8, usize), b: &(u8, usize)| a.0.cmp(&b.0));
            for item in &items {
                top.push(*item);
            }
            let mut want = items.clone();
            want.sort_by_key(|item| item.0);
            want.truncate(k);
            assert_eq!(top.into_sorted(), want, "k = {k}");
        }
    }

    #[test]
    fn top_k_holds_at_most_twice_k() {
        let mut top = TopK::new(3, |a: &u32, b: &u32| b.cmp(a));
        for i in 0..10_000 {
            top.push(i);
            assert!(top.buf.len() < 6);
        }
        assert_eq!(top.into_sorted(), [9999, 9998, 9997]);
        let none: TopK<u32, _> = TopK::new(2, |a: &u32, b: &u32| a.cmp(b));
        assert!(none.into_sorted().is_empty());
    }

    #[test]
    fn top_k_sorts_resources_like_sort_spec() {
        let rt = ResourceType::User;
        let spec = SortSpec::parse(rt, Some("userName"), Some("descending"))
            .ok()
            .flatten();
        let Some(spec) = spec else {
            panic!("sortBy userName is valid");
        };
        let users: Vec<Value> = ["b", "A", "c", "a", "B"]
            .iter()
            .map(|n| json!({"userName": n}))
            .collect();
        let mut top = TopK::new(2, |a: &Value, b: &Value| spec.compare(rt, a, b));
        for u in users {
            top.push(u);
        }
        let names: Vec<Value> = top
            .into_sorted()
            .into_iter()
            .map(|u| u["userName"].clone())
            .collect();
        assert_eq!(names, [json!("c"), json!("b")]);
    }
}
