//! Attribute definitions of the SCIM schemas scimd serves: one source of truth for validation,
//! filtering, PATCH and the published `/Schemas` documents.

use serde_json::{json, Map, Value};

/// URN of the core User schema.
pub const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
/// URN of the Enterprise User extension.
pub const ENTERPRISE_SCHEMA: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
/// URN of the core Group schema.
pub const GROUP_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
/// URN of the ListResponse message.
pub const LIST_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
/// URN of the PatchOp message.
pub const PATCH_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
/// URN of the SearchRequest message.
pub const SEARCH_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:SearchRequest";

/// SCIM attribute data types (RFC 7643 section 2.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttrType {
    String,
    Boolean,
    Decimal,
    Integer,
    DateTime,
    Reference,
    Complex,
    Binary,
}

impl AttrType {
    fn as_str(self) -> &'static str {
        match self {
            AttrType::String => "string",
            AttrType::Boolean => "boolean",
            AttrType::Decimal => "decimal",
            AttrType::Integer => "integer",
            AttrType::DateTime => "dateTime",
            AttrType::Reference => "reference",
            AttrType::Complex => "complex",
            AttrType::Binary => "binary",
        }
    }
}

/// Who may write an attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mutability {
    ReadOnly,
    ReadWrite,
    Immutable,
    WriteOnly,
}

/// When an attribute is returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Returned {
    Always,
    Never,
    Default,
    Request,
}

/// Uniqueness of an attribute's values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Uniqueness {
    None,
    Server,
    Global,
}

/// One attribute definition.
#[derive(Debug, Clone, Copy)]
pub struct Attr {
    pub name: &'static str,
    pub ty: AttrType,
    pub multi: bool,
    pub required: bool,
    pub case_exact: bool,
    pub mutability: Mutability,
    pub returned: Returned,
    pub uniqueness: Uniqueness,
    pub canonical: &'static [&'static str],
    pub reference_types: &'static [&'static str],
    pub sub: &'static [Attr],
    pub description: &'static str,
}

impl Attr {
    pub(crate) const fn new(name: &'static str, ty: AttrType, description: &'static str) -> Attr {
        Attr {
            name,
            ty,
            multi: false,
            required: false,
            case_exact: false,
            mutability: Mutability::ReadWrite,
            returned: Returned::Default,
            uniqueness: Uniqueness::None,
            canonical: &[],
            reference_types: &[],
            sub: &[],
            description,
        }
    }
    const fn s(name: &'static str, description: &'static str) -> Attr {
        Attr::new(name, AttrType::String, description)
    }
    const fn multi(mut self) -> Attr {
        self.multi = true;
        self
    }
    const fn required(mut self) -> Attr {
        self.required = true;
        self
    }
    const fn exact(mut self) -> Attr {
        self.case_exact = true;
        self
    }
    const fn read_only(mut self) -> Attr {
        self.mutability = Mutability::ReadOnly;
        self
    }
    const fn immutable(mut self) -> Attr {
        self.mutability = Mutability::Immutable;
        self
    }
    const fn write_only(mut self) -> Attr {
        self.mutability = Mutability::WriteOnly;
        self.returned = Returned::Never;
        self
    }
    const fn always(mut self) -> Attr {
        self.returned = Returned::Always;
        self
    }
    const fn unique(mut self) -> Attr {
        self.uniqueness = Uniqueness::Server;
        self
    }
    const fn canonical(mut self, values: &'static [&'static str]) -> Attr {
        self.canonical = values;
        self
    }
    const fn refs(mut self, types: &'static [&'static str]) -> Attr {
        self.reference_types = types;
        self
    }
    const fn complex(name: &'static str, sub: &'static [Attr], description: &'static str) -> Attr {
        let mut a = Attr::new(name, AttrType::Complex, description);
        a.sub = sub;
        a
    }

    /// The sub-attribute with this name, matched case-insensitively.
    pub fn sub_attr(&self, name: &str) -> Option<&'static Attr> {
        self.sub.iter().find(|a| a.name.eq_ignore_ascii_case(name))
    }

    /// The attribute's definition as published by `/Schemas`.
    pub fn to_json(&self) -> Value {
        let mut m = Map::new();
        m.insert("name".into(), json!(self.name));
        m.insert("type".into(), json!(self.ty.as_str()));
        m.insert("multiValued".into(), json!(self.multi));
        m.insert("description".into(), json!(self.description));
        m.insert("required".into(), json!(self.required));
        if matches!(
            self.ty,
            AttrType::String | AttrType::Reference | AttrType::Binary
        ) {
            m.insert("caseExact".into(), json!(self.case_exact));
        }
        if !self.canonical.is_empty() {
            m.insert("canonicalValues".into(), json!(self.canonical));
        }
        if !self.reference_types.is_empty() {
            m.insert("referenceTypes".into(), json!(self.reference_types));
        }
        let mutability = match self.mutability {
            Mutability::ReadOnly => "readOnly",
            Mutability::ReadWrite => "readWrite",
            Mutability::Immutable => "immutable",
            Mutability::WriteOnly => "writeOnly",
        };
        m.insert("mutability".into(), json!(mutability));
        let returned = match self.returned {
            Returned::Always => "always",
            Returned::Never => "never",
            Returned::Default => "default",
            Returned::Request => "request",
        };
        m.insert("returned".into(), json!(returned));
        if self.ty != AttrType::Complex {
            let uniqueness = match self.uniqueness {
                Uniqueness::None => "none",
                Uniqueness::Server => "server",
                Uniqueness::Global => "global",
            };
            m.insert("uniqueness".into(), json!(uniqueness));
        }
        if !self.sub.is_empty() {
            let subs: Vec<Value> = self.sub.iter().map(Attr::to_json).collect();
            m.insert("subAttributes".into(), Value::Array(subs));
        }
        Value::Object(m)
    }
}

