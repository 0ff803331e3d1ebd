//! The index that repeated `add`s to one multi-valued attribute share, so each add checks for
//! duplicates and demotes other primaries without rescanning every element.

use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;

use super::values::{is_primary, ByHash};
use crate::json_key::JsonKey;
use serde_json::Value;

/// What appending to one multi-valued attribute needs to know about its elements.
pub(super) struct AppendIndex {
    /// Element positions by [`JsonKey`] hash.
    pub(super) by_hash: ByHash,
    /// Positions of every element that may be primary (a superset of those that are).
    pub(super) primaries: Vec<usize>,
    /// The array's length as indexed: any other length means the index is stale.
    pub(super) len: usize,
}

impl AppendIndex {
    pub(super) fn build(arr: &[Value], hasher: &RandomState) -> AppendIndex {
        let mut by_hash = ByHash::with_capacity(arr.len());
        for (i, e) in arr.iter().enumerate() {
            by_hash
                .entry(hasher.hash_one(JsonKey(e)))
                .or_default()
                .push(i);
        }
        let primaries = (0..arr.len())
            .filter(|&i| arr.get(i).is_some_and(is_primary))
            .collect();
        AppendIndex {
            by_hash,
            primaries,
            len: arr.len(),
        }
    }

    /// [`demote_other_primaries`] for the elements just `added`, touching only elements known to
    /// be possibly primary rather than the whole array, and re-indexing the ones it changes.
    pub(super) fn demote_other_primaries(
        &mut self,
        arr: &mut [Value],
        added: &[usize],
        hasher: &RandomState,
    ) {
        let winner = added
            .iter()
            .rev()
            .copied()
            .find(|&i| arr.get(i).is_some_and(is_primary));
        let Some(winner) = winner else {
            // Nothing added is primary, so the known primaries are still all there may be.
            return;
        };
        let others = self.primaries.iter().chain(added).copied();
        let others: Vec<usize> = others.filter(|&i| i != winner).collect();
        for i in others {
            let Some(element) = arr.get_mut(i) else {
                continue;
            };
            if !is_primary(element) {
                continue;
            }
            let before = hasher.hash_one(JsonKey(element));
            if let Some(obj) = element.as_object_mut() {
                obj.insert("primary".to_string(), Value::Bool(false));
            }
            let after = hasher.hash_one(JsonKey(element));
            if let Some(bucket) = self.by_hash.get_mut(&before) {
                bucket.retain(|&j| j != i);
            }
            self.by_hash.entry(after).or_default().push(i);
        }
        self.primaries = vec![winner];
    }
}
