//! `[orgs.NAME.extensions."urn:..."]`: the extensions an org declares, checked into core's
//! [`Declared`] (see `scimd_core::schema::declared` for what a declaration changes).
//!
//! Declarations apply on reload like every org setting: the daemon reads them per request.

use std::collections::BTreeMap;
use std::sync::Arc;

use scimd_core::schema::declared::{
    check_attr_name, check_urn, nests, parse_type, MAX_ATTRIBUTES, MAX_EXTENSIONS, TYPE_NAMES,
};
use scimd_core::schema::{Declared, DeclaredAttr, DeclaredExtension};
use scimd_core::ResourceType;

use crate::error::ConfigError;
use crate::raw::RawExtension;
use crate::span::{self, KeyPath};
use crate::validator::Validator;

impl Validator<'_> {
    /// The org's declared extensions; `org` is the org's key path.
    pub(crate) fn org_extensions(
        &self,
        org: &KeyPath,
        raw: BTreeMap<String, RawExtension>,
    ) -> Result<Arc<Declared>, ConfigError> {
        let key = org.key("extensions");
        if raw.len() > MAX_EXTENSIONS {
            return Err(self.invalid_name(
                &key,
                format!(
                    "{} extensions are declared; an org may declare at most {MAX_EXTENSIONS}",
                    raw.len()
                ),
            ));
        }
        let mut out: Vec<DeclaredExtension> = Vec::with_capacity(raw.len());
        for (urn, ext) in raw {
            let ext_key = key.key(&urn);
            check_urn(&urn).map_err(|m| self.invalid_name(&ext_key, m))?;
            if let Some(other) = out.iter().find(|e| nests(&e.urn, &urn)) {
                let why = if other.urn.eq_ignore_ascii_case(&urn) {
                    "URNs are case-insensitive"
                } else {
                    "one is under the other, so a key naming the longer could be read as an \
                     attribute of the shorter"
                };
                // Point at whichever comes later in the file: most likely the one just added.
                let other_key = key.key(&other.urn);
                let here = span::key_span(&self.doc, &ext_key).map(|s| s.start);
                let there = span::key_span(&self.doc, &other_key).map(|s| s.start);
                let (later, earlier) = if here >= there {
                    (&ext_key, other.urn.as_str())
                } else {
                    (&other_key, urn.as_str())
                };
                return Err(self.invalid_name(
                    later,
                    format!("clashes with the extension {earlier:?}: {why}"),
                ));
            }
            let declared = self.extension(&ext_key, urn, ext)?;
            out.push(declared);
        }
        Ok(Arc::new(Declared::new(out)))
    }

    fn extension(
        &self,
        key: &KeyPath,
        urn: String,
        raw: RawExtension,
    ) -> Result<DeclaredExtension, ConfigError> {
        let resource = match raw.resource.as_str() {
            "User" => ResourceType::User,
            "Group" => ResourceType::Group,
            other => {
                return Err(self.invalid(
                    &key.key("resource"),
                    format!("expected \"User\" or \"Group\", got {other:?}"),
                ))
            }
        };
        let attrs_key = key.key("attributes");
        if raw.attributes.len() > MAX_ATTRIBUTES {
            return Err(self.invalid_name(
                &attrs_key,
                format!(
                    "{} attributes are declared; an extension may declare at most \
                     {MAX_ATTRIBUTES}",
                    raw.attributes.len()
                ),
            ));
        }
        let mut attributes: Vec<DeclaredAttr> = Vec::with_capacity(raw.attributes.len());
        for (name, ty) in raw.attributes {
            let attr_key = attrs_key.key(&name);
            check_attr_name(&name).map_err(|m| self.invalid_name(&attr_key, m))?;
            if let Some(other) = attributes
                .iter()
                .find(|a| a.name.eq_ignore_ascii_case(&name))
            {
                return Err(self.invalid_name(
                    &attr_key,
                    format!(
                        "duplicate of attribute {:?}: attribute names are case-insensitive",
                        other.name
                    ),
                ));
            }
            let (ty, multi) = attr_type(&ty).ok_or_else(|| {
                self.invalid(
                    &attr_key,
                    format!(
                        "expected a type, one of {}, or a one-element array of one for a \
                         multi-valued attribute (such as [\"string\"]), got {ty}",
                        TYPE_NAMES.join(", ")
                    ),
                )
            })?;
            attributes.push(DeclaredAttr { name, ty, multi });
        }
        Ok(DeclaredExtension {
            urn,
            resource,
            attributes,
        })
    }
}

/// `"string"` (single-valued) or `["string"]` (multi-valued).
fn attr_type(v: &toml::Value) -> Option<(scimd_core::schema::AttrType, bool)> {
    match v {
        toml::Value::String(s) => Some((parse_type(s)?, false)),
        toml::Value::Array(items) => match items.as_slice() {
            [toml::Value::String(s)] => Some((parse_type(s)?, true)),
            _ => None,
        },
        _ => None,
    }
}
