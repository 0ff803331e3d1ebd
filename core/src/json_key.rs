//! Hashing of JSON values that agrees with serde_json's `==`, for linear de-duplication.
//!
//! `serde_json::Value` is not `Hash`. Multi-valued attributes are deduplicated by value equality,
//! and a scan with `Vec::contains` makes that quadratic: thousands of emails in one body took
//! seconds. [`JsonKey`] lets the values themselves go into a `HashSet`.

use std::collections::HashSet;
use std::hash::{Hash, Hasher};

use serde_json::Value;

/// A borrowed value, hashed and compared the way `Value`'s `PartialEq` compares.
///
/// Objects compare equal whatever their key order (`preserve_order` keeps insertion order, but
/// equality ignores it), so their entries are hashed in key order. Numbers compare by
/// representation (`1` is not `1.0`) and `-0.0 == 0.0`; equal values always hash alike, unequal
/// ones merely may.
#[derive(Debug, Clone, Copy)]
pub(crate) struct JsonKey<'a>(pub(crate) &'a Value);

impl PartialEq for JsonKey<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.0 == other.0
    }
}

impl Eq for JsonKey<'_> {}

impl Hash for JsonKey<'_> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        hash_value(self.0, state);
    }
}

fn hash_value<H: Hasher>(v: &Value, state: &mut H) {
    match v {
        Value::Null => state.write_u8(0),
        Value::Bool(b) => {
            state.write_u8(1);
            b.hash(state);
        }
        Value::Number(n) => {
            state.write_u8(2);
            if let Some(u) = n.as_u64() {
                u.hash(state);
            } else if let Some(i) = n.as_i64() {
                i.hash(state);
            } else if let Some(f) = n.as_f64() {
                // -0.0 equals 0.0 and must hash alike.
                let f = if f == 0.0 { 0.0 } else { f };
                f.to_bits().hash(state);
            }
        }
        Value::String(s) => {
            state.write_u8(3);
            s.hash(state);
        }
        Value::Array(items) => {
            state.write_u8(4);
            state.write_usize(items.len());
            for item in items {
                hash_value(item, state);
            }
        }
        Value::Object(m) => {
            state.write_u8(5);
            state.write_usize(m.len());
            let mut entries: Vec<(&String, &Value)> = m.iter().collect();
            entries.sort_unstable_by(|a, b| a.0.cmp(b.0));
            for (k, v) in entries {
                k.hash(state);
                hash_value(v, state);
            }
        }
    }
}

/// `items` without the ones equal to an element of `existing` or to an earlier item, in order:
/// what appending each item "unless already present" leaves, in expected linear time.
pub(crate) fn unseen(existing: &[Value], items: Vec<Value>) -> Vec<Value> {
    let mut seen: HashSet<JsonKey<'_>> = existing.iter().map(JsonKey).collect();
    let keep: Vec<bool> = items.iter().map(|v| seen.insert(JsonKey(v))).collect();
    items
        .into_iter()
        .zip(keep)
        .filter_map(|(v, keep)| keep.then_some(v))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::collections::hash_map::DefaultHasher;

    fn hash(v: &Value) -> u64 {
        let mut h = DefaultHasher::new();
        JsonKey(v).hash(&mut h);
        h.finish()
    }

    #[test]
    fn equal_values_hash_alike() {
        let pairs = [
            (
                json!({"a":1,"b":[true,null]}),
                json!({"b":[true,null],"a":1}),
            ),
            (json!(-0.0), json!(0.0)),
            (
                json!({"x":{"q":"1","p":"2"}}),
                json!({"x":{"p":"2","q":"1"}}),
            ),
        ];
        for (a, b) in pairs {
            assert_eq!(a, b);
            assert_eq!(hash(&a), hash(&b), "{a} {b}");
        }
        assert_ne!(json!(1), json!(1.0));
        assert_ne!(JsonKey(&json!("a")), JsonKey(&json!("A")));
    }

    #[test]
    fn unseen_keeps_first_occurrences_in_order() {
        let existing = vec![json!({"value":"a","type":"work"}), json!("s")];
        let items = vec![
            json!({"type":"work","value":"a"}),
            json!({"value":"b"}),
            json!("s"),
            json!({"value":"b"}),
            json!({"value":"c"}),
            json!(1),
            json!(1.0),
        ];
        assert_eq!(
            unseen(&existing, items),
            vec![
                json!({"value":"b"}),
                json!({"value":"c"}),
                json!(1),
                json!(1.0)
            ]
        );
        assert!(unseen(&[], Vec::new()).is_empty());
    }
}
