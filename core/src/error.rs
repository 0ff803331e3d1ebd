//! SCIM protocol errors: each knows its HTTP status and RFC 7644 `scimType`.

use serde_json::{json, Value};

/// The URN of the SCIM Error message schema.
pub const ERROR_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:Error";

/// The `scimType` keywords of RFC 7644 section 3.12 that scimd uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScimType {
    InvalidFilter,
    TooMany,
    Uniqueness,
    Mutability,
    InvalidSyntax,
    InvalidPath,
    NoTarget,
    InvalidValue,
    InvalidVers,
    Sensitive,
    /// RFC 9865: a cursor the server did not issue, or can no longer honour.
    InvalidCursor,
}

impl ScimType {
    /// The keyword as it appears on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            ScimType::InvalidFilter => "invalidFilter",
            ScimType::TooMany => "tooMany",
            ScimType::Uniqueness => "uniqueness",
            ScimType::Mutability => "mutability",
            ScimType::InvalidSyntax => "invalidSyntax",
            ScimType::InvalidPath => "invalidPath",
            ScimType::NoTarget => "noTarget",
            ScimType::InvalidValue => "invalidValue",
            ScimType::InvalidVers => "invalidVers",
            ScimType::Sensitive => "sensitive",
            ScimType::InvalidCursor => "invalidCursor",
        }
    }
}

/// Every error a SCIM request can end in. The daemon renders these in exactly one place.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScimError {
    /// 400 with a `scimType`.
    #[error("{detail}")]
    BadRequest { scim_type: ScimType, detail: String },
    /// 401: no, malformed or wrong credentials.
    #[error("{0}")]
    Unauthorized(String),
    /// 403: the org exists but may not be served.
    #[error("{0}")]
    Forbidden(String),
    /// 404: no such resource (or endpoint).
    #[error("{0}")]
    NotFound(String),
    /// 405: the endpoint exists, the method does not.
    #[error("{0}")]
    MethodNotAllowed(String),
    /// 409 uniqueness.
    #[error("{0}")]
    Conflict(String),
    /// 410: what was asked for existed once and is no longer kept (an events cursor older
    /// than the feed's retention).
    #[error("{0}")]
    Gone(String),
    /// 412: `If-Match` did not match the current version.
    #[error("{0}")]
    PreconditionFailed(String),
    /// 413: body or operation count too large.
    #[error("{0}")]
    PayloadTooLarge(String),
    /// 500: the cause is logged by the caller; the client sees only a generic detail.
    #[error("internal error")]
    Internal,
    /// 501: a feature that is advertised as unsupported.
    #[error("{0}")]
    NotImplemented(String),
    /// 408: the request body did not arrive within the server's deadline.
    #[error("{0}")]
    RequestTimeout(String),
    /// 429: the org is over its configured request rate; retry after `retry_after` seconds.
    #[error("{detail}")]
    TooManyRequests { retry_after: u64, detail: String },
    /// 503: the store cannot serve right now (reopening after a fault); retry shortly.
    #[error("{0}")]
    Unavailable(String),
    /// 507: the disk holding the store is full; nothing of the request was written.
    #[error("{0}")]
    InsufficientStorage(String),
}

impl ScimError {
    /// A 400 with the given `scimType`.
    pub fn bad(scim_type: ScimType, detail: impl Into<String>) -> Self {
        ScimError::BadRequest {
            scim_type,
            detail: detail.into(),
        }
    }
    /// 400 invalidFilter.
    pub fn invalid_filter(detail: impl Into<String>) -> Self {
        Self::bad(ScimType::InvalidFilter, detail)
    }
    /// 400 invalidPath.
    pub fn invalid_path(detail: impl Into<String>) -> Self {
        Self::bad(ScimType::InvalidPath, detail)
    }
    /// 400 invalidValue.
    pub fn invalid_value(detail: impl Into<String>) -> Self {
        Self::bad(ScimType::InvalidValue, detail)
    }
    /// 400 invalidSyntax.
    pub fn invalid_syntax(detail: impl Into<String>) -> Self {
        Self::bad(ScimType::InvalidSyntax, detail)
    }
    /// 400 mutability.
    pub fn mutability(detail: impl Into<String>) -> Self {
        Self::bad(ScimType::Mutability, detail)
    }
    /// 400 noTarget.
    pub fn no_target(detail: impl Into<String>) -> Self {
        Self::bad(ScimType::NoTarget, detail)
    }

