//! The discovery endpoints: ServiceProviderConfig, ResourceTypes and Schemas, generated from
//! the same definitions that drive validation, the org's declared extensions included (so
//! `/Schemas` and `/ResourceTypes` differ from org to org).

use scimd_core::schema::{Declared, ALL_SCHEMAS};
use scimd_core::{ResourceType, ScimError};
use serde_json::{json, Value};

use super::MAX_RESULTS;
use scimd_core::list::list_response;

/// `GET /ServiceProviderConfig`: what works, truthfully.
pub fn service_provider_config(base: &str) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"],
        "documentationUri": "https://github.com/scimd/scimd",
        "patch": {"supported": true},
        "bulk": {
            "supported": true,
            "maxOperations": super::bulk::MAX_OPERATIONS,
            "maxPayloadSize": super::MAX_BODY,
        },
        "filter": {"supported": true, "maxResults": MAX_RESULTS},
        "changePassword": {"supported": false},
        "sort": {"supported": true},
        "pagination": {
            "cursor": true,
            "index": true,
            "defaultPaginationMethod": "index",
            "defaultPageSize": super::DEFAULT_COUNT,
            "maxPageSize": MAX_RESULTS,
        },
        "etag": {"supported": true},
        "authenticationSchemes": [{
            "type": "oauthbearertoken",
            "name": "Bearer token",
            "description": "Send 'Authorization: Bearer <token>' with the org's token from \
                            'scimd token rotate --org <org>'.",
            "specUri": "https://www.rfc-editor.org/info/rfc6750",
            "primary": true,
        }],
        "meta": {
            "resourceType": "ServiceProviderConfig",
            "location": format!("{base}/ServiceProviderConfig"),
        },
    })
}

/// `GET /ResourceTypes`.
pub fn resource_types(base: &str, declared: &Declared) -> Value {
    let all: Vec<Value> = ResourceType::ALL
        .iter()
        .map(|rt| declared.resource_type_json(*rt, base))
        .collect();
    let n = all.len();
    list_response(all, n, 1)
}

/// `GET /ResourceTypes/{name}`.
pub fn resource_type(base: &str, name: &str, declared: &Declared) -> Result<Value, ScimError> {
    ResourceType::ALL
        .iter()
        .find(|rt| rt.name().eq_ignore_ascii_case(name))
        .map(|rt| declared.resource_type_json(*rt, base))
        .ok_or_else(|| ScimError::NotFound(format!("no resource type {name}; try User or Group")))
}

/// `GET /Schemas`: the built-in schemas, then the org's declared extensions.
pub fn schemas(base: &str, declared: &Declared) -> Value {
    let location = |id: &str| format!("{base}/Schemas/{id}");
    let all: Vec<Value> = ALL_SCHEMAS
        .iter()
        .map(|s| s.to_json(&location(s.id)))
        .chain(declared.all().iter().map(|e| e.to_json(&location(&e.urn))))
        .collect();
    let n = all.len();
    list_response(all, n, 1)
}

/// `GET /Schemas/{urn}`.
pub fn schema(base: &str, urn: &str, declared: &Declared) -> Result<Value, ScimError> {
    let location = |id: &str| format!("{base}/Schemas/{id}");
    if let Some(s) = ALL_SCHEMAS.iter().find(|s| s.id.eq_ignore_ascii_case(urn)) {
        return Ok(s.to_json(&location(s.id)));
    }
    declared
        .find_any(urn)
        .map(|e| e.to_json(&location(&e.urn)))
        .ok_or_else(|| ScimError::NotFound(format!("no schema {urn}")))
}
