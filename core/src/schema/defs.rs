//! The attribute tables of the User, Enterprise User and Group schemas, and the attributes
//! common to every resource: data the rest of the crate reads through [`super::ResourceType`].

use super::{Attr, AttrType, Schema, ENTERPRISE_SCHEMA, GROUP_SCHEMA, USER_SCHEMA};

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

pub(super) static USER_EXTENSIONS: &[&Schema] = &[&ENTERPRISE_USER];

/// Every schema published by `/Schemas`.
pub static ALL_SCHEMAS: &[&Schema] = &[&USER, &ENTERPRISE_USER, &GROUP];
