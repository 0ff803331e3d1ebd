//! Attribute projection (RFC 7644 §3.9): which attributes a response carries, from
//! `attributes` and `excludedAttributes`.

use serde_json::{Map, Value};

use crate::error::ScimError;
use crate::filter::parse_attr_path;
use crate::resource::undeclared::{is_undeclared, place, Place};
use crate::schema::{Attr, Declared, ResourceType};

use super::{find_key, resolve};

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

/// A custom extension (declared or not) named in a list: its URN as written, matched
/// case-insensitively, and the one attribute of it named, if that is what was named.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Custom {
    urn: String,
    attr: Option<String>,
}

impl Custom {
    fn names(&self, key: &str) -> bool {
        self.urn.eq_ignore_ascii_case(key)
    }
}

/// Which attributes a response carries, from `attributes` and `excludedAttributes`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Projection {
    /// `None`: every attribute returned by default.
    include: Option<Vec<Sel>>,
    exclude: Vec<Sel>,
    /// Custom extensions named by `attributes` (only read when `include` is `Some`) and by
    /// `excludedAttributes`.
    include_custom: Vec<Custom>,
    exclude_custom: Vec<Custom>,
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

/// The selections of one list: of the built-in schemas, and of custom extensions.
fn parse_list(
    rt: ResourceType,
    declared: &Declared,
    list: &str,
    param: &str,
) -> Result<(Vec<Sel>, Vec<Custom>), ScimError> {
    let mut sels = Vec::new();
    let mut custom = Vec::new();
    for (item, path) in split_items(list)? {
        if path.is_empty() {
            continue;
        }
        // An extension scimd does not define: a URN, or one attribute under it.
        if let Some(p) = place(rt, &path, &Map::new(), false, declared) {
            let c = match p {
                Place::Whole(urn) => Custom { urn, attr: None },
                Place::Attr(urn, name) => Custom {
                    urn,
                    attr: Some(name.to_string()),
                },
            };
            if !custom.contains(&c) {
                custom.push(c);
            }
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
    Ok((sels, custom))
}

/// What `attributes` keeps of a custom extension's object under `key`: all of it when its URN
/// is named, else the attributes named under it; `None` when nothing is left.
fn include_custom(key: &str, value: Value, named: &[Custom]) -> Option<Value> {
    let mine: Vec<&Custom> = named.iter().filter(|c| c.names(key)).collect();
    if mine.iter().any(|c| c.attr.is_none()) {
        return Some(value);
    }
    let Value::Object(m) = value else {
        return None;
    };
    let kept: Map<String, Value> = m
        .into_iter()
        .filter(|(k, _)| {
            mine.iter()
                .any(|c| c.attr.as_deref().is_some_and(|a| a.eq_ignore_ascii_case(k)))
        })
        .collect();
    (!kept.is_empty()).then_some(Value::Object(kept))
}

/// Removes what `excludedAttributes` names of a custom extension: the whole URN, or one
/// attribute (and the URN with it when that was the last).
fn exclude_custom(obj: &mut Map<String, Value>, c: &Custom) {
    let Some(key) = obj.keys().find(|k| c.names(k)).cloned() else {
        return;
    };
    let Some(attr) = &c.attr else {
        obj.shift_remove(&key);
        return;
    };
    if let Some(Value::Object(ext)) = obj.get_mut(&key) {
        if let Some(k) = find_key(ext, attr) {
            ext.shift_remove(&k);
        }
        if ext.is_empty() {
            obj.shift_remove(&key);
        }
    }
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
        Self::parse_with(rt, Declared::none(), attributes, excluded)
    }

    /// [`Projection::parse`] for an org that declares the extensions `declared`. A custom
    /// extension's URN, declared or not, or `URN:attr`, selects it as a built-in one does.
    pub fn parse_with(
        rt: ResourceType,
        declared: &Declared,
        attributes: Option<&str>,
        excluded: Option<&str>,
    ) -> Result<Projection, ScimError> {
        let attributes = attributes.map(str::trim).filter(|s| !s.is_empty());
        let (include, include_custom) = match attributes {
            Some(list) => {
                let (sels, custom) = parse_list(rt, declared, list, "attributes")?;
                (Some(sels), custom)
            }
            None => (None, Vec::new()),
        };
        let (exclude, exclude_custom) = match excluded.map(str::trim).filter(|s| !s.is_empty()) {
            Some(list) => parse_list(rt, declared, list, "excludedAttributes")?,
            None => (Vec::new(), Vec::new()),
        };
        Ok(Projection {
            include,
            exclude,
            include_custom,
            exclude_custom,
        })
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
                } else if is_undeclared(&key) {
                    if let Some(kept) = include_custom(&key, value, &self.include_custom) {
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
        for c in &self.exclude_custom {
            exclude_custom(obj, c);
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
