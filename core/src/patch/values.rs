//! Helpers over the stored JSON: slots that are created on demand, canonical elements of
//! multi-valued attributes, value-filter matching and elements built from a filter.

use std::collections::hash_map::RandomState;
use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasher, Hash, Hasher};

use crate::error::ScimError;
use crate::filter::{self, CompValue, CompareOp, Filter};
use crate::json_key::JsonKey;
use crate::schema::{Attr, AttrType};
use serde_json::{Map, Value};

pub(super) type Object = Map<String, Value>;

/// Positions of elements (or items) by the hash of their value; a hash is only a hint, so each
/// hit is confirmed by comparing the values.
pub(super) type ByHash = HashMap<u64, Vec<usize>>;

/// The object under `name`, created (or overwriting a non-object) when needed.
pub(super) fn object_slot<'a>(
    container: &'a mut Object,
    name: &str,
) -> Result<&'a mut Object, ScimError> {
    let slot = container
        .entry(name.to_string())
        .or_insert_with(|| Value::Object(Map::new()));
    if !slot.is_object() {
        *slot = Value::Object(Map::new());
    }
    // Cannot fail after the line above; an error beats a panic should that ever change.
    slot.as_object_mut().ok_or(ScimError::Internal)
}

/// The array under `name`, created (or overwriting a non-array) when needed.
pub(super) fn array_slot<'a>(
    container: &'a mut Object,
    name: &str,
) -> Result<&'a mut Vec<Value>, ScimError> {
    let slot = container
        .entry(name.to_string())
        .or_insert_with(|| Value::Array(Vec::new()));
    if !slot.is_array() {
        *slot = Value::Array(Vec::new());
    }
    slot.as_array_mut().ok_or(ScimError::Internal)
}

/// The object holding the attribute: the resource itself, or its extension object (created).
pub(super) fn container_mut<'a>(
    res: &'a mut Object,
    ext: Option<&str>,
) -> Result<&'a mut Object, ScimError> {
    match ext {
        None => Ok(res),
        Some(urn) => object_slot(res, urn),
    }
}

/// The object holding the attribute, when it exists.
pub(super) fn existing_container<'a>(
    res: &'a mut Object,
    ext: Option<&str>,
) -> Option<&'a mut Object> {
    match ext {
        None => Some(res),
        Some(urn) => res.get_mut(urn)?.as_object_mut(),
    }
}

/// Drops an extension object left empty, so that an emptied extension is not rendered as `{}`.
pub(super) fn prune_extension(res: &mut Object, ext: Option<&str>) {
    if let Some(urn) = ext {
        if res
            .get(urn)
            .and_then(Value::as_object)
            .is_some_and(Map::is_empty)
        {
            res.shift_remove(urn);
        }
    }
}

/// Whether a complex attribute accepts a bare scalar as shorthand for `{"value": scalar}`.
pub(super) fn wraps_scalar(attr: &Attr, value: &Value) -> bool {
    attr.ty == AttrType::Complex
        && attr.sub_attr("value").is_some()
        && matches!(value, Value::String(_) | Value::Number(_) | Value::Bool(_))
}

/// Wraps a bare scalar into `{"value": scalar}`.
pub(super) fn wrap_value(value: &Value) -> Object {
    let mut obj = Map::new();
    obj.insert("value".to_string(), value.clone());
    obj
}

/// Merges `given` into `target` under canonical sub-attribute names: `null` deletes, unknown
/// sub-attributes are skipped like unknown attributes of a POST.
pub(super) fn merge_into(attr: &Attr, target: &mut Object, given: &Object) {
    for (key, value) in given {
        let Some(sub) = attr.sub_attr(key) else {
            continue;
        };
        if value.is_null() {
            target.shift_remove(sub.name);
        } else {
            target.insert(sub.name.to_string(), value.clone());
        }
    }
}

