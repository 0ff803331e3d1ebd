//! Keys of a path-less PATCH value (what each one names) and paths written back for error
//! details.

use crate::filter::AttrPath;
use crate::schema::{ResourceType, Schema};

/// What a key of a path-less value refers to.
pub(super) enum Key<'k> {
    Skip,
    Id,
    CoreSchema,
    Extension(&'static Schema),
    Attr {
        urn: Option<&'static str>,
        name: &'k str,
        sub: Option<&'k str>,
    },
}

/// Classifies a key of a path-less value: a plain or dotted name, a URN-qualified name, a whole
/// schema's object, or something to skip (`schemas`, an unknown schema's URN).
pub(super) fn classify_key(rt: ResourceType, key: &str) -> Key<'_> {
    if key.eq_ignore_ascii_case("schemas") {
        return Key::Skip;
    }
    if key.eq_ignore_ascii_case("id") {
        return Key::Id;
    }
    let core = rt.schema();
    if key.eq_ignore_ascii_case(core.id) {
        return Key::CoreSchema;
    }
    if let Some(ext) = rt.extension(key) {
        return Key::Extension(ext);
    }
    for schema in std::iter::once(core).chain(rt.extensions().iter().copied()) {
        if let Some(rest) = strip_urn(key, schema.id) {
            let (name, sub) = split_sub(rest);
            return Key::Attr {
                urn: Some(schema.id),
                name,
                sub,
            };
        }
    }
    // Another schema's attributes (Microsoft's ADSCIM group schema, say) are not ours.
    if key.get(..4).is_some_and(|p| p.eq_ignore_ascii_case("urn:")) {
        return Key::Skip;
    }
    let (name, sub) = split_sub(key);
    Key::Attr {
        urn: None,
        name,
        sub,
    }
}

/// The rest of `key` after `urn:`, matched case-insensitively.
pub(super) fn strip_urn<'k>(key: &'k str, urn: &str) -> Option<&'k str> {
    let head = key.get(..urn.len())?;
    if !head.eq_ignore_ascii_case(urn) {
        return None;
    }
    key.get(urn.len()..)?.strip_prefix(':')
}

/// `name.sub` split at the first dot; URNs are stripped before this, so their dots are gone.
pub(super) fn split_sub(key: &str) -> (&str, Option<&str>) {
    match key.split_once('.') {
        Some((name, sub)) => (name, Some(sub)),
        None => (key, None),
    }
}

/// The extension a path names as a whole, however the path parser split the URN.
pub(super) fn whole_extension(rt: ResourceType, a: &AttrPath) -> Option<&'static Schema> {
    if a.sub.is_some() {
        return None;
    }
    match &a.urn {
        Some(urn) if a.name.is_empty() => rt.extension(urn),
        Some(urn) => rt.extension(&format!("{urn}:{}", a.name)),
        None => rt.extension(&a.name),
    }
}

/// A path as the client wrote it, for error details.
pub(super) fn render(a: &AttrPath) -> String {
    let mut s = String::new();
    if let Some(urn) = &a.urn {
        s.push_str(urn);
        if !a.name.is_empty() {
            s.push(':');
        }
    }
    s.push_str(&a.name);
    if let Some(sub) = &a.sub {
        s.push('.');
        s.push_str(sub);
    }
    s
}
