//! The discovery endpoints: ServiceProviderConfig, ResourceTypes and Schemas, generated from
//! the same definitions that drive validation.

use scimd_core::schema::ALL_SCHEMAS;
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
pub fn resource_types(base: &str) -> Value {
    let all: Vec<Value> = ResourceType::ALL
        .iter()
        .map(|rt| rt.to_json(base))
        .collect();
    let n = all.len();
    list_response(all, n, 1)
}

/// `GET /ResourceTypes/{name}`.
pub fn resource_type(base: &str, name: &str) -> Result<Value, ScimError> {
    ResourceType::ALL
        .iter()
        .find(|rt| rt.name().eq_ignore_ascii_case(name))
        .map(|rt| rt.to_json(base))
        .ok_or_else(|| ScimError::NotFound(format!("no resource type {name}; try User or Group")))
}

/// `GET /Schemas`.
pub fn schemas(base: &str) -> Value {
    let all: Vec<Value> = ALL_SCHEMAS
        .iter()
        .map(|s| s.to_json(&format!("{base}/Schemas/{}", s.id)))
        .collect();
    let n = all.len();
    list_response(all, n, 1)
}

/// `GET /Schemas/{urn}`.
pub fn schema(base: &str, urn: &str) -> Result<Value, ScimError> {
    ALL_SCHEMAS
        .iter()
        .find(|s| s.id.eq_ignore_ascii_case(urn))
        .map(|s| s.to_json(&format!("{base}/Schemas/{}", s.id)))
        .ok_or_else(|| ScimError::NotFound(format!("no schema {urn}")))
}