/// The elements a value stands for when written to a multi-valued attribute: an array or one
/// item, canonicalised so that equality with stored elements is meaningful.
pub(super) fn elements(attr: &Attr, value: &Value) -> Vec<Value> {
    let items: Vec<&Value> = match value {
        Value::Array(items) => items.iter().collect(),
        Value::Null => Vec::new(),
        item => vec![item],
    };
    items
        .into_iter()
        .filter(|v| !v.is_null())
        .map(|v| element(attr, v))
        .filter(|v| !v.as_object().is_some_and(Map::is_empty))
        .collect()
}

fn element(attr: &Attr, value: &Value) -> Value {
    match value {
        Value::Object(given) if attr.ty == AttrType::Complex => {
            let mut obj = Map::new();
            merge_into(attr, &mut obj, given);
            Value::Object(obj)
        }
        v if wraps_scalar(attr, v) => Value::Object(wrap_value(v)),
        v => v.clone(),
    }
}

/// Whether a `primary` value says true; the normalizer coerces Entra's `"True"` later.
pub(super) fn is_primary(element: &Value) -> bool {
    match element.get("primary") {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => s.eq_ignore_ascii_case("true"),
        _ => false,
    }
}

/// Keeps `primary` on at most one element (RFC 7643 section 2.4): when one of the elements at
/// `touched` was made primary, every other element loses the flag.
pub(super) fn demote_other_primaries(arr: &mut [Value], touched: &[usize]) {
    let winner = touched
        .iter()
        .rev()
        .copied()
        .find(|&i| arr.get(i).is_some_and(is_primary));
    let Some(winner) = winner else { return };
    for (i, element) in arr.iter_mut().enumerate() {
        if i != winner && is_primary(element) {
            if let Some(obj) = element.as_object_mut() {
                obj.insert("primary".to_string(), Value::Bool(false));
            }
        }
    }
}

/// Whether a stored element is one that a remove-by-value item names: every non-null
/// sub-attribute of the item equals the element's, honouring caseExact.
pub(super) fn covers(attr: &Attr, item: &Value, element: &Value) -> bool {
    let (Some(item), Some(element)) = (item.as_object(), element.as_object()) else {
        return item == element;
    };
    let mut named = item.iter().filter(|(_, v)| !v.is_null()).peekable();
    // An item naming nothing must not remove everything.
    named.peek().is_some()
        && named.all(|(key, want)| {
            let exact = attr.sub_attr(key).is_none_or(|s| s.case_exact);
            match (element.get(key.as_str()), want) {
                (Some(Value::String(have)), Value::String(want)) if !exact => {
                    have.eq_ignore_ascii_case(want)
                }
                (Some(have), want) => have == want,
                (None, _) => false,
            }
        })
}

/// Selects elements of a multi-valued attribute with a value filter, through the filter
/// evaluator so that caseExact and typed comparisons are the same as for searches.
pub(super) struct ElementMatcher<'f> {
    attr: &'static Attr,
    filter: &'f Filter,
}

impl<'f> ElementMatcher<'f> {
    pub(super) fn new(attr: &'static Attr, filter: &'f Filter) -> Self {
        ElementMatcher { attr, filter }
    }

    /// Whether `attr[filter]` holds for this element alone.
    pub(super) fn matches(&self, element: &Value) -> bool {
        filter::element_matches(self.filter, element, self.attr)
    }
}

/// The items of a remove-by-value, indexed so that deciding whether any item [`covers`] a stored
/// element costs a few hash lookups instead of a pass over every item: Entra can list hundreds
/// of roles to remove from a user holding hundreds.
pub(super) struct Covering<'a> {
    attr: &'a Attr,
    items: &'a [Value],
    hasher: RandomState,
    /// Items that are not objects, which cover only an equal element.
    whole: HashSet<JsonKey<'a>>,
    /// Object items grouped by the sorted names of their non-null sub-attributes, each group
    /// keyed by the hash of those values (case-folded where not caseExact) to item positions.
    shapes: Vec<(Vec<&'a str>, ByHash)>,
}

