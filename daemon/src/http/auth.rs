//! Bearer-token checks that cost the same whether the org named in the path exists or not: the
//! presented token is always hashed and compared in constant time, against a dummy digest when
//! the org is unknown, so neither the answer nor its timing tells which org names exist. A SCIM
//! request's token is compared against both of the org's lists (`tokens` and `read_tokens`)
//! in one pass, so the cost is the same whichever list holds it, or neither.

use sha2::{Digest, Sha256};
use subtle::{Choice, ConstantTimeEq};

/// What an unknown org's tokens are taken to be: one digest that no token hashes to in practice
/// (finding a SHA-256 preimage of it is infeasible), compared like a real org's single token.
const NOBODY: [u8; 32] = [0x5c; 32];

/// What an accepted SCIM token may do: which of the org's lists held it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Access {
    /// One of `tokens`, the IdP's: everything.
    Write,
    /// One of `read_tokens`: reads only (`api::is_read`); a write answers 403.
    Read,
}

/// Whether `token` hashes to one of `stored` (an org's token digests, `None` for an org that
/// does not exist). The same hash as `scimd_config::OrgConfig::token_matches`: SHA-256 of the
/// token text.
pub(super) fn token_valid(stored: Option<&[[u8; 32]]>, token: &str) -> bool {
    let [found] = check(stored.map(|s| [s]), token, sha256);
    found
}

/// Which of an org's digest lists (`None` for an org that does not exist) hold `token`'s
/// hash, one answer per list: the token is hashed once and compared with every digest of
/// every list, so the time taken does not say which list matched.
pub(super) fn lists_holding<const N: usize>(
    lists: Option<[&[[u8; 32]]; N]>,
    token: &str,
) -> [bool; N] {
    check(lists, token, sha256)
}

fn sha256(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// [`lists_holding`] with the hash passed in, so a test can see it is computed on every path.
fn check<const N: usize>(
    lists: Option<[&[[u8; 32]]; N]>,
    token: &str,
    digest: impl FnOnce(&str) -> [u8; 32],
) -> [bool; N] {
    let presented = digest(token);
    let known = lists.is_some();
    let nobody: &[[u8; 32]] = std::slice::from_ref(&NOBODY);
    let lists = lists.unwrap_or([nobody; N]);
    // Every stored digest of every list is compared, with no early exit, so timing tells
    // neither which one matched nor how many bytes did.
    lists.map(|hashes| {
        let mut found = Choice::from(0);
        for hash in hashes {
            found |= hash.ct_eq(&presented);
        }
        // The unknown org's comparison is made like a real one and then discarded.
        bool::from(found) && known
    })
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
        let valid = check::<2>(None, "scimd_guess", |t| {
            hashed.push(t.to_string());
            sha(t)
        });
        assert_eq!(valid, [false, false]);
        assert_eq!(hashed, ["scimd_guess"]);
    }

    #[test]
    fn a_known_org_hashes_once_and_matches_any_of_its_tokens() {
        let stored = [sha("one"), sha("two")];
        for (token, want) in [("one", true), ("two", true), ("three", false)] {
            let mut calls = 0;
            let [valid] = check(Some([&stored[..]]), token, |t| {
                calls += 1;
                sha(t)
            });
            assert_eq!((valid, calls), (want, 1), "{token}");
        }
        // An org without tokens still hashes what it was sent, and refuses it.
        let mut calls = 0;
        assert_eq!(
            check(Some([&[][..]]), "one", |t| {
                calls += 1;
                sha(t)
            }),
            [false]
        );
        assert_eq!(calls, 1);
    }

    #[test]
    fn two_lists_hash_once_and_say_which_one_holds_the_token() {
        let (write, read) = ([sha("w1"), sha("w2")], [sha("r1")]);
        for (token, want) in [
            ("w2", [true, false]),
            ("r1", [false, true]),
            ("other", [false, false]),
        ] {
            let mut calls = 0;
            let found = check(Some([&write[..], &read[..]]), token, |t| {
                calls += 1;
                sha(t)
            });
            assert_eq!((found, calls), (want, 1), "{token}");
        }
        // A token in neither list of a known org, and any token of an unknown org, are both
        // refused after the same single hash.
        assert_eq!(lists_holding(None, "r1"), [false, false]);
    }

    #[test]
    fn the_hash_is_the_one_the_config_stores() {
        let token = scimd_config::token::generate();
        let hex: String = sha(&token).iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(scimd_config::token::hash(&token), format!("sha256:{hex}"));
        assert!(token_valid(Some(&[sha(&token)]), &token));
    }
}
