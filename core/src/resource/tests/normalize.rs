//! Normalizing what identity providers send, row by row, and refusing bad bodies.

use super::*;

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
            "onelogin template with a core:1.0 schema and an undeclared URN attribute",
            u,
            json!({"schemas":["urn:scim:schemas:core:1.0"],"userName":"jdoe@acme.com",
                "name":{"formatted":"J Doe"},"urn:scim:schemas:core:1.0":{"userName":"other"},
                "urn:example:custom:1.0:User:badge":"7"}),
            json!({"userName":"jdoe@acme.com","name":{"formatted":"J Doe"},
                "urn:example:custom:1.0:User":{"badge":"7"}}),
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
