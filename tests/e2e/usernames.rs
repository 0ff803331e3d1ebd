//! The per-org username policy: `usernames = "immutable"` (the default) refuses a changed
//! userName with 400 mutability; `"mutable"` renames, keeps names unique case-insensitively,
//! and moves the userName index with the name.

use serde_json::json;

use crate::harness::{assert_error, filter_q, Daemon};

#[test]
fn immutable_usernames_refuse_renames_and_keep_case_echoes() {
    let d = Daemon::start(&["acme"]);
    let c = d.client("acme");
    let ann = c.create_user("ann@acme.com");
    let path = format!("/Users/{ann}");
    let r = c.patch_ops(
        &path,
        json!([{"op": "replace", "path": "userName", "value": "anna@acme.com"}]),
    );
    assert_error(&r, 400, Some("mutability"));
    let r = c.put(&path, &json!({"userName": "anna@acme.com"}));
    assert_error(&r, 400, Some("mutability"));
    // A case-only change is an echo: accepted, the stored spelling kept.
    let r = c.put(&path, &json!({"userName": "ANN@acme.com"}));
    r.expect(200);
    assert_eq!(r.body["userName"], "ann@acme.com");
}

#[test]
fn mutable_usernames_rename_by_put_and_patch_and_stay_unique() {
    let d = Daemon::start_with("", &[("acme", "usernames = \"mutable\"")]);
    let c = d.client("acme");
    let ann = c.create_user("ann@acme.com");
    let bob = c.create_user("bob@acme.com");
    let path = format!("/Users/{ann}");

    let r = c.patch_ops(
        &path,
        json!([{"op": "replace", "path": "userName", "value": "anna@acme.com"}]),
    );
    r.expect(200);
    assert_eq!(r.body["userName"], "anna@acme.com");
    // The index follows the name.
    let by = |name: &str| {
        c.get(&format!(
            "/Users{}",
            filter_q(&format!("userName eq \"{name}\""))
        ))
    };
    assert_eq!(by("anna@acme.com").ids(), vec![ann.clone()]);
    assert_eq!(by("ann@acme.com").total(), 0);
    // The old name is free again.
    c.create_user("ann@acme.com");

    // A case-only change is a rename too.
    let r = c.put(&path, &json!({"userName": "Anna@Acme.com"}));
    r.expect(200);
    assert_eq!(r.body["userName"], "Anna@Acme.com");
    assert_eq!(by("anna@acme.com").ids(), vec![ann.clone()]);

    // Onto another user's name, in any case: 409, nothing changed.
    let r = c.patch_ops(
        &path,
        json!([{"op": "replace", "path": "userName", "value": "BOB@acme.com"}]),
    );
    assert_error(&r, 409, Some("uniqueness"));
    let r = c.put(&path, &json!({"userName": "bob@ACME.com"}));
    assert_error(&r, 409, Some("uniqueness"));
    assert_eq!(c.get(&path).body["userName"], "Anna@Acme.com");
    assert_eq!(by("bob@acme.com").ids(), vec![bob]);
}

#[test]
fn the_policy_applies_on_reload() {
    let d = Daemon::start(&["acme"]);
    let c = d.client("acme");
    let ann = c.create_user("ann@acme.com");
    let path = format!("/Users/{ann}");
    let rename = |to: &str| {
        c.patch_ops(
            &path,
            json!([{"op": "replace", "path": "userName", "value": to}]),
        )
    };
    assert_error(&rename("anna@acme.com"), 400, Some("mutability"));
    // The org is the file's last table, so an appended line lands in it.
    let mut text = std::fs::read_to_string(&d.config).expect("read config");
    text.push_str("usernames = \"mutable\"\n");
    std::fs::write(&d.config, text).expect("write config");
    crate::harness::eventually(
        "the mutable policy applies",
        std::time::Duration::from_secs(20),
        || (rename("anna@acme.com").status == 200).then_some(()),
    );
    assert_eq!(c.get(&path).body["userName"], "anna@acme.com");
}
