//! Purging an org: everything it held goes, another org keeps everything.

use scimd_core::ResourceType::{Group, User};

use crate::conformance;
use crate::resources::{team, user};

conformance!(a_purge_takes_one_org_and_leaves_the_others, |f| {
    user(&f.store, "u1", "ann@acme.com").unwrap();
    user(&f.store, "u2", "bo@acme.com").unwrap();
    team(&f.store, "g1", "Eng", &["u1", "u2"]);
    let purged = f.store.purge_org("acme").expect("purge");
    assert_eq!((purged.users, purged.teams, purged.memberships), (2, 1, 2));
    assert!(purged.events >= 5, "{purged:?}");
    assert_eq!(f.store.count("acme", User).unwrap(), 0);
    assert_eq!(f.store.count("acme", Group).unwrap(), 0);
    assert!(f.store.events("acme", None, 10).unwrap().events.is_empty());
    assert!(f.store.get("acme", User, "u1", false).unwrap().is_none());
});
