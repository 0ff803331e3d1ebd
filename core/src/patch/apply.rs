//! Applies parsed PATCH operations to a resource in stored form.

use std::collections::hash_map::RandomState;
use std::collections::HashMap;
use std::hash::BuildHasher;

use super::append::AppendIndex;
use super::keys::{classify_key, render, split_sub, whole_extension, Key};
use super::members::{ids_from_filter, member_ids};
use super::undeclared;
use super::values::{
    array_slot, container_mut, elements, existing_container, object_slot, prune_extension,
    Covering, ElementMatcher, Object,
};
use super::write::{drop_empty, set_single, write_filtered};
use super::{MemberOp, OpKind, PatchOperation};
use crate::error::ScimError;
use crate::filter::{Filter, PatchPath};
use crate::json_key::JsonKey;
use crate::schema::{Attr, Declared, Mutability, Resolved, ResourceType, Schema};
use serde_json::{Map, Value};

/// Applies all operations to `resource` (stored form) of type `rt` whose id is `id`, in order,
/// and returns the membership changes (Groups only; always empty for Users).
///
/// All or nothing: when an operation fails, the call returns its error and `resource` is left
/// exactly as it was, whatever the operations before it did.
pub fn apply_patch(
    resource: &mut Map<String, Value>,
    rt: ResourceType,
    id: &str,
    ops: &[PatchOperation],
) -> Result<Vec<MemberOp>, ScimError> {
    apply_patch_with(resource, rt, id, ops, Declared::none())
}

/// [`apply_patch`] for an org that declares the extensions `declared`: they take the same
/// forms as undeclared ones, with `add` appending to a declared multi-valued attribute.
pub fn apply_patch_with(
    resource: &mut Map<String, Value>,
    rt: ResourceType,
    id: &str,
    ops: &[PatchOperation],
    declared: &Declared,
) -> Result<Vec<MemberOp>, ScimError> {
    let mut patcher = Patcher {
        rt,
        declared,
        id,
        members: Vec::new(),
        appended: HashMap::new(),
        hasher: RandomState::new(),
    };
    // Operations edit in place; working on a copy keeps a failure halfway from leaving a
    // half-patched resource behind. The copy is small: one resource in stored form.
    let mut work = resource.clone();
    for op in ops {
        patcher.apply(&mut work, op)?;
    }
    *resource = work;
    Ok(patcher.members)
}

/// Whether the client named the target in a `path`, or it is a key of a path-less value. Keys
/// of a path-less value are often an echo of a GET (Okta, authentik), so read-only and unknown
/// ones are skipped the way POST and PUT skip them, while a path naming them is an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Origin {
    Path,
    Value,
}

struct Patcher<'a> {
    rt: ResourceType,
    declared: &'a Declared,
    id: &'a str,
    members: Vec<MemberOp>,
    /// Indexes of the multi-valued attributes that plain `add`s appended to, kept across
    /// operations so that a thousand `add emails` operations do not each rescan every element
    /// the ones before them appended. Any other write to an attribute drops its index.
    appended: HashMap<AttrKey, AppendIndex>,
    hasher: RandomState,
}

/// A multi-valued attribute: its extension URN (`None` for the core schema) and name.
type AttrKey = (Option<&'static str>, &'static str);

