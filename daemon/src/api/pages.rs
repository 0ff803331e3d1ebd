//! Where recent `startIndex` pages ended, so that the page right after one continues from the
//! last id it returned (a keyset step, O(page)) instead of counting past every earlier
//! resource. An IdP import walks `/Users` by `startIndex` page after page; without this the
//! whole walk is quadratic in the org's size.
//!
//! Continuing after the last id also keeps a walk whole while resources are created and
//! deleted under it: every resource that exists throughout is returned exactly once, which
//! counting positions cannot promise (a delete before the position would skip one).

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use scimd_core::ResourceType;

/// Page ends kept per org: a few concurrent walks (an import, a reconcile) fit.
const PER_ORG: usize = 32;

/// The recent page ends of unfiltered, unsorted listings.
#[derive(Debug, Default)]
pub struct PageEnds {
    orgs: Mutex<HashMap<String, VecDeque<End>>>,
}

#[derive(Debug, Clone)]
struct End {
    rt: ResourceType,
    /// How many resources came before the next page (its startIndex - 1).
    position: usize,
    last_id: String,
}

impl PageEnds {
    /// The id a page that starts after `position` resources continues after, when a recent
    /// page ended there.
    pub fn after(&self, org: &str, rt: ResourceType, position: usize) -> Option<String> {
        let orgs = self.orgs.lock().ok()?;
        orgs.get(org)?
            .iter()
            .rev()
            .find(|e| e.rt == rt && e.position == position)
            .map(|e| e.last_id.clone())
    }

    /// Notes that a page ended with `last_id` after `position` resources. Each org has its
    /// own bounded list, so one org's walks never push out another's.
    pub fn ended(&self, org: &str, rt: ResourceType, position: usize, last_id: &str) {
        let Ok(mut orgs) = self.orgs.lock() else {
            return;
        };
        let ends = orgs.entry(org.to_string()).or_default();
        ends.retain(|e| !(e.rt == rt && e.position == position));
        if ends.len() == PER_ORG {
            ends.pop_front();
        }
        ends.push_back(End {
            rt,
            position,
            last_id: last_id.to_string(),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembers_where_pages_ended_per_org_and_type() {
        let p = PageEnds::default();
        p.ended("acme", ResourceType::User, 100, "u100");
        assert_eq!(
            p.after("acme", ResourceType::User, 100).as_deref(),
            Some("u100")
        );
        assert_eq!(p.after("acme", ResourceType::Group, 100), None);
        assert_eq!(p.after("globex", ResourceType::User, 100), None);
        assert_eq!(p.after("acme", ResourceType::User, 200), None);
        // A newer end at the same position replaces the older.
        p.ended("acme", ResourceType::User, 100, "u101");
        assert_eq!(
            p.after("acme", ResourceType::User, 100).as_deref(),
            Some("u101")
        );
    }

    #[test]
    fn each_org_keeps_a_bounded_list() {
        let p = PageEnds::default();
        p.ended("quiet", ResourceType::User, 1, "q");
        for i in 0..1000 {
            p.ended("busy", ResourceType::User, i, "b");
        }
        assert_eq!(p.orgs.lock().unwrap()["busy"].len(), PER_ORG);
        assert_eq!(
            p.after("quiet", ResourceType::User, 1).as_deref(),
            Some("q")
        );
        assert_eq!(
            p.after("busy", ResourceType::User, 999).as_deref(),
            Some("b")
        );
        assert_eq!(p.after("busy", ResourceType::User, 0), None);
    }
}
