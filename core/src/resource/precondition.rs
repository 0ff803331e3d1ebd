//! `If-Match` / `If-None-Match` evaluation against a resource's version (RFC 7232 with weak
//! comparison, as SCIM versions are weak ETags; see [`super::etag`]).

/// Whether an `If-Match` or `If-None-Match` header value names `version`: `*`, or any listed
/// entity tag equal to it weakly (`W/"3"` and `"3"` both name version 3).
pub fn matches(header: &str, version: u64) -> bool {
    let want = version.to_string();
    header.split(',').map(str::trim).any(|tag| {
        if tag == "*" {
            return true;
        }
        let tag = tag.strip_prefix("W/").unwrap_or(tag);
        tag.strip_prefix('"').and_then(|t| t.strip_suffix('"')) == Some(want.as_str())
    })
}

#[cfg(test)]
mod tests {
    use super::matches;

    #[test]
    fn weak_and_strong_tags_and_lists() {
        let rows: &[(&str, u64, bool)] = &[
            ("W/\"3\"", 3, true),
            ("\"3\"", 3, true),
            ("*", 9, true),
            ("W/\"2\", W/\"3\"", 3, true),
            ("W/\"2\"", 3, false),
            ("3", 3, false),
            ("", 3, false),
            ("W/\"30\"", 3, false),
        ];
        for (h, v, want) in rows {
            assert_eq!(matches(h, *v), *want, "{h} vs {v}");
        }
    }
}
