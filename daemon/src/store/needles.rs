//! Whether a stored record, as the JSON text a backend keeps, can match a filter whose
//! needles (`Source::Matching`) are given: what a backend checks before it decodes a record
//! or sends it on. It may say yes when the filter does not match; never no when it does.

use memchr::memmem;

/// Whether `json` holds each of `needles` (ASCII-lowercased), ignoring ASCII case. Text with
/// any non-ASCII byte always may: Unicode case folding, which the filter uses, can turn a
/// non-ASCII letter into an ASCII one (the Kelvin sign into `k`).
pub(crate) fn may_match(json: &[u8], needles: &[String]) -> bool {
    if needles.is_empty() || !json.is_ascii() {
        return true;
    }
    let lower = json.to_ascii_lowercase();
    needles
        .iter()
        .all(|n| memmem::find(&lower, n.as_bytes()).is_some())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_may_match_when_it_holds_every_needle_or_any_non_ascii() {
        let n = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let rec = br#"{"attrs":{"userName":"Ann@Acme.com","title":"Engineer"}}"#;
        assert!(may_match(rec, &n(&["ann@acme", "engineer"])));
        assert!(!may_match(rec, &n(&["ann@acme", "manager"])));
        assert!(may_match(rec, &[]));
        // The Kelvin sign: its record passes whatever the needles.
        let kelvin = "{\"attrs\":{\"name\":\"\u{212A}elvin\"}}".as_bytes();
        assert!(may_match(kelvin, &n(&["kel", "nowhere"])));
    }
}