/// One schema: a URN and its attributes.
#[derive(Debug)]
pub struct Schema {
    pub id: &'static str,
    pub name: &'static str,
    pub description: &'static str,
    pub attributes: &'static [Attr],
}

impl Schema {
    /// The top-level attribute with this name, matched case-insensitively.
    pub fn attr(&self, name: &str) -> Option<&'static Attr> {
        self.attributes
            .iter()
            .find(|a| a.name.eq_ignore_ascii_case(name))
    }

    /// The schema as a `/Schemas` resource; `location` is the absolute URL of the document.
    pub fn to_json(&self, location: &str) -> Value {
        let attrs: Vec<Value> = self.attributes.iter().map(Attr::to_json).collect();
        json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Schema"],
            "id": self.id,
            "name": self.name,
            "description": self.description,
            "attributes": attrs,
            "meta": {"resourceType": "Schema", "location": location},
        })
    }
}

const TYPE_WORK_HOME_OTHER: &[&str] = &["work", "home", "other"];

macro_rules! multi_value_subs {
    ($value_desc:expr, $types:expr) => {
        &[
            Attr::s("value", $value_desc),
            Attr::s(
                "display",
                "A human-readable name, primarily used for display purposes.",
            ),
            Attr::s("type", "A label indicating the attribute's function.").canonical($types),
            Attr::new(
                "primary",
                AttrType::Boolean,
                "Whether this value is the preferred one; at most one value is primary.",
            ),
        ]
    };
}

const NAME_SUBS: &[Attr] = &[
    Attr::s("formatted", "The full name, formatted for display."),
    Attr::s("familyName", "The family name, or last name."),
    Attr::s("givenName", "The given name, or first name."),
    Attr::s("middleName", "The middle name(s)."),
    Attr::s("honorificPrefix", "The honorific prefix(es), e.g. 'Ms.'."),
    Attr::s("honorificSuffix", "The honorific suffix(es), e.g. 'III'."),
];

const ADDRESS_SUBS: &[Attr] = &[
    Attr::s(
        "formatted",
        "The full mailing address, formatted for display.",
    ),
    Attr::s("streetAddress", "The full street address."),
    Attr::s("locality", "The city or locality."),
    Attr::s("region", "The state or region."),
    Attr::s("postalCode", "The zip code or postal code."),
    Attr::s("country", "The country name, ISO 3166-1 alpha-2."),
    Attr::s("type", "A label indicating the address's function.").canonical(TYPE_WORK_HOME_OTHER),
    Attr::new(
        "primary",
        AttrType::Boolean,
        "Whether this is the primary address.",
    ),
];

