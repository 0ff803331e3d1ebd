//! Reads inside one redb read transaction: a resource, its links, and index lookups.

use scimd_core::ResourceType;
use serde_json::Value;

use super::error::Result;
use super::model::{decode, meta_of, rt_table, table_name, Link, Lookup, Resource};
use super::schema::*;

/// Reads within one read transaction.
pub(super) struct Reader<'a> {
    pub(super) txn: &'a redb::ReadTransaction,
}

impl Reader<'_> {
    pub(super) fn get(
        &self,
        org: &str,
        rt: ResourceType,
        id: &str,
        with_links: bool,
    ) -> Result<Option<Resource>> {
        let table = self.txn.open_table(rt_table(rt))?;
        let Some(v) = table.get((org, id))? else {
            return Ok(None);
        };
        let rec = decode(table_name(rt), id, v.value())?;
        let links = if with_links {
            Some(self.links(org, rt, id)?)
        } else {
            None
        };
        Ok(Some(Resource {
            id: id.to_string(),
            meta: meta_of(&rec),
            attrs: rec.attrs,
            links,
        }))
    }

    pub(super) fn links(&self, org: &str, rt: ResourceType, id: &str) -> Result<Vec<Link>> {
        let mut out = Vec::new();
        match rt {
            ResourceType::Group => {
                let members = self.txn.open_table(MEMBERS)?;
                for entry in members.range((org, id, "")..)? {
                    let (k, v) = entry?;
                    let (o, g, u) = k.value();
                    if o != org || g != id {
                        break;
                    }
                    out.push(Link {
                        id: u.to_string(),
                        display: v.value().to_string(),
                    });
                }
            }
            ResourceType::User => {
                let member_of = self.txn.open_table(MEMBER_OF)?;
                let groups = self.txn.open_table(GROUPS)?;
                for entry in member_of.range((org, id, "")..)? {
                    let (k, _) = entry?;
                    let (o, u, g) = k.value();
                    if o != org || u != id {
                        break;
                    }
                    if let Some(v) = groups.get((org, g))? {
                        let rec = decode("groups", g, v.value())?;
                        let display = rec
                            .attrs
                            .get("displayName")
                            .and_then(Value::as_str)
                            .unwrap_or_default()
                            .to_string();
                        out.push(Link {
                            id: g.to_string(),
                            display,
                        });
                    }
                }
            }
        }
        Ok(out)
    }

    pub(super) fn lookup(&self, org: &str, lookup: &Lookup) -> Result<Vec<String>> {
        let mut ids = Vec::new();
        match lookup {
            Lookup::UserName(name) => {
                let t = self.txn.open_table(USER_BY_NAME)?;
                if let Some(v) = t.get((org, name.to_lowercase().as_str()))? {
                    ids.push(v.value().to_string());
                }
            }
            Lookup::DisplayName(name) => {
                let t = self.txn.open_table(GROUP_BY_NAME)?;
                if let Some(v) = t.get((org, name.to_lowercase().as_str()))? {
                    ids.push(v.value().to_string());
                }
            }
            Lookup::Email(email) => {
                let t = self.txn.open_multimap_table(USER_BY_EMAIL)?;
                for v in t.get((org, email.to_lowercase().as_str()))? {
                    ids.push(v?.value().to_string());
                }
            }
            Lookup::ExternalId(ext) => {
                // The caller decides the resource type by which index it asks; external ids of
                // both types live in their own tables.
                let t = self.txn.open_multimap_table(USER_BY_EXTERNAL_ID)?;
                for v in t.get((org, ext.as_str()))? {
                    ids.push(v?.value().to_string());
                }
                let t = self.txn.open_multimap_table(GROUP_BY_EXTERNAL_ID)?;
                for v in t.get((org, ext.as_str()))? {
                    ids.push(v?.value().to_string());
                }
            }
        }
        Ok(ids)
    }
}
