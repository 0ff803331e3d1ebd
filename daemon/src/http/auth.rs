//! Bearer-token checks that cost the same whether the org named in the path exists or not: the
//! presented token is always hashed and compared in constant time, against a dummy digest when
//! the org is unknown, so neither the answer nor its timing tells which org names exist.

use sha2::{Digest, Sha256};
use subtle::{Choice, ConstantTimeEq};

/// What an unknown org's tokens are taken to be: one digest that no token hashes to in practice
/// (finding a SHA-256 preimage of it is infeasible), compared like a real org's single token.
const NOBODY: [u8; 32] = [0x5c; 32];

/// Whether `token` hashes to one of `stored` (an org's token digests, `None` for an org that
/// does not exist). The same hash as `scimd_config::OrgConfig::token_matches`: SHA-256 of the
/// token text.
pub(super) fn token_valid(stored: Option<&[[u8; 32]]>, token: &str) -> bool {
    check(stored, token, |t| Sha256::digest(t.as_bytes()).into())
}

/// [`token_valid`] with the hash passed in, so a test can see it is computed on every path.
fn check(stored: Option<&[[u8; 32]]>, token: &str, digest: impl FnOnce(&str) -> [u8; 32]) -> bool {
    let presented = digest(token);
    let hashes = stored.unwrap_or(std::slice::from_ref(&NOBODY));
    // Every stored digest is compared, with no early exit, so timing tells neither which one
    // matched nor how many bytes did.
    let mut found = Choice::from(0);
    for hash in hashes {
        found |= hash.ct_eq(&presented);
    }
    // The unknown org's comparison is made like a real one and then discarded.
    bool::from(found) && stored.is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sha(t: &str) -> [u8; 32] {
        Sha256::digest(t.as_bytes()).into()
    }

    #[test]
    fn an_unknown_org_hashes_the_token_and_refuses_it() {
        let mut hashed = Vec::new();
        let valid = check(None, "scimd_guess", |t| {
            hashed.push(t.to_string());
            sha(t)
        });
        assert!(!valid);
        assert_eq!(hashed, ["scimd_guess"]);
    }

    #[test]
    fn a_known_org_hashes_once_and_matches_any_of_its_tokens() {
        let stored = [sha("one"), sha("two")];
        for (token, want) in [("one", true), ("two", true), ("three", false)] {
            let mut calls = 0;
            let valid = check(Some(&stored), token, |t| {
                calls += 1;
                sha(t)
            });
            assert_eq!((valid, calls), (want, 1), "{token}");
        }
        // An org without tokens still hashes what it was sent, and refuses it.
        let mut calls = 0;
        assert!(!check(Some(&[]), "one", |t| {
            calls += 1;
            sha(t)
        }));
        assert_eq!(calls, 1);
    }

    #[test]
    fn the_hash_is_the_one_the_config_stores() {
        let token = scimd_config::token::generate();
        let hex: String = sha(&token).iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(scimd_config::token::hash(&token), format!("sha256:{hex}"));
        assert!(token_valid(Some(&[sha(&token)]), &token));
    }
}
