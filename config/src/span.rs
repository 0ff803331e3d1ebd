//! Maps between key paths and positions in the TOML text, so every error can point at its line.
//!
//! serde hands the validator plain values without positions, so positions come from a second,
//! span-keeping parse of the same text (`toml_edit::ImDocument`).

use std::fmt;
use std::ops::Range;

use toml_edit::{ImDocument, Item, Table, TableLike, Value};

/// One step of a key path: a table key or an array index.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Seg {
    Key(String),
    Index(usize),
}

/// A key path such as `orgs.acme.tokens[0]`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct KeyPath(pub(crate) Vec<Seg>);

impl KeyPath {
    pub(crate) fn key(&self, key: &str) -> KeyPath {
        let mut segs = self.0.clone();
        segs.push(Seg::Key(key.to_owned()));
        KeyPath(segs)
    }

    pub(crate) fn index(&self, index: usize) -> KeyPath {
        let mut segs = self.0.clone();
        segs.push(Seg::Index(index));
        KeyPath(segs)
    }
}

impl fmt::Display for KeyPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, seg) in self.0.iter().enumerate() {
            match seg {
                Seg::Key(key) => {
                    if i > 0 {
                        f.write_str(".")?;
                    }
                    if is_bare_key(key) {
                        f.write_str(key)?;
                    } else {
                        // Quote the way TOML would, so the printed path can be pasted back.
                        write!(f, "{key:?}")?;
                    }
                }
                Seg::Index(index) => write!(f, "[{index}]")?,
            }
        }
        Ok(())
    }
}

fn is_bare_key(key: &str) -> bool {
    !key.is_empty()
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// 1-based line and column (in characters) of a byte offset into `text`.
pub(crate) fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(text.len());
    // An offset inside a multi-byte character would make the slice below panic.
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let line = before.matches('\n').count() + 1;
    let col = before[line_start..].chars().count() + 1;
    (line, col)
}

/// Span of the value at `path`, falling back to its key (or the nearest ancestor that has one).
pub(crate) fn value_span(doc: &ImDocument<&str>, path: &KeyPath) -> Option<Range<usize>> {
    find_span(doc, path, false)
}

/// Span of the key at the end of `path`, for errors about the name itself (an org name).
pub(crate) fn key_span(doc: &ImDocument<&str>, path: &KeyPath) -> Option<Range<usize>> {
    find_span(doc, path, true)
}

