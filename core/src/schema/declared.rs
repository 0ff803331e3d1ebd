//! Declared extensions: schema URNs an org's config gives attribute types for
//! (`[orgs.NAME.extensions."urn:..."]`), so that their values are type-checked on writes, their
//! attributes filter and sort by full path, and `/Schemas` and `/ResourceTypes` list them.
//!
//! They are stored exactly like undeclared extensions (see [`crate::resource::undeclared`]): an
//! object of attribute name → value under the URN key. Declaring one therefore changes no stored
//! data, and removing a declaration leaves its values where they are, undeclared again. The
//! definitions are per org and change on reload, so they are values passed in, not statics.

use serde_json::{json, Map, Value};

use super::{Attr, AttrType, ResourceType};
use crate::resource::undeclared::is_undeclared;

/// The most extensions one org may declare: real deployments map a handful; the cap keeps a
/// config from making every request scan a long list.
pub const MAX_EXTENSIONS: usize = 100;
/// The most attributes one declared extension may have, as for an undeclared one
/// ([`crate::resource::undeclared::MAX_ATTRS`]).
pub const MAX_ATTRIBUTES: usize = 1000;
/// The longest declared URN, in bytes; every body and path names it in full.
pub const MAX_URN_LEN: usize = 256;
/// The longest declared attribute name, in bytes.
pub const MAX_ATTR_NAME_LEN: usize = 128;

/// The type names a declaration may use, as RFC 7643 section 2.3 spells them.
pub const TYPE_NAMES: [&str; 6] = [
    "string",
    "boolean",
    "integer",
    "decimal",
    "dateTime",
    "reference",
];

/// One declared attribute: a simple type, single- or multi-valued.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeclaredAttr {
    /// The declared spelling; values sent in any case are stored under it.
    pub name: String,
    pub ty: AttrType,
    pub multi: bool,
}

impl DeclaredAttr {
    /// The definition a filter or sort compares this attribute's values by: its type, and
    /// RFC 7643's default caseExact=false.
    pub fn leaf(&self) -> &'static Attr {
        leaf(self.ty)
    }

    fn to_json(&self) -> Value {
        let mut m = Map::new();
        m.insert("name".into(), json!(self.name));
        m.insert("type".into(), json!(self.ty.as_str()));
        m.insert("multiValued".into(), json!(self.multi));
        m.insert(
            "description".into(),
            json!("Declared in the org's scimd config."),
        );
        m.insert("required".into(), json!(false));
        if matches!(self.ty, AttrType::String | AttrType::Reference) {
            m.insert("caseExact".into(), json!(false));
        }
        if self.ty == AttrType::Reference {
            m.insert("referenceTypes".into(), json!(["external"]));
        }
        m.insert("mutability".into(), json!("readWrite"));
        m.insert("returned".into(), json!("default"));
        m.insert("uniqueness".into(), json!("none"));
        Value::Object(m)
    }
}

/// One declared extension of one resource type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeclaredExtension {
    /// The URN as declared; values sent under any case of it are stored under this spelling.
    pub urn: String,
    pub resource: ResourceType,
    pub attributes: Vec<DeclaredAttr>,
}

impl DeclaredExtension {
    /// The extension `urn` of `resource` with `attributes` as (name, type as the config spells
    /// it, multi-valued); None when a type is not one of [`parse_type`]'s.
    pub fn of(
        urn: &str,
        resource: ResourceType,
        attributes: &[(&str, &str, bool)],
    ) -> Option<DeclaredExtension> {
        let attributes = attributes
            .iter()
            .map(|&(name, ty, multi)| {
                Some(DeclaredAttr {
                    name: name.to_string(),
                    ty: parse_type(ty)?,
                    multi,
                })
            })
            .collect::<Option<Vec<_>>>()?;
        Some(DeclaredExtension {
            urn: urn.to_string(),
            resource,
            attributes,
        })
    }

