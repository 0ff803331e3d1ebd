//! Tests of normalizing, checking and rendering resources.

use super::*;
use crate::schema::{GROUP_SCHEMA, USER_SCHEMA};
use crate::ScimType;
use serde_json::json;

const ENT: &str = ENTERPRISE_SCHEMA;

fn limits() -> Limits {
    Limits::default()
}

fn nested_junk(depth: usize) -> Value {
    let text = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
    serde_json::from_str(&text).unwrap_or(Value::Null)
}

/// (what, type, body, stored attrs in order, member ids)
type OkRow = (
    &'static str,
    ResourceType,
    Value,
    Value,
    Option<Vec<&'static str>>,
);

fn ok_rows() -> Vec<OkRow> {
    let u = ResourceType::User;
    let g = ResourceType::Group;
    vec![
        (
            "okta create with password and groups:[]",
            u,
            json!({"schemas":[USER_SCHEMA],"userName":"test.user@okta.local",
                "name":{"givenName":"Test","familyName":"User"},
                "emails":[{"primary":true,"value":"test.user@okta.local","type":"work"}],
                "displayName":"Test User","locale":"en-US","externalId":"00ujl29u0le5T6Aj10h7",
                "groups":[],"password":"1mz050nq","active":true}),
            json!({"externalId":"00ujl29u0le5T6Aj10h7","userName":"test.user@okta.local",
                "name":{"familyName":"User","givenName":"Test"},"displayName":"Test User",
                "locale":"en-US","active":true,
                "emails":[{"value":"test.user@okta.local","type":"work","primary":true}]}),
            None,
        ),
        (
            "okta PUT echo with id, meta, groups and an empty middleName",
            u,
            json!({"schemas":[USER_SCHEMA],"id":"0b6c","userName":"test.user@okta.local",
                "name":{"givenName":"Test","middleName":"","familyName":"User"},
                "emails":[{"primary":true,"value":"test.user@okta.local","type":"work",
                    "display":"test.user@okta.local"}],
                "displayName":"Test User","active":false,
                "groups":[{"value":"g1","display":"Eng"}],
                "meta":{"resourceType":"User","created":"2024-01-01T00:00:00Z",
                    "lastModified":"2024-01-01T00:00:00Z","version":"W/\"3\""}}),
            json!({"userName":"test.user@okta.local",
                "name":{"familyName":"User","givenName":"Test","middleName":""},
                "displayName":"Test User","active":false,
                "emails":[{"value":"test.user@okta.local","display":"test.user@okta.local",
                    "type":"work","primary":true}]}),
            None,
        ),
        (
            "entra create with the enterprise URN, meta and roles:[]",
            u,
            json!({"schemas":[USER_SCHEMA, ENT],
                "externalId":"0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef","userName":"Test_User_ab6490ee",
                "active":true,
                "emails":[{"primary":true,"type":"work","value":"Test_User_ab6490ee@testuser.com"}],
                "meta":{"resourceType":"User"},
                "name":{"formatted":"givenName familyName","familyName":"familyName",
                    "givenName":"givenName"},
                "roles":[]}),
            json!({"externalId":"0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef",
                "userName":"Test_User_ab6490ee",
                "name":{"formatted":"givenName familyName","familyName":"familyName",
                    "givenName":"givenName"},
                "active":true,
                "emails":[{"value":"Test_User_ab6490ee@testuser.com","type":"work",
                    "primary":true}]}),
            None,
        ),
        (
            "microsoft suite: active as the string True, null sub-attributes",
            u,
            json!({"userName":"emp1","active":"True",
                "addresses":[
                    {"country":"Bermuda","locality":"West Mercedes","type":"work","primary":false},
                    {"country":null,"formatted":"18522 Lisa Unions","locality":null,
                        "type":"other","primary":false}],
                "meta":{"created":"2019-09-18T18:15:26.5788954+00:00","resourceType":"User"},
                "name":{"formatted":"Daniel Mcgee","familyName":"Employee","givenName":"Darl",
                    "honorificPrefix":null,"honorificSuffix":null},
                "phoneNumbers":[{"type":"fax","primary":false,"value":"312-320-0500"}],
                "preferredLanguage":"xh","roles":[],"title":"Site engineer",
                "externalId":"22fbc523","schemas":[USER_SCHEMA]}),
            json!({"externalId":"22fbc523","userName":"emp1",
                "name":{"formatted":"Daniel Mcgee","familyName":"Employee","givenName":"Darl"},
                "title":"Site engineer","preferredLanguage":"xh","active":true,
                "phoneNumbers":[{"value":"312-320-0500","type":"fax","primary":false}],
                "addresses":[
                    {"locality":"West Mercedes","country":"Bermuda","type":"work","primary":false},
                    {"formatted":"18522 Lisa Unions","type":"other","primary":false}]}),
            None,
        ),
        (
            "entra string booleans in any case",
            u,
            json!({"userName":"a","active":"fALSE","emails":[{"value":"a@x","primary":"TRUE"}]}),
            json!({"userName":"a","active":false,"emails":[{"value":"a@x","primary":true}]}),
            None,
        ),
        (
            "microsoft suite: misspelled attribute and echoed id are dropped",
            u,
            json!({"id":"u1","userName":"OMalley","active":false,
                "adreses":[{"country":"Germany"}],"displayName":"Kimberly Baker"}),
            json!({"userName":"OMalley","displayName":"Kimberly Baker","active":false}),
            None,
        ),
        (
            "onelogin template with a core:1.0 schema and an unknown URN object",
            u,
            json!({"schemas":["urn:scim:schemas:core:1.0"],"userName":"jdoe@acme.com",
                "name":{"formatted":"J Doe"},"urn:scim:schemas:core:1.0":{"userName":"other"},
                "urn:example:custom:1.0:User:badge":"7"}),
            json!({"userName":"jdoe@acme.com","name":{"formatted":"J Doe"}}),
            None,
        ),
        (
            "microsoft suite enterprise user: capitalized sub-attributes",
            u,
            json!({"userName":"UserName222","schemas":[ENT, USER_SCHEMA],
                "emails":[{"Primary":true,"type":"work","value":"testing@bob2.com"},
                    {"Primary":false,"type":"home","value":"testinghome@bob3.com"}],
                ENT: {"Department":"bob","Manager":{"Value":"SuzzyQ"}}}),
            json!({"userName":"UserName222",
                "emails":[{"value":"testing@bob2.com","type":"work","primary":true},
                    {"value":"testinghome@bob3.com","type":"home","primary":false}],
                ENT: {"department":"bob","manager":{"value":"SuzzyQ"}}}),
            None,
        ),
        (
            "URN-qualified extension keys, manager as a bare id, lowercase URN object",
            u,
            json!({"userName":"a",
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:user:employeeNumber":"Aklq",
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager":"2c2f6fb8",
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:user":{"costCenter":"4130"}}),
            json!({"userName":"a",
                ENT: {"employeeNumber":"Aklq","costCenter":"4130","manager":{"value":"2c2f6fb8"}}}),
            None,
        ),
        (
            "manager object keeps only value",
            u,
            json!({"userName":"a", ENT: {"manager":{"value":"m1","$ref":"http://x/Users/m1",
                "displayName":"Boss"}}}),
            json!({"userName":"a", ENT: {"manager":{"value":"m1"}}}),
            None,
        ),
        (
            "dotted keys merge into the complex attribute",
            u,
            json!({"userName":"a","name":{"familyName":"Unua"},"name.givenName":"Kkom",
                "NAME.middleName":"M","emails.value":"ignored@x"}),
            json!({"userName":"a","name":{"familyName":"Unua","givenName":"Kkom",
                "middleName":"M"}}),
            None,
        ),
        (
            "case-insensitive keys and the core URN prefix",
            u,
            json!({"USERNAME":"Bob","Name":{"GivenName":"Bob"},
                "urn:ietf:params:scim:schemas:core:2.0:User:displayName":"Bobby"}),
            json!({"userName":"Bob","name":{"givenName":"Bob"},"displayName":"Bobby"}),
            None,
        ),
        (
            "numbers become strings, a single object becomes an array",
            u,
            json!({"userName":12345,"externalId":42,"emails":{"value":"a@x"},
                ENT: {"employeeNumber":7}}),
            json!({"externalId":"42","userName":"12345","emails":[{"value":"a@x"}],
                ENT: {"employeeNumber":"7"}}),
            None,
        ),
        (
            "nulls, empty objects and empty arrays are dropped, empty strings kept",
            u,
            json!({"userName":"a","nickName":null,"name":{},"emails":[],"title":"",
                "phoneNumbers":[null,{}], ENT: {}}),
            json!({"userName":"a","title":""}),
            None,
        ),
        (
            "exact duplicate entries are deduplicated",
            u,
            json!({"userName":"a","emails":[{"value":"a@x","type":"work"},
                {"type":"work","value":"a@x"},{"value":"a@x","type":"home"}]}),
            json!({"userName":"a","emails":[{"value":"a@x","type":"work"},
                {"value":"a@x","type":"home"}]}),
            None,
        ),
        (
            "deeply nested junk under unknown keys is never walked",
            u,
            json!({"userName":"a","junk":nested_junk(120),
                "name":{"givenName":"G","nope":nested_junk(120)}}),
            json!({"userName":"a","name":{"givenName":"G"}}),
            None,
        ),
        (
            "okta group push with members:[]",
            g,
            json!({"schemas":[GROUP_SCHEMA],"displayName":"Test SCIMv2","members":[]}),
            json!({"displayName":"Test SCIMv2"}),
            Some(vec![]),
        ),
        (
            "entra group with a foreign schema URN and meta, no members",
            g,
            json!({"schemas":[GROUP_SCHEMA,
                "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"],
                "externalId":"8aa1","displayName":"displayName","meta":{"resourceType":"Group"}}),
            json!({"externalId":"8aa1","displayName":"displayName"}),
            None,
        ),
        (
            "member objects with display, $ref null and duplicates",
            g,
            json!({"displayName":"G","members":[{"value":"u3","display":"VP"},
                {"$ref":null,"value":"u4"},{"Value":"u3"}]}),
            json!({"displayName":"G"}),
            Some(vec!["u3", "u4"]),
        ),
        (
            "bare string members (microsoft suite) and a lone member object",
            g,
            json!({"displayName":"G","Members":["string id 1",{"value":"u2"},"string id 1"]}),
            json!({"displayName":"G"}),
            Some(vec!["string id 1", "u2"]),
        ),
        (
            "a single member object",
            g,
            json!({"displayName":"G","members":{"value":"u1"}}),
            json!({"displayName":"G"}),
            Some(vec!["u1"]),
        ),
        (
            "members: null clears",
            g,
            json!({"displayName":"G","members":null}),
            json!({"displayName":"G"}),
            Some(vec![]),
        ),
        (
            "authentik group replace echoes schemas and id",
            g,
            json!({"schemas":[GROUP_SCHEMA],"id":"g1","externalId":"ak-1","displayName":"Ops",
                "groups":[{"value":"x"}]}),
            json!({"externalId":"ak-1","displayName":"Ops"}),
            None,
        ),
        (
            "team name of exactly 100 characters",
            g,
            json!({"displayName":"x".repeat(100)}),
            json!({"displayName":"x".repeat(100)}),
            None,
        ),
        (
            "team name of 100 multibyte characters",
            g,
            json!({"displayName":"é".repeat(100)}),
            json!({"displayName":"é".repeat(100)}),
            None,
        ),
    ]
}

#[test]
fn normalizes_what_identity_providers_send() {
    for (what, rt, body, want, members) in ok_rows() {
        let got = normalize(rt, &body, &limits()).unwrap_or_else(|e| panic!("{what}: {e}"));
        assert_eq!(
            Value::Object(got.attrs.clone()).to_string(),
            want.to_string(),
            "{what}"
        );
        let want_members = members.map(|m| m.into_iter().map(String::from).collect());
        assert_eq!(got.members, want_members, "{what}");

        let again = normalize(rt, &Value::Object(got.attrs.clone()), &limits())
            .unwrap_or_else(|e| panic!("{what}, second pass: {e}"));
        assert_eq!(
            Value::Object(again.attrs).to_string(),
            Value::Object(got.attrs).to_string(),
            "{what}: not idempotent"
        );
        assert_eq!(again.members, None, "{what}");
    }
}

#[test]
fn rejects_bad_bodies() {
    let u = ResourceType::User;
    let g = ResourceType::Group;
    let rows: Vec<(ResourceType, Value, ScimType, &str)> = vec![
        (u, json!([]), ScimType::InvalidSyntax, "JSON object"),
        (u, json!("userName"), ScimType::InvalidSyntax, "JSON object"),
        (u, Value::Null, ScimType::InvalidSyntax, "JSON object"),
        (
            u,
            json!({"active":true}),
            ScimType::InvalidValue,
            "Attribute 'userName' is required",
        ),
        (
            u,
            json!({"userName":""}),
            ScimType::InvalidValue,
            "Attribute 'userName' is required",
        ),
        (
            u,
            json!({"userName":" \t"}),
            ScimType::InvalidValue,
            "'userName' is required",
        ),
        (
            u,
            json!({"userName":null}),
            ScimType::InvalidValue,
            "'userName' is required",
        ),
        (
            u,
            json!({"userName":{"a":1}}),
            ScimType::InvalidValue,
            "'userName' must be a string",
        ),
        (
            u,
            json!({"userName":nested_junk(120)}),
            ScimType::InvalidValue,
            "'userName' must be",
        ),
        (
            u,
            json!({"userName":"a","active":"yes"}),
            ScimType::InvalidValue,
            "'active' must be a boolean",
        ),
        (
            u,
            json!({"userName":"a","active":1}),
            ScimType::InvalidValue,
            "'active' must be a boolean",
        ),
        (
            u,
            json!({"userName":"a","name":"John"}),
            ScimType::InvalidValue,
            "'name' must be an object",
        ),
        (
            u,
            json!({"userName":"a","name":{"givenName":["a"]}}),
            ScimType::InvalidValue,
            "'name.givenName' must be a string",
        ),
        (
            u,
            json!({"userName":"a","name":{"givenName":nested_junk(120)}}),
            ScimType::InvalidValue,
            "'name.givenName'",
        ),
        (
            u,
            json!({"userName":"a","emails":["a@x"]}),
            ScimType::InvalidValue,
            "'emails' must be an object",
        ),
        (
            u,
            json!({"userName":"a","emails":[{"value":"a@x","primary":"maybe"}]}),
            ScimType::InvalidValue,
            "'emails.primary' must be a boolean",
        ),
        (
            u,
            json!({"userName":"a", ENT: "x"}),
            ScimType::InvalidValue,
            "enterprise:2.0:User' must be an object",
        ),
        (
            u,
            json!({"userName":"a", ENT: {"manager":5}}),
            ScimType::InvalidValue,
            "enterprise:2.0:User:manager' must be an object",
        ),
        (
            u,
            json!({"userName":"a", ENT: {"employeeNumber":{}}}),
            ScimType::InvalidValue,
            "enterprise:2.0:User:employeeNumber' must be a string",
        ),
        (
            u,
            json!({"userName":"a", ENT: {"manager":{"value":[1]}}}),
            ScimType::InvalidValue,
            "manager.value' must be a string",
        ),
        (
            u,
            emails(101),
            ScimType::InvalidValue,
            "emails has 101 values; at most 100 are allowed",
        ),
        (
            g,
            json!({"members":[]}),
            ScimType::InvalidValue,
            "Attribute 'displayName' is required",
        ),
        (
            g,
            json!({"displayName":"  "}),
            ScimType::InvalidValue,
            "Attribute 'displayName' is required",
        ),
        (
            g,
            json!({"displayName":"x".repeat(101)}),
            ScimType::InvalidValue,
            "Display name is too long. It must be 100 characters or less",
        ),
        (
            g,
            json!({"displayName":"日".repeat(101)}),
            ScimType::InvalidValue,
            "Display name is too long",
        ),
        (
            g,
            json!({"displayName":"G","members":[5]}),
            ScimType::InvalidValue,
            "member",
        ),
        (
            g,
            json!({"displayName":"G","members":[{"display":"x"}]}),
            ScimType::InvalidValue,
            "string 'value'",
        ),
        (
            g,
            json!({"displayName":"G","members":[{"value":5}]}),
            ScimType::InvalidValue,
            "string 'value'",
        ),
        (
            g,
            json!({"displayName":"G","members":[["u1"]]}),
            ScimType::InvalidValue,
            "member",
        ),
        (
            g,
            json!({"displayName":"G","members":true}),
            ScimType::InvalidValue,
            "member",
        ),
    ];
    for (rt, body, scim_type, detail) in rows {
        match normalize(rt, &body, &limits()) {
            Err(ScimError::BadRequest {
                scim_type: t,
                detail: d,
            }) => {
                assert_eq!(t, scim_type, "{body}: {d}");
                assert!(d.contains(detail), "{body}: got {d:?}, want {detail:?}");
            }
            other => panic!("{body}: {other:?}"),
        }
    }
}

#[test]
fn team_name_limit_is_configurable() {
    let short = Limits {
        team_name_max: 40,
        ..Limits::default()
    };
    let body = json!({"displayName":"x".repeat(41)});
    let err = normalize(ResourceType::Group, &body, &short)
        .err()
        .map(|e| e.to_string());
    assert_eq!(
        err.as_deref(),
        Some("Display name is too long. It must be 40 characters or less")
    );
}

fn emails(n: usize) -> Value {
    let emails: Vec<Value> = (0..n)
        .map(|i| json!({"value": format!("u{i}@example.org")}))
        .collect();
    json!({"userName": "ann", "emails": emails})
}

#[test]
fn multi_valued_attributes_are_capped() {
    let detail = |r: Result<Normalized, ScimError>| match r {
        Err(ScimError::BadRequest {
            scim_type: ScimType::InvalidValue,
            detail,
        }) => Some(detail),
        _ => None,
    };
    let u = ResourceType::User;
    let at_limit = normalize(u, &emails(100), &limits());
    assert_eq!(
        at_limit.map(|n| n.attrs["emails"].as_array().map(Vec::len)),
        Ok(Some(100))
    );
    assert_eq!(
        detail(normalize(u, &emails(101), &limits())).as_deref(),
        Some("emails has 101 values; at most 100 are allowed")
    );
    // Counted as sent: duplicates and nulls that normalisation would drop count too.
    let mut body = emails(100);
    if let Some(a) = body["emails"].as_array_mut() {
        a.push(Value::Null);
    }
    assert!(detail(normalize(u, &body, &limits())).is_some());
    let roles: Vec<Value> = (0..3).map(|i| json!({"value": format!("r{i}")})).collect();
    let small = Limits {
        max_values: 2,
        ..Limits::default()
    };
    assert_eq!(
        detail(normalize(
            u,
            &json!({"userName": "a", "roles": roles}),
            &small
        ))
        .as_deref(),
        Some("roles has 3 values; at most 2 are allowed")
    );
    // A lone object stands for one value.
    let one = json!({"userName": "a", "phoneNumbers": {"value": "1"}});
    assert!(normalize(
        u,
        &one,
        &Limits {
            max_values: 1,
            ..Limits::default()
        }
    )
    .is_ok());
    // Computed `groups` are read-only and skipped before any counting.
    let groups: Vec<Value> = (0..500)
        .map(|i| json!({"value": format!("g{i}")}))
        .collect();
    assert!(normalize(u, &json!({"userName": "a", "groups": groups}), &limits()).is_ok());
}

#[test]
fn team_members_are_not_capped() {
    let ids: Vec<String> = (0..1000).map(|i| format!("u{i}")).collect();
    let body = json!({"displayName": "Big", "members": ids});
    let n = normalize(ResourceType::Group, &body, &limits());
    assert_eq!(n.map(|n| n.members.map(|m| m.len())), Ok(Some(1000)));
}

/// The body that took 19.8 s before values were deduplicated linearly: now refused by
/// the cap before any value is looked at.
#[test]
fn huge_email_list_is_refused_quickly() {
    let err = normalize(ResourceType::User, &emails(36_000), &limits()).err();
    assert_eq!(
        err.map(|e| e.to_string()).as_deref(),
        Some("emails has 36000 values; at most 100 are allowed")
    );
    let lifted = Limits {
        max_values: usize::MAX,
        ..Limits::default()
    };
    let n = normalize(ResourceType::User, &emails(36_000), &lifted);
    assert_eq!(
        n.map(|n| n.attrs["emails"].as_array().map(Vec::len)),
        Ok(Some(36_000))
    );
}

#[test]
fn immutable_user_name() {
    let attrs = |v: Value| v.as_object().cloned().unwrap_or_default();
    let old = attrs(json!({"userName":"Ann@Acme.com","active":true}));
    let rows: Vec<(ResourceType, Value, Result<Value, ScimType>)> = vec![
        (
            ResourceType::User,
            json!({"userName":"Ann@Acme.com","active":false}),
            Ok(json!({"userName":"Ann@Acme.com","active":false})),
        ),
        (
            ResourceType::User,
            json!({"userName":"ann@acme.com","active":false}),
            Ok(json!({"userName":"Ann@Acme.com","active":false})),
        ),
        (
            ResourceType::User,
            json!({"userName":"ANN@ACME.COM"}),
            Ok(json!({"userName":"Ann@Acme.com"})),
        ),
        (
            ResourceType::User,
            json!({"userName":"bob@acme.com"}),
            Err(ScimType::Mutability),
        ),
        (
            ResourceType::User,
            json!({"userName":"Ann@Acme.co"}),
            Err(ScimType::Mutability),
        ),
        (
            ResourceType::Group,
            json!({"userName":"other","displayName":"New"}),
            Ok(json!({"userName":"other","displayName":"New"})),
        ),
    ];
    for (rt, new, want) in rows {
        let got = enforce_immutable(rt, &old, attrs(new.clone()), UserNames::Immutable);
        match (got, want) {
            (Ok(got), Ok(want)) => assert_eq!(Value::Object(got), want, "{new}"),
            (Err(e), Err(t)) => {
                assert_eq!(e.scim_type(), Some(t), "{new}");
                assert!(
                    e.to_string()
                        .starts_with("Attribute 'userName' is immutable"),
                    "{e}"
                );
            }
            (got, want) => panic!("{new}: got {got:?}, want {want:?}"),
        }
    }
    let no_old = enforce_immutable(
        ResourceType::User,
        &Map::new(),
        old.clone(),
        UserNames::Immutable,
    );
    assert_eq!(no_old.ok(), Some(old));
}

fn meta() -> Meta {
    Meta {
        created: "2024-05-01T10:00:00Z".into(),
        last_modified: "2024-05-02T11:00:00Z".into(),
        version: 3,
    }
}

fn keys(v: &Value) -> Vec<&str> {
    v.as_object()
        .map(|m| m.keys().map(String::as_str).collect())
        .unwrap_or_default()
}

#[test]
fn renders_users() {
    let stored = normalize(
        ResourceType::User,
        &json!({"userName":"ann","externalId":"e1","active":true,
            "name":{"givenName":"Ann"}, ENT: {"manager":"m1","department":"R&D"}}),
        &limits(),
    )
    .map(|n| n.attrs)
    .unwrap_or_default();
    let groups = vec![json!({"value":"g1","display":"Eng"})];
    let base = "https://scim.example/scim/v2/acme/";
    let doc = render(
        ResourceType::User,
        "u1",
        &stored,
        &meta(),
        base,
        Some(groups),
    );
    assert_eq!(
        keys(&doc),
        [
            "schemas",
            "id",
            "externalId",
            "userName",
            "name",
            "active",
            "groups",
            ENT,
            "meta"
        ]
    );
    assert_eq!(doc["schemas"], json!([USER_SCHEMA, ENT]));
    assert_eq!(doc["groups"], json!([{"value":"g1","display":"Eng"}]));
    assert_eq!(
        doc[ENT],
        json!({"department":"R&D",
            "manager":{"value":"m1","$ref":"https://scim.example/scim/v2/acme/Users/m1"}})
    );
    assert_eq!(
        doc["meta"],
        json!({"resourceType":"User","created":"2024-05-01T10:00:00Z",
            "lastModified":"2024-05-02T11:00:00Z",
            "location":"https://scim.example/scim/v2/acme/Users/u1","version":"W/\"3\""})
    );

    let plain = normalize(ResourceType::User, &json!({"userName":"bob"}), &limits())
        .map(|n| n.attrs)
        .unwrap_or_default();
    let doc = render(
        ResourceType::User,
        "u2",
        &plain,
        &meta(),
        "http://h",
        Some(vec![]),
    );
    assert_eq!(doc["schemas"], json!([USER_SCHEMA]));
    assert_eq!(keys(&doc), ["schemas", "id", "userName", "groups", "meta"]);
    assert_eq!(doc["groups"], json!([]));
    let doc = render(ResourceType::User, "u2", &plain, &meta(), "http://h", None);
    assert_eq!(keys(&doc), ["schemas", "id", "userName", "meta"]);
}

#[test]
fn renders_groups() {
    let stored = normalize(
        ResourceType::Group,
        &json!({"displayName":"Eng","externalId":"x1","members":["u1"]}),
        &limits(),
    )
    .map(|n| n.attrs)
    .unwrap_or_default();
    let doc = render(
        ResourceType::Group,
        "g1",
        &stored,
        &meta(),
        "http://h/scim/v2/o",
        Some(vec![]),
    );
    assert_eq!(
        keys(&doc),
        [
            "schemas",
            "id",
            "externalId",
            "displayName",
            "members",
            "meta"
        ]
    );
    assert_eq!(doc["schemas"], json!([GROUP_SCHEMA]));
    assert_eq!(doc["members"], json!([]));
    assert_eq!(doc["meta"]["location"], "http://h/scim/v2/o/Groups/g1");
    assert_eq!(doc["meta"]["resourceType"], "Group");
    assert_eq!(etag(0), "W/\"0\"");
    assert_eq!(etag(42), "W/\"42\"");
}

#[test]
fn index_keys() {
    let attrs = json!({"userName":"Ann@Acme.COM","displayName":"Ann A","externalId":"E-1",
        "emails":[{"value":"Ann@Acme.com"},{"value":"ann@acme.com"},{"value":""},
            {"type":"home"},{"value":"ann@home.org"}]});
    let attrs = attrs.as_object().cloned().unwrap_or_default();
    assert_eq!(user_name_key(&attrs).as_deref(), Some("ann@acme.com"));
    assert_eq!(display_name_key(&attrs).as_deref(), Some("ann a"));
    assert_eq!(email_keys(&attrs), ["ann@acme.com", "ann@home.org"]);
    assert_eq!(external_id(&attrs), Some("E-1"));
    assert_eq!(member_display(&attrs), "Ann A");

    let many: Vec<Value> = (0..36_000)
        .flat_map(|i| {
            [
                json!({"value": format!("U{i}@x")}),
                json!({"value": format!("u{i}@X")}),
            ]
        })
        .collect();
    let many = json!({"emails": many});
    let keys = email_keys(many.as_object().unwrap_or(&Map::new()));
    assert_eq!(keys.len(), 36_000);
    assert_eq!(keys.first().map(String::as_str), Some("u0@x"));
    assert_eq!(keys.last().map(String::as_str), Some("u35999@x"));

    let bare = json!({"userName":"bob","displayName":""});
    let bare = bare.as_object().cloned().unwrap_or_default();
    assert_eq!(member_display(&bare), "bob");
    assert!(email_keys(&bare).is_empty());
    assert_eq!(external_id(&bare), None);
    assert_eq!(display_name_key(&Map::new()), None);
    assert_eq!(member_display(&Map::new()), "");
}
