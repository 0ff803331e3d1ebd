//! Route parsing: every path shape the edge serves, and the ones it does not.

use super::*;

fn scim(org: &str, segments: &[&str]) -> Route {
    Route::Scim {
        org: org.to_string(),
        path: ScimPath::new(segments.iter().map(|s| s.to_string()).collect()),
    }
}

fn events(org: &str) -> Route {
    Route::Events {
        org: org.to_string(),
    }
}

fn snapshot(org: &str) -> Route {
    Route::Snapshot {
        org: org.to_string(),
    }
}

#[test]
fn scim_paths_name_their_org_and_segments() {
    for (path, want) in [
        ("/scim/v2/acme", scim("acme", &[])),
        ("/scim/v2/acme/", scim("acme", &[])),
        ("/scim/v2/acme/Users", scim("acme", &["Users"])),
        ("/scim/v2/acme/Users/", scim("acme", &["Users"])),
        ("/scim/v2/acme/Users/abc", scim("acme", &["Users", "abc"])),
        (
            "/scim/v2/acme/Users/.search",
            scim("acme", &["Users", ".search"]),
        ),
        ("/scim/V2/acme/Groups", scim("acme", &["Groups"])),
        // Empty segments are skipped, as a doubled slash is.
        ("//scim//v2//acme//Users", scim("acme", &["Users"])),
        ("/scim/v2/acme/a/b/c", scim("acme", &["a", "b", "c"])),
    ] {
        assert_eq!(Route::parse(path), want, "{path}");
    }
}

#[test]
fn segments_are_decoded_once_after_splitting() {
    assert_eq!(
        Route::parse("/scim/v2/a%20b/Users"),
        scim("a b", &["Users"])
    );
    // An encoded slash stays inside its segment.
    assert_eq!(
        Route::parse("/scim/v2/acme/Users/a%2Fb"),
        scim("acme", &["Users", "a/b"])
    );
    // A path is not a form: `+` and `&` are themselves; bytes that are not UTF-8 are replaced.
    assert_eq!(
        Route::parse("/scim/v2/acme/Users/a+b&c%26d"),
        scim("acme", &["Users", "a+b&c&d"])
    );
    assert_eq!(
        Route::parse("/scim/v2/a%FFb/Users"),
        scim("a\u{FFFD}b", &["Users"])
    );
    // Decoded once: `%2541` is `%41`, not `A`.
    assert_eq!(
        Route::parse("/scim/v2/acme/Users/%2541"),
        scim("acme", &["Users", "%41"])
    );
    assert_eq!(
        Route::parse("/scim/v2/%61cme/Users"),
        scim("acme", &["Users"])
    );
}

#[test]
fn endpoints_are_matched_in_any_case_and_segments_kept_as_written() {
    let Route::Scim { path, .. } = Route::parse("/scim/v2/acme/users/ABC") else {
        panic!("not a SCIM route");
    };
    assert_eq!(path.endpoint, Some(Endpoint::Users));
    assert_eq!(path.segments, ["users", "ABC"]);
    assert_eq!(path.rest(), ["ABC"]);
    assert_eq!(path.resource().map(|(rt, _)| rt), Some(ResourceType::User));
    for (segment, want) in [
        ("Groups", Some(Endpoint::Groups)),
        (
            "serviceconfiguration",
            Some(Endpoint::ServiceProviderConfig),
        ),
        (
            "SERVICEPROVIDERCONFIG",
            Some(Endpoint::ServiceProviderConfig),
        ),
        ("resourcetypes", Some(Endpoint::ResourceTypes)),
        ("schemas", Some(Endpoint::Schemas)),
        ("bulk", Some(Endpoint::Bulk)),
        (".SEARCH", Some(Endpoint::Search)),
        ("me", Some(Endpoint::Me)),
        ("Userz", None),
    ] {
        assert_eq!(Endpoint::parse(segment), want, "{segment}");
    }
    let Route::Scim { path, .. } = Route::parse("/scim/v2/acme") else {
        panic!("not a SCIM route");
    };
    assert_eq!((path.endpoint, path.rest()), (None, &[][..]));
}

#[test]
fn events_paths_name_their_org() {
    for (path, want) in [
        ("/events/v1/acme", events("acme")),
        ("/events/V1/acme/", events("acme")),
        ("/events/v1/a%20b", events("a b")),
        ("/events/v1/a%26b&c+d", events("a&b&c+d")),
        ("/events/v1/a%FFb", events("a\u{FFFD}b")),
        ("/events/v1/acme/snapshot", snapshot("acme")),
        ("/events/v1/acme/snapshot/", snapshot("acme")),
        ("/events/v1/a%2Fb/snapshot", snapshot("a/b")),
    ] {
        assert_eq!(Route::parse(path), want, "{path}");
    }
    for path in [
        "/events",
        "/events/",
        "/events/v1",
        "/events/v2/acme",
        "/events/v1/acme/extra",
        "/events/v1/acme/SNAPSHOT",
        "/events/v1/acme/snapshot/more",
    ] {
        assert_eq!(Route::parse(path), Route::NotFound(Api::Events), "{path}");
    }
}

#[test]
fn other_paths_are_not_found_or_health() {
    assert_eq!(Route::parse("/healthz"), Route::Health);
    for path in [
        "/",
        "",
        "/healthz/",
        "/eventsx/v1/acme",
        "/scim",
        "/scim/v2",
        "/scim/v2/",
        "/scim/v1/acme/Users",
        "/SCIM/v2/acme/Users",
        "/random/thing",
    ] {
        assert_eq!(Route::parse(path), Route::NotFound(Api::Scim), "{path}");
    }
}

#[test]
fn orgs_and_labels_come_from_the_route() {
    for (path, org, label) in [
        ("/scim/v2/acme/Users/123", Some("acme"), "Users"),
        ("/scim/v2/acme/groups", Some("acme"), "Groups"),
        (
            "/scim/v2/acme/serviceConfiguration",
            Some("acme"),
            "ServiceProviderConfig",
        ),
        ("/scim/v2/acme/.search", Some("acme"), ".search"),
        ("/scim/v2/acme/Me", Some("acme"), "Me"),
        ("/scim/v2/acme/Nonsense-abc", Some("acme"), "other"),
        ("/scim/v2/acme", Some("acme"), "root"),
        ("/events/v1/acme", Some("acme"), "events"),
        ("/events/v1/acme/snapshot", Some("acme"), "events"),
        ("/events/v1/acme/nothing", None, "events"),
        ("/healthz", None, "healthz"),
        ("/random/thing", None, "other"),
    ] {
        let route = Route::parse(path);
        assert_eq!((route.org(), route.label()), (org, label), "{path}");
    }
}