    /// The HTTP status code.
    pub fn status(&self) -> u16 {
        match self {
            ScimError::BadRequest { .. } => 400,
            ScimError::Unauthorized(_) => 401,
            ScimError::Forbidden(_) => 403,
            ScimError::NotFound(_) => 404,
            ScimError::MethodNotAllowed(_) => 405,
            ScimError::Conflict(_) => 409,
            ScimError::Gone(_) => 410,
            ScimError::PreconditionFailed(_) => 412,
            ScimError::PayloadTooLarge(_) => 413,
            ScimError::Internal => 500,
            ScimError::NotImplemented(_) => 501,
            ScimError::RequestTimeout(_) => 408,
            ScimError::TooManyRequests { .. } => 429,
            ScimError::Unavailable(_) => 503,
            ScimError::InsufficientStorage(_) => 507,
        }
    }

    /// Seconds a client should wait before retrying, for the `Retry-After` header.
    pub fn retry_after(&self) -> Option<u64> {
        match self {
            ScimError::TooManyRequests { retry_after, .. } => Some(*retry_after),
            ScimError::Unavailable(_) => Some(1),
            _ => None,
        }
    }

    /// The `scimType`, where RFC 7644 defines one for this error.
    pub fn scim_type(&self) -> Option<ScimType> {
        match self {
            ScimError::BadRequest { scim_type, .. } => Some(*scim_type),
            ScimError::Conflict(_) => Some(ScimType::Uniqueness),
            ScimError::PayloadTooLarge(_) => Some(ScimType::TooMany),
            _ => None,
        }
    }

    /// The SCIM Error message body (RFC 7644 section 3.12), `status` as a string.
    pub fn to_json(&self) -> Value {
        let mut body = json!({
            "schemas": [ERROR_SCHEMA],
            "status": self.status().to_string(),
            "detail": self.to_string(),
        });
        if let (Some(t), Some(map)) = (self.scim_type(), body.as_object_mut()) {
            map.insert("scimType".into(), Value::String(t.as_str().into()));
        }
        body
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_bodies_carry_status_as_string_and_scim_type() {
        let rows: &[(ScimError, u16, Option<&str>)] = &[
            (ScimError::invalid_filter("x"), 400, Some("invalidFilter")),
            (ScimError::Conflict("dup".into()), 409, Some("uniqueness")),
            (ScimError::NotFound("gone".into()), 404, None),
            (ScimError::Gone("pruned".into()), 410, None),
            (ScimError::Internal, 500, None),
            (
                ScimError::PayloadTooLarge("big".into()),
                413,
                Some("tooMany"),
            ),
            (
                ScimError::TooManyRequests {
                    retry_after: 2,
                    detail: "slow down".into(),
                },
                429,
                None,
            ),
            (ScimError::Unavailable("reopening".into()), 503, None),
            (ScimError::InsufficientStorage("full".into()), 507, None),
            (ScimError::RequestTimeout("slow body".into()), 408, None),
        ];
        for (err, status, scim_type) in rows {
            let body = err.to_json();
            assert_eq!(body["status"], status.to_string());
            assert_eq!(body["schemas"][0], ERROR_SCHEMA);
            assert_eq!(body.get("scimType").and_then(Value::as_str), *scim_type);
            assert!(body["detail"].as_str().is_some_and(|d| !d.is_empty()));
        }
    }
}
