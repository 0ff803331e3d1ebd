//! Users and teams: create, read, uniqueness, lookups, versions, memberships on both sides
//! with the teams' current names, and a refusal inside a shared transaction that leaves
//! nothing behind.

use scimd::store::{
    Change, Lookup, Outcome, Source, Stamp, Store, StoreError, Target, Unknown, Walk,
};
use scimd_core::patch::MemberOp;
use scimd_core::ResourceType::{self, Group, User};
use serde_json::json;

use crate::backend::{attrs, NOW};
use crate::conformance;

fn stamp() -> Stamp<'static> {
    Stamp {
        now: NOW,
        unknown: Unknown::Skip,
    }
}

pub fn user(store: &Store, id: &str, name: &str) -> Result<Outcome, StoreError> {
    let a = attrs(json!({"userName": name, "externalId": format!("ext-{id}"),
        "emails": [{"value": format!("{id}@mail.acme.com"), "primary": true}], "active": true}));
    store.create(Target::new("acme", User, id), stamp(), a, vec![])
}

pub fn team(store: &Store, id: &str, name: &str, members: &[&str]) -> Outcome {
    let members = members.iter().map(|m| m.to_string()).collect();
    store
        .create(
            Target::new("acme", Group, id),
            stamp(),
            attrs(json!({"displayName": name})),
            members,
        )
        .expect("team")
}

/// The status of a SCIM refusal, or a panic for anything else.
pub fn refused<T: std::fmt::Debug>(r: Result<T, StoreError>) -> u16 {
    match r {
        Err(StoreError::Scim(e)) => e.status(),
        other => panic!("expected a SCIM refusal, got {other:?}"),
    }
}

fn ids(store: &Store, rt: ResourceType, source: Source) -> Vec<String> {
    let mut out = Vec::new();
    let walk = Walk {
        source: &source,
        after: None,
        skip: 0,
        with_links: false,
    };
    store
        .visit("acme", rt, walk, &mut |r| {
            out.push(r.id);
            Ok(true)
        })
        .expect("visit");
    out
}

fn link_ids(store: &Store, rt: ResourceType, id: &str) -> Vec<String> {
    let r = store
        .get("acme", rt, id, true)
        .expect("get")
        .expect("found");
    let mut ids: Vec<String> = r
        .links
        .unwrap_or_default()
        .into_iter()
        .map(|l| l.id)
        .collect();
    ids.sort();
    ids
}

conformance!(a_created_user_reads_back_with_version_1_and_counts, |f| {
    let out = user(&f.store, "u1", "ann@acme.com").expect("create");
    assert_eq!(out.resource.meta.version, 1);
    let got = f
        .store
        .get("acme", User, "u1", false)
        .unwrap()
        .expect("found");
    assert_eq!(got.attrs["userName"], "ann@acme.com");
    assert_eq!(f.store.count("acme", User).unwrap(), 1);
    assert!(
        f.store.get("other", User, "u1", false).unwrap().is_none(),
        "orgs are apart"
    );
});

conformance!(
    a_user_name_is_unique_ignoring_case_and_a_refusal_writes_nothing,
    |f| {
        user(&f.store, "u1", "ann@acme.com").expect("create");
        assert_eq!(refused(user(&f.store, "u2", "ANN@acme.com")), 409);
        assert!(f.store.get("acme", User, "u2", false).unwrap().is_none());
        assert_eq!(f.store.count("acme", User).unwrap(), 1);
        // Another org may hold the same name.
        let a = attrs(json!({"userName": "ann@acme.com"}));
        f.store
            .create(Target::new("other", User, "u1"), stamp(), a, vec![])
            .expect("other org");
    }
);

conformance!(
    lookups_find_by_user_name_external_id_email_and_team_name,
    |f| {
        user(&f.store, "u1", "ann@acme.com").unwrap();
        user(&f.store, "u2", "bo@acme.com").unwrap();
        team(&f.store, "g1", "Eng", &[]);
        let by = |rt, l| ids(&f.store, rt, Source::Lookup(l));
        assert_eq!(by(User, Lookup::UserName("ANN@ACME.COM".into())), ["u1"]);
        assert_eq!(by(User, Lookup::ExternalId("ext-u2".into())), ["u2"]);
        assert_eq!(by(User, Lookup::Email("u2@mail.acme.com".into())), ["u2"]);
        assert_eq!(by(Group, Lookup::DisplayName("eng".into())), ["g1"]);
        assert!(by(User, Lookup::UserName("nobody".into())).is_empty());
        assert_eq!(ids(&f.store, User, Source::All), ["u1", "u2"], "id order");
    }
);

