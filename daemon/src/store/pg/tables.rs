//! Which PostgreSQL table holds what, and a stored row turned back into a record.

use scimd_core::ResourceType;
use tokio_postgres::Row;

use crate::store::error::{Result, StoreError};
use crate::store::model::Record;

/// The tables of one resource type.
pub(super) struct Tables {
    pub(super) records: &'static str,
}

impl Tables {
    pub(super) fn of(rt: ResourceType) -> Tables {
        match rt {
            ResourceType::User => Tables {
                records: "scimd_users",
            },
            ResourceType::Group => Tables {
                records: "scimd_groups",
            },
        }
    }
}

/// The record in columns `at..at + 4` of `row`: attrs (as text), created, modified, version.
pub(super) fn record_of(table: &'static str, id: &str, row: &Row, at: usize) -> Result<Record> {
    let corrupt = |cause: String| StoreError::Corrupt {
        table,
        key: id.to_string(),
        cause,
    };
    let attrs: String = row.try_get(at).map_err(|e| corrupt(e.to_string()))?;
    let attrs = serde_json::from_str(&attrs).map_err(|e| corrupt(e.to_string()))?;
    let version: i64 = row.try_get(at + 3).map_err(|e| corrupt(e.to_string()))?;
    Ok(Record {
        attrs,
        created: row.try_get(at + 1).map_err(|e| corrupt(e.to_string()))?,
        modified: row.try_get(at + 2).map_err(|e| corrupt(e.to_string()))?,
        version: u64::try_from(version).map_err(|e| corrupt(e.to_string()))?,
    })
}