impl Patcher<'_> {
    fn custom(&self) -> undeclared::Custom<'_> {
        undeclared::Custom {
            rt: self.rt,
            declared: self.declared,
        }
    }

    fn apply(&mut self, res: &mut Object, op: &PatchOperation) -> Result<(), ScimError> {
        let value = op.value.as_ref();
        match (&op.path, op.op) {
            (None, OpKind::Remove) => Err(ScimError::no_target("remove needs a path")),
            (None, kind) => self.apply_value(res, kind, value.unwrap_or(&Value::Null)),
            (Some(path), kind) => self.apply_path(res, kind, path, value),
        }
    }

    /// A path-less add or replace: every key of the value object is an attribute.
    fn apply_value(
        &mut self,
        res: &mut Object,
        kind: OpKind,
        value: &Value,
    ) -> Result<(), ScimError> {
        let Value::Object(obj) = value else {
            return Err(ScimError::invalid_value(
                "An add or replace without a path needs an object of attributes as its value",
            ));
        };
        for (key, v) in obj {
            if undeclared::apply_key(res, self.custom(), kind, key, v)? {
                continue;
            }
            match classify_key(self.rt, key) {
                Key::Skip => {}
                Key::Id => self.check_id(v)?,
                Key::CoreSchema => self.apply_value(res, kind, v)?,
                Key::Extension(ext) => self.merge_extension(res, kind, ext, v)?,
                Key::Attr { urn, name, sub } => {
                    if let Some(r) = self.rt.resolve(urn, name, sub) {
                        self.write(res, kind, r, None, v, Origin::Value)?;
                    }
                }
            }
        }
        Ok(())
    }

    /// Okta and authentik echo the resource's `id` inside the value; only a different one is
    /// an attempt to change it.
    fn check_id(&self, v: &Value) -> Result<(), ScimError> {
        match v {
            Value::String(s) if s == self.id => Ok(()),
            _ => Err(ScimError::mutability(
                "id is readOnly and differs from the resource's id",
            )),
        }
    }

    /// Merges an extension object's attributes into the stored extension.
    fn merge_extension(
        &mut self,
        res: &mut Object,
        kind: OpKind,
        ext: &'static Schema,
        v: &Value,
    ) -> Result<(), ScimError> {
        match v {
            Value::Null => {
                if kind == OpKind::Replace {
                    self.forget_extension(ext.id);
                    res.shift_remove(ext.id);
                }
                Ok(())
            }
            Value::Object(obj) => {
                for (key, val) in obj {
                    let (name, sub) = split_sub(key);
                    if let Some(r) = self.rt.resolve(Some(ext.id), name, sub) {
                        self.write(res, kind, r, None, val, Origin::Value)?;
                    }
                }
                Ok(())
            }
            _ => Err(ScimError::invalid_value(format!(
                "{} must be an object",
                ext.id
            ))),
        }
    }

    fn apply_path(
        &mut self,
        res: &mut Object,
        kind: OpKind,
        path: &PatchPath,
        value: Option<&Value>,
    ) -> Result<(), ScimError> {
        if let Some(ext) = whole_extension(self.rt, &path.attr) {
            if path.filter.is_some() {
                return Err(ScimError::invalid_path(format!(
                    "{} cannot take a filter",
                    ext.id
                )));
            }
            return match kind {
                OpKind::Remove => {
                    self.forget_extension(ext.id);
                    res.shift_remove(ext.id);
                    Ok(())
                }
                _ => self.merge_extension(res, kind, ext, value.unwrap_or(&Value::Null)),
            };
        }
        if undeclared::apply_path(res, self.custom(), kind, path, value)? {
            return Ok(());
        }
        let a = &path.attr;
        let r = self
            .rt
            .resolve(a.urn.as_deref(), &a.name, a.sub.as_deref())
            .ok_or_else(|| ScimError::invalid_path(format!("Unknown path: {}", render(a))))?;
        let filter = path.filter.as_ref();
        match kind {
            OpKind::Remove => self.remove(res, r, filter, value, Origin::Path),
            _ => self.write(
                res,
                kind,
                r,
                filter,
                value.unwrap_or(&Value::Null),
                Origin::Path,
            ),
        }
    }

    /// Forgets what appends learnt about an attribute that something else is about to change.
    fn forget(&mut self, r: &Resolved) {
        self.appended.remove(&(r.extension, r.attr.name));
    }

    /// Forgets every attribute of an extension whose object is removed or replaced whole.
    fn forget_extension(&mut self, urn: &str) {
        self.appended.retain(|(ext, _), _| *ext != Some(urn));
    }

    /// Appends the elements not already present (RFC 7644 section 3.5.2.1), in expected time
    /// linear in the number of items, however many operations appended before.
    fn append(
        &mut self,
        container: &mut Object,
        r: &Resolved,
        items: Vec<Value>,
    ) -> Result<(), ScimError> {
        if items.is_empty() {
            return Ok(());
        }
        let arr = array_slot(container, r.attr.name)?;
        let hasher = &self.hasher;
        let index = self
            .appended
            .entry((r.extension, r.attr.name))
            .or_insert_with(|| AppendIndex::build(arr, hasher));
        if index.len != arr.len() {
            *index = AppendIndex::build(arr, hasher);
        }
        let mut added = Vec::new();
        for item in items {
            let bucket = index
                .by_hash
                .entry(hasher.hash_one(JsonKey(&item)))
                .or_default();
            if bucket.iter().any(|&i| arr.get(i) == Some(&item)) {
                continue;
            }
            bucket.push(arr.len());
            added.push(arr.len());
            arr.push(item);
        }
        index.len = arr.len();
        index.demote_other_primaries(arr, &added, hasher);
        Ok(())
    }

    fn is_members(&self, r: &Resolved) -> bool {
        self.rt == ResourceType::Group && r.extension.is_none() && r.attr.name == "members"
    }

    /// An add or replace of one resolved attribute.
    fn write(
        &mut self,
        res: &mut Object,
        kind: OpKind,
        r: Resolved,
        filter: Option<&Filter>,
        value: &Value,
        origin: Origin,
    ) -> Result<(), ScimError> {
        if self.is_members(&r) {
            return self.write_members(kind, &r, filter, value);
        }
        if !writable(&r, origin)? {
            return Ok(());
        }
        if value.is_null() {
            // Replacing with null unassigns (RFC 7644 section 3.5.2.3); adding null adds nothing.
            return match kind {
                OpKind::Replace => self.remove(res, r, filter, None, origin),
                _ => Ok(()),
            };
        }
        let attr = r.attr;
        let appends = kind == OpKind::Add && filter.is_none() && r.sub.is_none() && attr.multi;
        if !appends {
            self.forget(&r);
        }
        let container = container_mut(res, r.extension)?;
        match (filter, r.sub) {
            (Some(_), _) if !attr.multi => return Err(single_valued_filter(attr)),
            (Some(f), sub) => write_filtered(container, &r, f, sub, value)?,
            (None, None) if attr.multi => {
                let items = elements(attr, value);
                if kind == OpKind::Add {
                    self.append(container, &r, items)?;
                } else if items.is_empty() {
                    container.shift_remove(attr.name);
                } else {
                    container.insert(attr.name.to_string(), Value::Array(items));
                }
            }
            (None, Some(sub)) if attr.multi => {
                // Without a filter a sub-attribute path means every element (RFC 7644 3.5.2.3).
                let arr = array_slot(container, attr.name)?;
                if arr.is_empty() {
                    let mut obj = Map::new();
                    obj.insert(sub.name.to_string(), value.clone());
                    arr.push(Value::Object(obj));
                } else {
                    for obj in arr.iter_mut().filter_map(Value::as_object_mut) {
                        obj.insert(sub.name.to_string(), value.clone());
                    }
                }
            }
            (None, None) => set_single(container, attr, value)?,
            (None, Some(sub)) => {
                object_slot(container, attr.name)?.insert(sub.name.to_string(), value.clone());
            }
        }
        prune_extension(res, r.extension);
        Ok(())
    }

    /// A remove of one resolved attribute; `value` only matters for multi-valued attributes,
    /// where it lists the elements to remove (Entra removes members and roles that way).
    fn remove(
        &mut self,
        res: &mut Object,
        r: Resolved,
        filter: Option<&Filter>,
        value: Option<&Value>,
        origin: Origin,
    ) -> Result<(), ScimError> {
        if self.is_members(&r) {
            return self.remove_members(&r, filter, value);
        }
        if !writable(&r, origin)? {
            return Ok(());
        }
        self.forget(&r);
        let attr = r.attr;
        if attr.required && r.sub.is_none() && filter.is_none() {
            return Err(ScimError::invalid_value(format!(
                "{} is required",
                attr.name
            )));
        }
        if filter.is_some() && !attr.multi {
            return Err(single_valued_filter(attr));
        }
        let Some(container) = existing_container(res, r.extension) else {
            return Ok(());
        };
        match (filter, r.sub) {
            (Some(f), sub) => {
                let matcher = ElementMatcher::new(attr, f);
                if let Some(Value::Array(arr)) = container.get_mut(attr.name) {
                    match sub {
                        None => arr.retain(|e| !matcher.matches(e)),
                        Some(sub) => {
                            for e in arr.iter_mut() {
                                if matcher.matches(e) {
                                    if let Some(obj) = e.as_object_mut() {
                                        obj.shift_remove(sub.name);
                                    }
                                }
                            }
                        }
                    }
                }
                drop_empty(container, attr.name);
            }
            (None, None) if attr.multi => match value {
                Some(listed) if !listed.is_null() => {
                    let items = elements(attr, listed);
                    let covering = Covering::new(attr, &items);
                    if let Some(Value::Array(arr)) = container.get_mut(attr.name) {
                        arr.retain(|e| !covering.covers(e));
                    }
                    drop_empty(container, attr.name);
                }
                _ => {
                    container.shift_remove(attr.name);
                }
            },
            (None, Some(sub)) => {
                match container.get_mut(attr.name) {
                    Some(Value::Array(arr)) => {
                        for obj in arr.iter_mut().filter_map(Value::as_object_mut) {
                            obj.shift_remove(sub.name);
                        }
                    }
                    Some(Value::Object(obj)) => {
                        obj.shift_remove(sub.name);
                    }
                    _ => {}
                }
                drop_empty(container, attr.name);
            }
            (None, None) => {
                container.shift_remove(attr.name);
            }
        }
        prune_extension(res, r.extension);
        Ok(())
    }

    fn write_members(
        &mut self,
        kind: OpKind,
        r: &Resolved,
        filter: Option<&Filter>,
        value: &Value,
    ) -> Result<(), ScimError> {
        if r.sub.is_some() {
            return Err(member_sub_path());
        }
        if filter.is_some() {
            return Err(ScimError::invalid_path(
                "A members filter can only be used to remove",
            ));
        }
        let ids = member_ids(value)?;
        if kind == OpKind::Replace {
            self.members.push(MemberOp::Clear);
        }
        if !ids.is_empty() {
            self.members.push(MemberOp::Add(ids));
        }
        Ok(())
    }

    fn remove_members(
        &mut self,
        r: &Resolved,
        filter: Option<&Filter>,
        value: Option<&Value>,
    ) -> Result<(), ScimError> {
        if r.sub.is_some() {
            return Err(member_sub_path());
        }
        if let Some(f) = filter {
            let ids = ids_from_filter(f).ok_or_else(|| {
                ScimError::invalid_filter("members can only be filtered by value")
            })?;
            self.members.push(MemberOp::Remove(ids));
            return Ok(());
        }
        match value {
            // Entra lists the members to remove in the value; only those go.
            Some(listed) if !listed.is_null() => {
                let ids = member_ids(listed)?;
                if !ids.is_empty() {
                    self.members.push(MemberOp::Remove(ids));
                }
            }
            _ => self.members.push(MemberOp::Clear),
        }
        Ok(())
    }
}

/// Whether the attribute may be written: read-only ones are an error when named by a path and
/// skipped in a path-less value; write-only ones (password) are accepted and never stored.
fn writable(r: &Resolved, origin: Origin) -> Result<bool, ScimError> {
    let read_only = r.attr.mutability == Mutability::ReadOnly
        || r.sub.is_some_and(|s| s.mutability == Mutability::ReadOnly);
    if read_only {
        return match origin {
            Origin::Path => Err(ScimError::mutability(format!(
                "{} is readOnly",
                r.leaf().name
            ))),
            Origin::Value => Ok(false),
        };
    }
    Ok(r.leaf().mutability != Mutability::WriteOnly)
}

fn single_valued_filter(attr: &Attr) -> ScimError {
    ScimError::invalid_path(format!(
        "{} is single-valued and cannot take a filter",
        attr.name
    ))
}

fn member_sub_path() -> ScimError {
    ScimError::invalid_path("members can only be added or removed whole, not by sub-attribute")
}