const USER_GROUP_SUBS: &[Attr] = &[
    Attr::s("value", "The id of the group.").read_only(),
    Attr::new("$ref", AttrType::Reference, "The URI of the group.")
        .refs(&["Group"])
        .read_only(),
    Attr::s("display", "The group's displayName.").read_only(),
    Attr::s("type", "How the membership was derived: direct.")
        .canonical(&["direct", "indirect"])
        .read_only(),
];

const USER_ATTRS: &[Attr] = &[
    Attr::s(
        "userName",
        "Unique identifier of the user, typically the sign-in name.",
    )
    .required()
    .unique(),
    Attr::complex("name", NAME_SUBS, "The components of the user's real name."),
    Attr::s("displayName", "The name of the user, suitable for display."),
    Attr::s("nickName", "The casual way to address the user."),
    Attr::new(
        "profileUrl",
        AttrType::Reference,
        "A URI of the user's online profile.",
    )
    .refs(&["external"]),
    Attr::s("title", "The user's title, such as 'Vice President'."),
    Attr::s(
        "userType",
        "The relationship between the organization and the user.",
    ),
    Attr::s(
        "preferredLanguage",
        "The user's preferred written or spoken language.",
    ),
    Attr::s("locale", "The user's default location, e.g. en-US."),
    Attr::s(
        "timezone",
        "The user's time zone in IANA format, e.g. America/Los_Angeles.",
    ),
    Attr::new(
        "active",
        AttrType::Boolean,
        "The user's administrative status.",
    ),
    Attr::s(
        "password",
        "Accepted and dropped: scimd never stores passwords.",
    )
    .write_only(),
    Attr::complex(
        "emails",
        multi_value_subs!("The email address.", TYPE_WORK_HOME_OTHER),
        "Email addresses for the user.",
    )
    .multi(),
    Attr::complex(
        "phoneNumbers",
        multi_value_subs!(
            "The phone number.",
            &["work", "home", "mobile", "fax", "pager", "other"]
        ),
        "Phone numbers for the user.",
    )
    .multi(),
    Attr::complex(
        "ims",
        multi_value_subs!(
            "The instant messaging address.",
            &["aim", "gtalk", "icq", "xmpp"]
        ),
        "Instant messaging addresses for the user.",
    )
    .multi(),
    Attr::complex(
        "photos",
        multi_value_subs!("The URL of a photo of the user.", &["photo", "thumbnail"]),
        "URLs of photos of the user.",
    )
    .multi(),
    Attr::complex(
        "addresses",
        ADDRESS_SUBS,
        "Physical mailing addresses for the user.",
    )
    .multi(),
    Attr::complex(
        "groups",
        USER_GROUP_SUBS,
        "The teams the user belongs to, computed from team memberships.",
    )
    .multi()
    .read_only(),
    Attr::complex(
        "entitlements",
        multi_value_subs!("The entitlement.", &[]),
        "Entitlements of the user.",
    )
    .multi(),
    Attr::complex(
        "roles",
        multi_value_subs!("The role.", &[]),
        "Roles of the user.",
    )
    .multi(),
    Attr::complex(
        "x509Certificates",
        multi_value_subs!("The certificate, base64 DER.", &[]),
        "X.509 certificates of the user.",
    )
    .multi(),
];

const MANAGER_SUBS: &[Attr] = &[
    Attr::s("value", "The id of the user's manager."),
    Attr::new("$ref", AttrType::Reference, "The URI of the manager.").refs(&["User"]),
    Attr::s("displayName", "The manager's displayName.").read_only(),
];

const ENTERPRISE_ATTRS: &[Attr] = &[
    Attr::s(
        "employeeNumber",
        "A string identifier, typically numeric or alphanumeric.",
    ),
    Attr::s("costCenter", "The name of a cost center."),
    Attr::s("organization", "The name of an organization."),
    Attr::s("division", "The name of a division."),
    Attr::s("department", "The name of a department."),
    Attr::complex("manager", MANAGER_SUBS, "The user's manager."),
];