    /// The attribute with this name, matched case-insensitively.
    pub fn attr(&self, name: &str) -> Option<&DeclaredAttr> {
        self.attributes
            .iter()
            .find(|a| a.name.eq_ignore_ascii_case(name))
    }

    /// The extension as a `/Schemas` resource; `location` is the absolute URL of the document.
    pub fn to_json(&self, location: &str) -> Value {
        let attrs: Vec<Value> = self.attributes.iter().map(DeclaredAttr::to_json).collect();
        let name = self.urn.rsplit(':').find(|s| !s.is_empty()).unwrap_or("");
        json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Schema"],
            "id": self.urn,
            "name": name,
            "description": format!(
                "{} extension declared in the org's scimd config",
                self.resource.name()
            ),
            "attributes": attrs,
            "meta": {"resourceType": "Schema", "location": location},
        })
    }
}

/// An org's declared extensions, checked (see [`check_urn`], [`check_attr_name`]) when the
/// config is read. The default declares nothing.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Declared {
    extensions: Vec<DeclaredExtension>,
}

static NONE: Declared = Declared {
    extensions: Vec::new(),
};

impl Declared {
    /// The declarations, checked by the caller: at most [`MAX_EXTENSIONS`], URNs that pass
    /// [`check_urn`] and differ case-insensitively, none under another, attribute names that
    /// pass [`check_attr_name`] and differ case-insensitively within their extension.
    pub fn new(extensions: Vec<DeclaredExtension>) -> Declared {
        Declared { extensions }
    }

    /// No declarations.
    pub fn none() -> &'static Declared {
        &NONE
    }

    /// Every declared extension, in declaration order.
    pub fn all(&self) -> &[DeclaredExtension] {
        &self.extensions
    }

    /// The extensions declared for `rt`.
    pub fn of(&self, rt: ResourceType) -> impl Iterator<Item = &DeclaredExtension> {
        self.extensions.iter().filter(move |e| e.resource == rt)
    }

    /// The extension of `rt` with this URN, matched case-insensitively.
    pub fn find(&self, rt: ResourceType, urn: &str) -> Option<&DeclaredExtension> {
        self.of(rt).find(|e| e.urn.eq_ignore_ascii_case(urn))
    }

    /// Any extension with this URN, whatever its resource type.
    pub fn find_any(&self, urn: &str) -> Option<&DeclaredExtension> {
        self.extensions
            .iter()
            .find(|e| e.urn.eq_ignore_ascii_case(urn))
    }

    /// The attribute `name` of the extension `urn` of `rt`, both matched case-insensitively.
    pub fn resolve(
        &self,
        rt: ResourceType,
        urn: &str,
        name: &str,
    ) -> Option<(&DeclaredExtension, &DeclaredAttr)> {
        let ext = self.find(rt, urn)?;
        Some((ext, ext.attr(name)?))
    }

    /// The `/ResourceTypes` document of `rt`, with this org's declared extensions of it listed
    /// after the built-in ones as `schemaExtensions` (`required: false`).
    pub fn resource_type_json(&self, rt: ResourceType, base: &str) -> Value {
        let mut doc = rt.to_json(base);
        let declared: Vec<Value> = self
            .of(rt)
            .map(|e| json!({"schema": e.urn, "required": false}))
            .collect();
        if declared.is_empty() {
            return doc;
        }
        match doc
            .get_mut("schemaExtensions")
            .and_then(Value::as_array_mut)
        {
            Some(list) => list.extend(declared),
            None => doc["schemaExtensions"] = Value::Array(declared),
        }
        doc
    }
}

/// The type a declaration names, as RFC 7643 spells it (`dateTime`, not `datetime`); complex
/// and binary types cannot be declared.
pub fn parse_type(name: &str) -> Option<AttrType> {
    let ty = match name {
        "string" => AttrType::String,
        "boolean" => AttrType::Boolean,
        "integer" => AttrType::Integer,
        "decimal" => AttrType::Decimal,
        "dateTime" => AttrType::DateTime,
        "reference" => AttrType::Reference,
        _ => return None,
    };
    Some(ty)
}

