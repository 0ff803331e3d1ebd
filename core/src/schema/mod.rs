//! Attribute definitions of the SCIM schemas scimd serves: one source of truth for validation,
//! filtering, PATCH and the published `/Schemas` documents.
//!
//! The types and lookups are here; the attribute tables themselves are in `defs`.

pub mod declared;
mod defs;
#[cfg(test)]
mod tests;

pub use declared::{Declared, DeclaredAttr, DeclaredExtension};
pub use defs::{ALL_SCHEMAS, COMMON_ATTRS, ENTERPRISE_USER, GROUP, USER};

use defs::USER_EXTENSIONS;

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
    /// The type's name as RFC 7643 spells it.
    pub fn as_str(self) -> &'static str {
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
    /// The attribute that names a resource of this type, unique within an org: a user's
    /// `userName`, a team's `displayName`.
    pub fn name_attr(self) -> &'static str {
        match self {
            ResourceType::User => "userName",
            ResourceType::Group => "displayName",
        }
    }
    /// The name of a resource of this type in stored form (see [`ResourceType::name_attr`]).
    pub fn name_in(self, attrs: &serde_json::Map<String, serde_json::Value>) -> Option<&str> {
        attrs
            .get(self.name_attr())
            .and_then(serde_json::Value::as_str)
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