const MEMBER_SUBS: &[Attr] = &[
    Attr::s("value", "The id of a member user.").immutable(),
    Attr::new("$ref", AttrType::Reference, "The URI of the member.")
        .refs(&["User"])
        .immutable(),
    Attr::s("display", "The member's displayName, filled by the server.").read_only(),
    Attr::s("type", "The type of the member: User.")
        .canonical(&["User"])
        .immutable(),
];

const GROUP_ATTRS: &[Attr] = &[
    Attr::s(
        "displayName",
        "The team's name, unique within the organization.",
    )
    .required()
    .unique(),
    Attr::complex("members", MEMBER_SUBS, "The users in the team.").multi(),
];

const META_SUBS: &[Attr] = &[
    Attr::s("resourceType", "The resource type name.")
        .read_only()
        .exact(),
    Attr::new(
        "created",
        AttrType::DateTime,
        "When the resource was created.",
    )
    .read_only(),
    Attr::new(
        "lastModified",
        AttrType::DateTime,
        "When the resource last changed.",
    )
    .read_only(),
    Attr::new("location", AttrType::Reference, "The URI of the resource.").read_only(),
    Attr::s("version", "The resource's version as a weak ETag.")
        .read_only()
        .exact(),
];

/// Attributes every resource has (RFC 7643 section 3.1), outside any schema document.
pub const COMMON_ATTRS: &[Attr] = &[
    Attr::s("id", "The server's unique identifier of the resource.")
        .read_only()
        .exact()
        .always()
        .unique(),
    Attr::s(
        "externalId",
        "The identity provider's identifier of the resource.",
    )
    .exact(),
    Attr::complex("meta", META_SUBS, "Resource metadata.").read_only(),
];

/// The core User schema.
pub static USER: Schema = Schema {
    id: USER_SCHEMA,
    name: "User",
    description: "User Account",
    attributes: USER_ATTRS,
};

/// The Enterprise User extension.
pub static ENTERPRISE_USER: Schema = Schema {
    id: ENTERPRISE_SCHEMA,
    name: "EnterpriseUser",
    description: "Enterprise User",
    attributes: ENTERPRISE_ATTRS,
};

/// The core Group schema.
pub static GROUP: Schema = Schema {
    id: GROUP_SCHEMA,
    name: "Group",
    description: "Group, served as an organization's team",
    attributes: GROUP_ATTRS,
};

static USER_EXTENSIONS: &[&Schema] = &[&ENTERPRISE_USER];

/// Every schema published by `/Schemas`.
pub static ALL_SCHEMAS: &[&Schema] = &[&USER, &ENTERPRISE_USER, &GROUP];

/// The resource types scimd serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ResourceType {
    User,
    Group,
}

/// Where a resolved attribute lives in the resource's JSON.
#[derive(Debug, Clone, Copy)]
pub struct Resolved {
    /// `Some(urn)` when the attribute sits under an extension's URN key.
    pub extension: Option<&'static str>,
    pub attr: &'static Attr,
    pub sub: Option<&'static Attr>,
}

impl Resolved {
    /// The definition that a value at this path must match.
    pub fn leaf(&self) -> &'static Attr {
        self.sub.unwrap_or(self.attr)
    }
}

