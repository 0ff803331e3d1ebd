//! Human summaries of writes for the activity log ("deactivated", "renamed Eng to Platform").

use scimd_core::resource::is_active as active;
use scimd_core::ResourceType;
use serde_json::{Map, Value};

use crate::store::Outcome;

fn plural(n: usize, what: &str) -> String {
    if n == 1 {
        format!("1 {what}")
    } else {
        format!("{n} {what}s")
    }
}

fn members_part(out: &Outcome) -> Vec<String> {
    let mut parts = Vec::new();
    if out.added > 0 {
        parts.push(format!("added {}", plural(out.added, "member")));
    }
    if out.removed > 0 {
        parts.push(format!("removed {}", out.removed));
    }
    if !out.skipped.is_empty() {
        parts.push(format!(
            "skipped {}",
            plural(out.skipped.len(), "unknown member id")
        ));
    }
    parts
}

/// The summary of a create.
pub fn created(rt: ResourceType, out: &Outcome) -> String {
    let mut parts = vec!["created".to_string()];
    if rt == ResourceType::Group {
        parts.extend(members_part(out));
    }
    parts.join(", ")
}

fn text<'a>(attrs: &'a Map<String, Value>, key: &str) -> &'a str {
    attrs.get(key).and_then(Value::as_str).unwrap_or_default()
}

/// The summary of a PUT or PATCH.
pub fn changed(rt: ResourceType, out: &Outcome) -> String {
    let mut parts = Vec::new();
    let new = &out.resource.attrs;
    if let Some(old) = &out.previous {
        match rt {
            ResourceType::User => {
                match (active(old), active(new)) {
                    (true, false) => parts.push("deactivated".to_string()),
                    (false, true) => parts.push("reactivated".to_string()),
                    _ => {}
                }
                let (before, after) = (text(old, "userName"), text(new, "userName"));
                if before != after {
                    parts.push(format!("renamed {before} to {after}"));
                }
                let mut rest = old.clone();
                let mut now = new.clone();
                for key in ["active", "userName"] {
                    rest.remove(key);
                    now.remove(key);
                }
                if rest != now {
                    parts.push("updated".into());
                }
            }
            ResourceType::Group => {
                let (before, after) = (text(old, "displayName"), text(new, "displayName"));
                if before != after {
                    parts.push(format!("renamed {before} to {after}"));
                } else {
                    parts.push("updated".into());
                }
            }
        }
    }
    parts.extend(members_part(out));
    if parts.is_empty() {
        "unchanged".into()
    } else {
        parts.join(", ")
    }
}