impl<'a> Covering<'a> {
    pub(super) fn new(attr: &'a Attr, items: &'a [Value]) -> Self {
        let mut covering = Covering {
            attr,
            items,
            hasher: RandomState::new(),
            whole: HashSet::new(),
            shapes: Vec::new(),
        };
        for (i, item) in items.iter().enumerate() {
            let Some(obj) = item.as_object() else {
                covering.whole.insert(JsonKey(item));
                continue;
            };
            let mut keys: Vec<&'a str> = obj
                .iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, _)| k.as_str())
                .collect();
            // An item naming nothing covers nothing (see `covers`).
            if keys.is_empty() {
                continue;
            }
            keys.sort_unstable();
            let Some(h) = covering.projection(&keys, item) else {
                continue;
            };
            let group = match covering.shapes.iter().position(|(k, _)| *k == keys) {
                Some(g) => g,
                None => {
                    covering.shapes.push((keys, HashMap::new()));
                    covering.shapes.len() - 1
                }
            };
            if let Some((_, by_hash)) = covering.shapes.get_mut(group) {
                by_hash.entry(h).or_default().push(i);
            }
        }
        covering
    }

    /// The hash of `v`'s values under `keys`, equal for any two values that `covers` would
    /// match on those keys; `None` when `v` lacks one of them.
    fn projection(&self, keys: &[&str], v: &Value) -> Option<u64> {
        let obj = v.as_object()?;
        let mut h = self.hasher.build_hasher();
        for key in keys {
            let value = obj.get(*key)?;
            let exact = self.attr.sub_attr(key).is_none_or(|s| s.case_exact);
            match value {
                Value::String(s) if !exact => {
                    h.write_u8(0);
                    s.to_ascii_lowercase().hash(&mut h);
                }
                other => {
                    h.write_u8(1);
                    JsonKey(other).hash(&mut h);
                }
            }
        }
        Some(h.finish())
    }

    /// Whether some item covers `element`; the same answer as trying [`covers`] with each item.
    pub(super) fn covers(&self, element: &Value) -> bool {
        if !element.is_object() {
            return self.whole.contains(&JsonKey(element));
        }
        self.shapes.iter().any(|(keys, by_hash)| {
            self.projection(keys, element)
                .and_then(|h| by_hash.get(&h))
                .is_some_and(|candidates| {
                    candidates.iter().any(|&i| {
                        self.items
                            .get(i)
                            .is_some_and(|item| covers(self.attr, item, element))
                    })
                })
        })
    }
}

/// The element a filter describes, when it is `sub eq literal` or an `and` of those: what a
/// replace through a filter that matches nothing creates.
pub(super) fn element_from_filter(attr: &Attr, f: &Filter) -> Option<Object> {
    let mut obj = Map::new();
    collect_eqs(attr, f, &mut obj).then_some(obj)
}

fn collect_eqs(attr: &Attr, f: &Filter, obj: &mut Object) -> bool {
    match f {
        Filter::Compare {
            path,
            op: CompareOp::Eq,
            value,
        } if path.urn.is_none() && path.sub.is_none() => {
            let (Some(sub), Some(value)) = (attr.sub_attr(&path.name), literal(value)) else {
                return false;
            };
            match obj.get(sub.name) {
                // `type eq "work" and type eq "home"` describes no element.
                Some(prev) => *prev == value,
                None => {
                    obj.insert(sub.name.to_string(), value);
                    true
                }
            }
        }
        Filter::And(a, b) => collect_eqs(attr, a, obj) && collect_eqs(attr, b, obj),
        _ => false,
    }
}

fn literal(value: &CompValue) -> Option<Value> {
    match value {
        CompValue::Null => None,
        CompValue::Bool(b) => Some(Value::Bool(*b)),
        CompValue::Number(n) => Some(Value::Number(n.clone())),
        CompValue::Str(s) => Some(Value::String(s.clone())),
    }
}