conformance!(a_stale_version_is_refused_and_the_current_one_writes, |f| {
    user(&f.store, "u1", "ann@acme.com").unwrap();
    let rename = |name: &'static str| {
        move |cur: &scimd::store::Resource| {
            let mut attrs = cur.attrs.clone();
            attrs.insert("userName".into(), json!(name));
            Ok(Change {
                attrs,
                members: vec![],
            })
        }
    };
    let t = Target::new("acme", User, "u1");
    assert_eq!(
        refused(
            f.store
                .modify(t, Some("W/\"7\""), stamp(), rename("x@acme.com"))
        ),
        412
    );
    let out = f
        .store
        .modify(t, Some("W/\"1\""), stamp(), rename("ann.b@acme.com"))
        .expect("modify");
    assert_eq!(out.resource.meta.version, 2);
    // The old name is free again, the new one taken.
    user(&f.store, "u2", "ann@acme.com").expect("old name free");
    assert_eq!(refused(user(&f.store, "u3", "ann.b@acme.com")), 409);
    let missing = Target::new("acme", User, "nope");
    assert_eq!(
        refused(f.store.modify(missing, None, stamp(), rename("y"))),
        404
    );
});

conformance!(memberships_show_on_both_sides_and_end_with_a_delete, |f| {
    user(&f.store, "u1", "ann@acme.com").unwrap();
    user(&f.store, "u2", "bo@acme.com").unwrap();
    let out = team(&f.store, "g1", "Eng", &["u1", "u2", "ghost"]);
    assert_eq!(out.added, 2);
    assert_eq!(out.skipped, ["ghost"]);
    assert_eq!(link_ids(&f.store, Group, "g1"), ["u1", "u2"]);
    assert_eq!(link_ids(&f.store, User, "u1"), ["g1"]);
    // Members change by ops; a user's delete ends their memberships.
    let t = Target::new("acme", Group, "g1");
    f.store
        .modify(t, None, stamp(), |cur| {
            Ok(Change {
                attrs: cur.attrs.clone(),
                members: vec![MemberOp::Remove(vec!["u2".into()])],
            })
        })
        .unwrap();
    assert_eq!(link_ids(&f.store, Group, "g1"), ["u1"]);
    f.store
        .delete(Target::new("acme", User, "u1"), None, NOW)
        .unwrap();
    assert!(link_ids(&f.store, Group, "g1").is_empty());
    assert_eq!(f.store.count("acme", User).unwrap(), 1);
    // An unknown member is refused when the org says so.
    let strict = Stamp {
        now: NOW,
        unknown: Unknown::Reject,
    };
    let r = f.store.create(
        Target::new("acme", Group, "g2"),
        strict,
        attrs(json!({"displayName": "Ops"})),
        vec!["ghost".into()],
    );
    assert_eq!(refused(r), 400);
    assert!(f.store.get("acme", Group, "g2", false).unwrap().is_none());
});

conformance!(a_users_teams_carry_the_teams_current_names, |f| {
    user(&f.store, "u1", "ann@acme.com").unwrap();
    team(&f.store, "g1", "Eng", &["u1"]);
    team(&f.store, "g2", "Ops", &[]);
    let names = |store: &Store| -> Vec<(String, String)> {
        let got = store.get("acme", User, "u1", true).unwrap().expect("found");
        let links = got.links.unwrap_or_default().into_iter();
        links.map(|l| (l.id, l.display)).collect()
    };
    let pair = |g: &str, n: &str| (g.to_string(), n.to_string());
    assert_eq!(names(&f.store), [pair("g1", "Eng")]);
    // A rename and a join in one change; the name shows on every member, old and new.
    let t = Target::new("acme", Group, "g2");
    f.store
        .modify(t, None, stamp(), |_| {
            Ok(Change {
                attrs: attrs(json!({"displayName": "Operations"})),
                members: vec![MemberOp::Add(vec!["u1".into()])],
            })
        })
        .unwrap();
    assert_eq!(
        names(&f.store),
        [pair("g1", "Eng"), pair("g2", "Operations")]
    );
    let t = Target::new("acme", Group, "g1");
    f.store
        .modify(t, None, stamp(), |_| {
            Ok(Change {
                attrs: attrs(json!({"displayName": "Platform"})),
                members: vec![],
            })
        })
        .unwrap();
    assert_eq!(
        names(&f.store),
        [pair("g1", "Platform"), pair("g2", "Operations")]
    );
    f.store
        .delete(Target::new("acme", Group, "g1"), None, NOW)
        .unwrap();
    assert_eq!(names(&f.store), [pair("g2", "Operations")]);
});

conformance!(a_refusal_inside_a_shared_transaction_leaves_the_rest, |f| {
    // As a Bulk runs: one job, several operations, one of them refused.
    let (first, second, third) = f
        .store
        .write("acme", |tx| {
            let mk = |name: &str| attrs(json!({"userName": name}));
            let a = tx.create(
                Target::new("acme", User, "u1"),
                stamp(),
                mk("ann@acme.com"),
                vec![],
            );
            let b = tx.create(
                Target::new("acme", User, "u2"),
                stamp(),
                mk("ANN@acme.com"),
                vec![],
            );
            let c = tx.create(
                Target::new("acme", User, "u3"),
                stamp(),
                mk("cy@acme.com"),
                vec![],
            );
            Ok((a.is_ok(), b.is_err(), c.is_ok()))
        })
        .expect("write");
    assert!(first && second && third);
    assert_eq!(f.store.count("acme", User).unwrap(), 2);
    assert!(f.store.get("acme", User, "u2", false).unwrap().is_none());
});