impl ResourceType {
    /// The resource type's name as in `meta.resourceType` and the endpoint.
    pub fn name(self) -> &'static str {
        match self {
            ResourceType::User => "User",
            ResourceType::Group => "Group",
        }
    }
    /// The endpoint under the org's base URL.
    pub fn endpoint(self) -> &'static str {
        match self {
            ResourceType::User => "Users",
            ResourceType::Group => "Groups",
        }
    }
    /// The core schema.
    pub fn schema(self) -> &'static Schema {
        match self {
            ResourceType::User => &USER,
            ResourceType::Group => &GROUP,
        }
    }
    /// The schema extensions this resource type accepts.
    pub fn extensions(self) -> &'static [&'static Schema] {
        match self {
            ResourceType::User => USER_EXTENSIONS,
            ResourceType::Group => &[],
        }
    }
    /// The extension with this URN, matched case-insensitively.
    pub fn extension(self, urn: &str) -> Option<&'static Schema> {
        self.extensions()
            .iter()
            .copied()
            .find(|s| s.id.eq_ignore_ascii_case(urn))
    }

    /// Resolves `[urn:]name[.sub]` against this resource type's schemas, case-insensitively.
    /// A URN naming the core schema is accepted and dropped.
    pub fn resolve(self, urn: Option<&str>, name: &str, sub: Option<&str>) -> Option<Resolved> {
        let (extension, attr) = match urn {
            Some(u) if u.eq_ignore_ascii_case(self.schema().id) => (None, self.top_attr(name)?),
            Some(u) => {
                let ext = self.extension(u)?;
                (Some(ext.id), ext.attr(name)?)
            }
            None => (None, self.top_attr(name)?),
        };
        let sub = match sub {
            Some(s) => Some(attr.sub_attr(s)?),
            None => None,
        };
        Some(Resolved {
            extension,
            attr,
            sub,
        })
    }

    /// A top-level attribute of the core schema or the common attributes.
    pub fn top_attr(self, name: &str) -> Option<&'static Attr> {
        self.schema().attr(name).or_else(|| {
            COMMON_ATTRS
                .iter()
                .find(|a| a.name.eq_ignore_ascii_case(name))
        })
    }

    /// The `/ResourceTypes` document; `base` is the org's absolute base URL.
    pub fn to_json(self, base: &str) -> Value {
        let exts: Vec<Value> = self
            .extensions()
            .iter()
            .map(|s| json!({"schema": s.id, "required": false}))
            .collect();
        let mut doc = json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ResourceType"],
            "id": self.name(),
            "name": self.name(),
            "endpoint": format!("/{}", self.endpoint()),
            "description": self.schema().description,
            "schema": self.schema().id,
            "meta": {
                "resourceType": "ResourceType",
                "location": format!("{base}/ResourceTypes/{}", self.name()),
            },
        });
        if !exts.is_empty() {
            doc["schemaExtensions"] = Value::Array(exts);
        }
        doc
    }

    /// Both resource types.
    pub const ALL: [ResourceType; 2] = [ResourceType::User, ResourceType::Group];
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_names_case_insensitively_with_and_without_urns() {
        let u = ResourceType::User;
        let ok: &[(Option<&str>, &str, Option<&str>, &str)] = &[
            (None, "username", None, "userName"),
            (None, "NAME", Some("familyname"), "familyName"),
            (Some(USER_SCHEMA), "userName", None, "userName"),
            (Some(ENTERPRISE_SCHEMA), "manager", Some("value"), "value"),
            (None, "meta", Some("lastmodified"), "lastModified"),
            (None, "externalId", None, "externalId"),
        ];
        for (urn, name, sub, leaf) in ok {
            let r = u.resolve(*urn, name, *sub).expect(name);
            assert_eq!(r.leaf().name, *leaf);
        }
        let err: &[(Option<&str>, &str, Option<&str>)] = &[
            (None, "nope", None),
            (None, "name", Some("nope")),
            (Some("urn:x:y"), "userName", None),
            (Some(ENTERPRISE_SCHEMA), "userName", None),
        ];
        for (urn, name, sub) in err {
            assert!(u.resolve(*urn, name, *sub).is_none(), "{name}");
        }
        assert!(ResourceType::Group
            .resolve(None, "members", Some("value"))
            .is_some());
    }

    #[test]
    fn published_definitions_have_the_rfc_fields() {
        let doc = USER.to_json("http://x/Schemas/u");
        let user_name = &doc["attributes"][0];
        assert_eq!(user_name["name"], "userName");
        assert_eq!(user_name["caseExact"], false);
        assert_eq!(user_name["uniqueness"], "server");
        assert_eq!(user_name["required"], true);
        let emails = doc["attributes"]
            .as_array()
            .and_then(|a| a.iter().find(|x| x["name"] == "emails"))
            .cloned()
            .unwrap_or_default();
        assert_eq!(emails["multiValued"], true);
        assert!(emails["subAttributes"]
            .as_array()
            .is_some_and(|s| s.len() == 4));
    }
}
