//! The path of a request, parsed once at the edge: which API it is for (SCIM, the events feed,
//! its snapshot, `/healthz`), the org it names and, for SCIM, the endpoint and the rest of the
//! path, every segment percent-decoded once. Authentication, rate limits, counting, logging and
//! the handlers' routing all read this [`Route`], never the path string again.

use scimd_core::ResourceType;

/// What a request's path names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Route {
    /// `/healthz`, exactly.
    Health,
    /// `/scim/v2/{org}/...` (`v2` in any case).
    Scim { org: String, path: ScimPath },
    /// `/events/v1/{org}` (`v1` in any case).
    Events { org: String },
    /// `/events/v1/{org}/snapshot`.
    Snapshot { org: String },
    /// No endpoint; which API's help the 404 gives.
    NotFound(Api),
}

/// The API a path that names no endpoint was nearest to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Api {
    /// Any path outside `/events`: the SCIM API's help.
    Scim,
    /// A path under `/events` that is neither the feed nor its snapshot.
    Events,
}

/// The part of a SCIM path after `/scim/v2/{org}`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ScimPath {
    /// The segments, percent-decoded, as written (the first in the client's spelling).
    pub segments: Vec<String>,
    /// The endpoint the first segment names, matched case-insensitively (Microsoft's suite asks
    /// for `/users`); None when there is no first segment or it names none.
    pub endpoint: Option<Endpoint>,
}

/// A SCIM endpoint: the first segment after the org.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Endpoint {
    Users,
    Groups,
    /// Also spelled `serviceConfiguration` (the draft's name, which some clients still ask for).
    ServiceProviderConfig,
    ResourceTypes,
    Schemas,
    Bulk,
    /// `/.search`, the query across resource types.
    Search,
    /// `/Me`: not served (404), but known, so its requests are labelled apart.
    Me,
}

impl Endpoint {
    const ALL: [Endpoint; 8] = [
        Endpoint::Users,
        Endpoint::Groups,
        Endpoint::ServiceProviderConfig,
        Endpoint::ResourceTypes,
        Endpoint::Schemas,
        Endpoint::Bulk,
        Endpoint::Search,
        Endpoint::Me,
    ];

    /// The endpoint's name as the RFC spells it; also its metrics label.
    pub fn name(self) -> &'static str {
        match self {
            Endpoint::Users => "Users",
            Endpoint::Groups => "Groups",
            Endpoint::ServiceProviderConfig => "ServiceProviderConfig",
            Endpoint::ResourceTypes => "ResourceTypes",
            Endpoint::Schemas => "Schemas",
            Endpoint::Bulk => "Bulk",
            Endpoint::Search => ".search",
            Endpoint::Me => "Me",
        }
    }

    /// The endpoint a segment names, in any case.
    fn parse(segment: &str) -> Option<Endpoint> {
        if segment.eq_ignore_ascii_case("serviceConfiguration") {
            return Some(Endpoint::ServiceProviderConfig);
        }
        Endpoint::ALL
            .into_iter()
            .find(|e| e.name().eq_ignore_ascii_case(segment))
    }

    /// The resource type whose endpoint this is, if it is one.
    pub fn resource_type(self) -> Option<ResourceType> {
        match self {
            Endpoint::Users => Some(ResourceType::User),
            Endpoint::Groups => Some(ResourceType::Group),
            _ => None,
        }
    }
}

impl ScimPath {
    fn new(segments: Vec<String>) -> ScimPath {
        let endpoint = segments.first().and_then(|s| Endpoint::parse(s));
        ScimPath { segments, endpoint }
    }

    /// The segments after the endpoint's.
    pub fn rest(&self) -> &[String] {
        self.segments.get(1..).unwrap_or_default()
    }

    /// The endpoint named, with a resource type's id or `.search` after it when there is one:
    /// `Users`, `Users/.search`, `Users/{id}`.
    pub fn resource(&self) -> Option<(ResourceType, &[String])> {
        let rt = self.endpoint?.resource_type()?;
        Some((rt, self.rest()))
    }
}

impl Route {
    /// Parses a request's path (the URI's path, without the query).
    pub fn parse(path: &str) -> Route {
        // The events API is matched on the path as sent; only its org segment is decoded.
        if path == "/events" || path.starts_with("/events/") {
            return events(path);
        }
        if path == "/healthz" {
            return Route::Health;
        }
        let mut segments: Vec<String> = path
            .split('/')
            .filter(|s| !s.is_empty())
            .map(percent_decode)
            .collect();
        if segments.len() < 3 || segments[0] != "scim" || !segments[1].eq_ignore_ascii_case("v2") {
            return Route::NotFound(Api::Scim);
        }
        let rest = segments.split_off(3);
        let org = segments.swap_remove(2);
        Route::Scim {
            org,
            path: ScimPath::new(rest),
        }
    }

    /// The org the path names, as written (decoded): not yet checked against the config.
    pub fn org(&self) -> Option<&str> {
        match self {
            Route::Scim { org, .. } | Route::Events { org } | Route::Snapshot { org } => Some(org),
            Route::Health | Route::NotFound(_) => None,
        }
    }

    /// The resource a request is counted under, from a fixed set, so a metric label never
    /// carries what a client made up: `healthz`, `events`, a SCIM endpoint's name, `root` for
    /// the org's SCIM root, `other` for anything else.
    pub fn label(&self) -> &'static str {
        match self {
            Route::Health => "healthz",
            Route::Events { .. } | Route::Snapshot { .. } | Route::NotFound(Api::Events) => {
                "events"
            }
            Route::Scim { path, .. } => match (&path.endpoint, path.segments.is_empty()) {
                (_, true) => "root",
                (Some(e), false) => e.name(),
                (None, false) => "other",
            },
            Route::NotFound(Api::Scim) => "other",
        }
    }
}

/// A path under `/events`.
fn events(path: &str) -> Route {
    let rest = path.strip_prefix("/events/").unwrap_or_default();
    let parts: Vec<&str> = rest.split('/').filter(|s| !s.is_empty()).collect();
    match parts.as_slice() {
        [version, org] if version.eq_ignore_ascii_case("v1") => Route::Events {
            org: percent_decode(org),
        },
        [version, org, "snapshot"] if version.eq_ignore_ascii_case("v1") => Route::Snapshot {
            org: percent_decode(org),
        },
        _ => Route::NotFound(Api::Events),
    }
}

/// A path segment percent-decoded (RFC 3986: `+` stays a plus in a path); bytes that are not
/// UTF-8 become U+FFFD, which no id or org name holds.
fn percent_decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s)
        .decode_utf8_lossy()
        .into_owned()
}

#[cfg(test)]
mod tests;
