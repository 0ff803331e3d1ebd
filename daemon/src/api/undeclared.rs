//! The once-per-(org, URN) info log of extensions stored undeclared: an operator who maps a
//! custom attribute in the IdP learns that scimd keeps it as sent but cannot type-check, filter
//! or sort it, and which config table would declare it.
//!
//! Logged after a write succeeded, so only an authenticated org's data is logged. The set of
//! (org, URN) pairs already logged is capped, so a tenant sending a new URN with every request
//! cannot grow memory: past the cap, new pairs go unlogged.

use std::collections::HashSet;
use std::sync::{Mutex, OnceLock};

use scimd_core::resource::undeclared::is_undeclared;
use scimd_core::schema::declared::MAX_URN_LEN;
use scimd_core::schema::Declared;
use scimd_core::ResourceType;
use serde_json::{Map, Value};

/// The most (org, URN) pairs remembered per process; a real deployment has a handful.
const MAX_NOTED: usize = 1000;

fn noted() -> &'static Mutex<HashSet<(String, String)>> {
    static NOTED: OnceLock<Mutex<HashSet<(String, String)>>> = OnceLock::new();
    NOTED.get_or_init(|| Mutex::new(HashSet::new()))
}

/// Logs, once per (org, URN) per process, each undeclared extension the stored form `attrs` of
/// a resource of type `rt` holds.
pub(super) fn note(org: &str, rt: ResourceType, attrs: &Map<String, Value>, declared: &Declared) {
    for urn in attrs.keys() {
        // A URN too long to declare gets no advice on declaring it (and no memory here).
        if urn.len() > MAX_URN_LEN || !is_undeclared(urn) || declared.find(rt, urn).is_some() {
            continue;
        }
        if first_time(org, urn) {
            let table = format!("[orgs.{org}.extensions.\"{urn}\"]");
            tracing::info!(
                org,
                urn,
                resource = rt.name(),
                declare = %table,
                "an extension no declaration names was stored undeclared: kept as sent, \
                 returned and carried by events, but not type-checked, filterable or sortable; \
                 declare it with a {table} table (resource and attributes) to make it so"
            );
        }
    }
}

/// Whether this (org, URN) pair, URN case-insensitively, has not been logged yet, remembering
/// it unless the set is full.
fn first_time(org: &str, urn: &str) -> bool {
    let key = (org.to_string(), urn.to_ascii_lowercase());
    // A poisoned lock only means a panic elsewhere while holding it; the set is still sound.
    let mut set = noted().lock().unwrap_or_else(|e| e.into_inner());
    if set.len() >= MAX_NOTED || set.contains(&key) {
        return false;
    }
    set.insert(key);
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_pair_is_noted_once_and_the_set_is_capped() {
        assert!(first_time("org-a-test", "urn:x:y:1.0"));
        assert!(!first_time("org-a-test", "URN:X:Y:1.0"));
        assert!(first_time("org-b-test", "urn:x:y:1.0"));
        for i in 0..MAX_NOTED {
            first_time("org-c-test", &format!("urn:x:{i}"));
        }
        assert!(!first_time("org-d-test", "urn:x:never"));
        assert!(noted().lock().map(|s| s.len()).unwrap_or(0) <= MAX_NOTED);
    }
}