fn find_span(doc: &ImDocument<&str>, path: &KeyPath, want_key: bool) -> Option<Range<usize>> {
    enum Node<'a> {
        Item(&'a Item),
        Value(&'a Value),
        /// One `[[...]]` table of an array of tables (`orgs.acme.webhooks[0]`).
        Table(&'a Table),
    }
    let mut node = Node::Item(doc.as_item());
    let mut best = None;
    let last = path.0.len().saturating_sub(1);
    for (i, seg) in path.0.iter().enumerate() {
        let next = match (seg, &node) {
            (Seg::Key(key), Node::Item(item)) => item
                .as_table_like()
                .and_then(|t| t.get_key_value(key))
                .map(|(k, v)| (k.span(), Node::Item(v))),
            (Seg::Key(key), Node::Value(Value::InlineTable(t))) => {
                t.get_key_value(key).map(|(k, v)| (k.span(), Node::Item(v)))
            }
            (Seg::Key(key), Node::Table(t)) => {
                t.get_key_value(key).map(|(k, v)| (k.span(), Node::Item(v)))
            }
            (Seg::Index(index), Node::Item(Item::ArrayOfTables(a))) => {
                a.get(*index).map(|t| (None, Node::Table(t)))
            }
            (Seg::Index(index), Node::Item(item)) => item
                .as_array()
                .and_then(|a| a.get(*index))
                .map(|v| (None, Node::Value(v))),
            (Seg::Index(index), Node::Value(Value::Array(a))) => {
                a.get(*index).map(|v| (None, Node::Value(v)))
            }
            _ => None,
        };
        let Some((key_span, child)) = next else {
            return best;
        };
        let child_span = match &child {
            Node::Item(item) => item.span(),
            Node::Value(value) => value.span(),
            Node::Table(table) => table.span(),
        };
        best = if i == last && want_key {
            key_span.or(child_span).or(best)
        } else {
            child_span.or(key_span).or(best)
        };
        node = child;
    }
    best
}

/// The most specific key path whose key or value covers `offset`, to name the key in errors that
/// toml reports with a position only (unknown field, wrong type).
pub(crate) fn key_at(doc: &ImDocument<&str>, offset: usize) -> Option<KeyPath> {
    let mut best: Option<(usize, KeyPath)> = None;
    walk_table(doc.as_table(), &KeyPath::default(), offset, &mut best);
    best.map(|(_, path)| path)
}

fn consider(
    span: Option<Range<usize>>,
    path: &KeyPath,
    offset: usize,
    best: &mut Option<(usize, KeyPath)>,
) {
    let Some(span) = span else { return };
    // An empty span (end of a table) still points at something: treat it as one byte wide.
    let covers = span.start <= offset && (offset < span.end || offset == span.start);
    if !covers {
        return;
    }
    let width = span.end - span.start;
    if best.as_ref().is_none_or(|(w, _)| width <= *w) {
        *best = Some((width, path.clone()));
    }
}

fn walk_table(
    table: &dyn TableLike,
    prefix: &KeyPath,
    offset: usize,
    best: &mut Option<(usize, KeyPath)>,
) {
    for (name, _) in table.iter() {
        let Some((key, item)) = table.get_key_value(name) else {
            continue;
        };
        let path = prefix.key(name);
        consider(key.span(), &path, offset, best);
        consider(item.span(), &path, offset, best);
        walk_item(item, &path, offset, best);
    }
}

fn walk_item(item: &Item, path: &KeyPath, offset: usize, best: &mut Option<(usize, KeyPath)>) {
    match item {
        Item::Value(value) => walk_value(value, path, offset, best),
        Item::Table(table) => walk_table(table, path, offset, best),
        Item::ArrayOfTables(array) => {
            for (i, table) in array.iter().enumerate() {
                let path = path.index(i);
                consider(table.span(), &path, offset, best);
                walk_table(table, &path, offset, best);
            }
        }
        Item::None => {}
    }
}

fn walk_value(value: &Value, path: &KeyPath, offset: usize, best: &mut Option<(usize, KeyPath)>) {
    match value {
        Value::Array(array) => {
            for (i, element) in array.iter().enumerate() {
                let path = path.index(i);
                consider(element.span(), &path, offset, best);
                walk_value(element, &path, offset, best);
            }
        }
        Value::InlineTable(table) => walk_table(table, path, offset, best),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_col_counts_characters_from_one() {
        let text = "a = 1\nbé = \"x\"\n";
        assert_eq!(line_col(text, 0), (1, 1));
        assert_eq!(line_col(text, 4), (1, 5));
        assert_eq!(line_col(text, 6), (2, 1));
        // "bé = " is 6 bytes but 5 characters.
        assert_eq!(line_col(text, 12), (2, 6));
        assert_eq!(line_col(text, 999), (3, 1));
    }

    #[test]
    fn key_paths_print_like_toml() {
        let path = KeyPath::default()
            .key("orgs")
            .key("acme")
            .key("tokens")
            .index(0);
        assert_eq!(path.to_string(), "orgs.acme.tokens[0]");
        let odd = KeyPath::default().key("orgs").key("my org");
        assert_eq!(odd.to_string(), "orgs.\"my org\"");
    }

    #[test]
    fn spans_are_found_for_tables_dotted_keys_and_arrays() {
        let text =
            "listen = \"x\"\n[orgs.acme]\ntokens = [\"a\", \"b\"]\n[orgs]\nzed.enabled = 1\n";
        let doc = ImDocument::parse(text).unwrap();
        let at = |path: &KeyPath, key: bool| {
            let span = if key {
                key_span(&doc, path)
            } else {
                value_span(&doc, path)
            };
            line_col(text, span.unwrap().start)
        };
        let orgs = KeyPath::default().key("orgs");
        assert_eq!(at(&KeyPath::default().key("listen"), false), (1, 10));
        assert_eq!(at(&orgs.key("acme").key("tokens").index(1), false), (3, 16));
        assert_eq!(at(&orgs.key("acme"), true), (2, 7));
        assert_eq!(at(&orgs.key("zed").key("enabled"), false), (5, 15));
        assert_eq!(at(&orgs.key("zed"), true), (5, 1));
        let offset = text.find("\"b\"").unwrap() + 1;
        assert_eq!(
            key_at(&doc, offset).unwrap().to_string(),
            "orgs.acme.tokens[1]"
        );
    }

    #[test]
    fn spans_reach_into_arrays_of_tables() {
        let text = "[[orgs.a.webhooks]]\nurl = \"x\"\n[[orgs.a.webhooks]]\nurl = \"y\"\n";
        let doc = ImDocument::parse(text).unwrap();
        let hooks = KeyPath::default().key("orgs").key("a").key("webhooks");
        let at = |path: &KeyPath| line_col(text, value_span(&doc, path).unwrap().start);
        assert_eq!(at(&hooks.index(1).key("url")), (4, 7));
        assert_eq!(at(&hooks.index(1)), (3, 1));
        // Past the end: the nearest ancestor that exists.
        assert_eq!(at(&hooks.index(1).key("secret")), (3, 1));
    }
}