/// The comparison definition of a declared attribute of type `ty`.
pub fn leaf(ty: AttrType) -> &'static Attr {
    const fn def(ty: AttrType) -> Attr {
        Attr::new("", ty, "")
    }
    static STRING: Attr = def(AttrType::String);
    static BOOLEAN: Attr = def(AttrType::Boolean);
    static INTEGER: Attr = def(AttrType::Integer);
    static DECIMAL: Attr = def(AttrType::Decimal);
    static DATE_TIME: Attr = def(AttrType::DateTime);
    static REFERENCE: Attr = def(AttrType::Reference);
    match ty {
        AttrType::Boolean => &BOOLEAN,
        AttrType::Integer => &INTEGER,
        AttrType::Decimal => &DECIMAL,
        AttrType::DateTime => &DATE_TIME,
        AttrType::Reference => &REFERENCE,
        _ => &STRING,
    }
}

/// Checks a URN to declare: `urn:` then segments of ASCII letters, digits, `-`, `_` and `.`
/// separated by single colons (what a filter or PATCH path can name), at most [`MAX_URN_LEN`]
/// bytes, and not a schema scimd defines (the core schemas, the Enterprise extension, SCIM's
/// messages) nor under one.
pub fn check_urn(urn: &str) -> Result<(), String> {
    let lower = urn.to_ascii_lowercase();
    if !lower.starts_with("urn:") {
        return Err(format!("{urn:?} is not a URN: it must start with \"urn:\""));
    }
    if urn.len() > MAX_URN_LEN {
        return Err(format!(
            "the URN is {} bytes long; at most {MAX_URN_LEN} are allowed",
            urn.len()
        ));
    }
    let segments: Vec<&str> = urn.split(':').collect();
    let ok_chars = urn
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'));
    if !ok_chars || segments.len() < 3 || segments.iter().any(|s| s.is_empty()) {
        return Err(format!(
            "{urn:?} is not a URN scimd can declare: after \"urn:\" it needs at least two \
             segments of letters, digits, '-', '_' or '.', separated by single colons, such as \
             \"urn:okta:custom:user:1.0\""
        ));
    }
    let holds_builtin = ResourceType::ALL
        .iter()
        .flat_map(|rt| rt.extensions())
        .any(|ext| nests(urn, ext.id));
    if holds_builtin || !is_undeclared(urn) {
        return Err(format!(
            "{urn:?} is a schema scimd defines itself (or under one); declare only custom \
             extensions"
        ));
    }
    Ok(())
}

/// Whether one URN is the other or under it (`urn:a:b` and `urn:a:b:c`), case-insensitively:
/// a key naming the longer one could also be read as an attribute of the shorter, so two
/// declarations may not nest.
pub fn nests(a: &str, b: &str) -> bool {
    let (a, b) = (a.to_ascii_lowercase(), b.to_ascii_lowercase());
    let (short, long) = if a.len() <= b.len() { (a, b) } else { (b, a) };
    long.starts_with(&short) && matches!(long.as_bytes().get(short.len()), None | Some(b':'))
}

/// Checks a declared attribute name: ATTRNAME of RFC 7643 (a letter, then letters, digits, `-`
/// or `_`), at most [`MAX_ATTR_NAME_LEN`] bytes.
pub fn check_attr_name(name: &str) -> Result<(), String> {
    let mut bytes = name.bytes();
    let ok = matches!(bytes.next(), Some(b) if b.is_ascii_alphabetic())
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if !ok {
        return Err(format!(
            "{name:?} is not a valid attribute name: a letter, then letters, digits, '-' or '_'"
        ));
    }
    if name.len() > MAX_ATTR_NAME_LEN {
        return Err(format!(
            "the attribute name is {} bytes long; at most {MAX_ATTR_NAME_LEN} are allowed",
            name.len()
        ));
    }
    Ok(())
}
