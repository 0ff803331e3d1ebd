//! Rendering: a resource's stored form as clients read it (schemas, id, attributes in schema
//! order, computed links, meta), leaving write-only attributes out.

use serde_json::{Map, Value};

use super::undeclared::is_undeclared;
use super::{etag, is_manager, Meta};
use crate::schema::{Mutability, ResourceType};

/// The full client JSON of a stored resource. `computed` is the User's `groups` or the Group's
/// `members`, already rendered by the caller; `None` leaves the key out.
pub fn render(
    rt: ResourceType,
    id: &str,
    attrs: &Map<String, Value>,
    meta: &Meta,
    base: &str,
    computed: Option<Vec<Value>>,
) -> Value {
    render_owned(rt, id, attrs.clone(), meta, base, computed)
}

/// [`render`] of a stored form the caller no longer needs: its values move into the answer
/// instead of being copied, which is most of a list page's rendering.
pub fn render_owned(
    rt: ResourceType,
    id: &str,
    mut attrs: Map<String, Value>,
    meta: &Meta,
    base: &str,
    computed: Option<Vec<Value>>,
) -> Value {
    let base = base.trim_end_matches('/');
    // Sized once: growing the map entry by entry rehashed it several times per resource.
    let mut out = Map::with_capacity(attrs.len() + 4);

    let mut schemas = vec![Value::String(rt.schema().id.to_string())];
    for ext in rt.extensions() {
        if attrs.get(ext.id).is_some_and(Value::is_object) {
            schemas.push(Value::String(ext.id.to_string()));
        }
    }
    // Undeclared extensions follow the declared ones, in stored order.
    let undeclared: Vec<String> = attrs
        .iter()
        .filter(|(k, v)| v.is_object() && is_undeclared(k))
        .map(|(k, _)| k.clone())
        .collect();
    schemas.extend(undeclared.iter().map(|k| Value::String(k.clone())));
    out.insert("schemas".into(), Value::Array(schemas));
    out.insert("id".into(), Value::String(id.to_string()));
    if let Some(v) = attrs.remove("externalId") {
        out.insert("externalId".into(), v);
    }

    let computed_name = match rt {
        ResourceType::User => "groups",
        ResourceType::Group => "members",
    };
    let mut computed = computed;
    for attr in rt.schema().attributes {
        if attr.name == computed_name {
            if let Some(values) = computed.take() {
                out.insert(attr.name.to_string(), Value::Array(values));
            }
        } else if attr.mutability != Mutability::WriteOnly {
            if let Some(v) = attrs.remove(attr.name) {
                out.insert(attr.name.to_string(), v);
            }
        }
    }

    for ext in rt.extensions() {
        let Some(Value::Object(mut stored)) = attrs.remove(ext.id) else {
            continue;
        };
        let mut obj = Map::new();
        for attr in ext.attributes {
            let Some(mut v) = stored.remove(attr.name) else {
                continue;
            };
            if is_manager(Some(ext.id), attr) {
                if let Value::Object(m) = &mut v {
                    let id = m.get("value").and_then(Value::as_str).unwrap_or_default();
                    if !id.is_empty() {
                        let uri = format!("{base}/Users/{id}");
                        m.insert("$ref".into(), Value::String(uri));
                    }
                }
            }
            obj.insert(attr.name.to_string(), v);
        }
        out.insert(ext.id.to_string(), Value::Object(obj));
    }

    for urn in undeclared {
        if let Some(v) = attrs.remove(&urn) {
            out.insert(urn, v);
        }
    }

    let mut m = Map::with_capacity(5);
    m.insert("resourceType".into(), Value::String(rt.name().to_string()));
    m.insert("created".into(), Value::String(meta.created.clone()));
    m.insert(
        "lastModified".into(),
        Value::String(meta.last_modified.clone()),
    );
    let location = format!("{base}/{}/{id}", rt.endpoint());
    m.insert("location".into(), Value::String(location));
    m.insert("version".into(), Value::String(etag(meta.version)));
    out.insert("meta".into(), Value::Object(m));
    Value::Object(out)
}
