//! Bearer tokens, checked once for every door: [`authenticate`] takes the org a route names,
//! the token presented and the scopes the route accepts (the SCIM API: the org's `tokens`, and
//! its `read_tokens` for reads; the events API and its snapshot: `event_tokens`), and answers
//! with the scope that matched or the refusal. It costs the same whether the org exists or not,
//! and whichever list holds the token: the token is hashed once and compared in constant time
//! with every digest of all three lists (against a dummy digest when the org is unknown), so
//! neither the answer nor its timing tells which org names exist or which list matched.

use scimd_config::{Config, OrgConfig};
use scimd_core::ScimError;
use sha2::{Digest, Sha256};
use subtle::{Choice, ConstantTimeEq};

/// What an unknown org's tokens are taken to be: one digest that no token hashes to in practice
/// (finding a SHA-256 preimage of it is infeasible), compared like a real org's single token.
const NOBODY: [u8; 32] = [0x5c; 32];

/// What an accepted token may do: which of the org's lists held it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Scope {
    /// One of `tokens`, the IdP's: all of the SCIM API.
    Write,
    /// One of `read_tokens`: SCIM reads only (`api::is_read`); a write answers 403.
    Read,
    /// One of `event_tokens`, a consumer's: the events API and its snapshot.
    Events,
}

/// The scopes the SCIM API accepts, the stronger first (a token in both lists writes).
pub(super) const SCIM: &[Scope] = &[Scope::Write, Scope::Read];
/// The scopes the events API and its snapshot accept.
pub(super) const EVENTS: &[Scope] = &[Scope::Events];

impl Scope {
    const ALL: [Scope; 3] = [Scope::Write, Scope::Read, Scope::Events];

    fn digests(self, org: &OrgConfig) -> &[[u8; 32]] {
        match self {
            Scope::Write => &org.tokens,
            Scope::Read => &org.read_tokens,
            Scope::Events => &org.event_tokens,
        }
    }
}

/// The org named `org_name` whose token of one of the `accepts` scopes `token` is (None: the
/// request had no well-formed bearer token), with the first of `accepts` that holds it. A
/// refusal is a 401 for a missing token, a token of no accepted scope and an unknown org alike
/// (one message, so tokens cannot probe org names), and a 403 for a disabled org's valid token.
pub(super) fn authenticate<'c>(
    config: &'c Config,
    org_name: &str,
    token: Option<&str>,
    accepts: &[Scope],
) -> Result<(&'c OrgConfig, Scope), ScimError> {
    // The events API names its token in its messages; the SCIM API's are the IdP's.
    let events = accepts == EVENTS;
    let Some(token) = token else {
        return Err(ScimError::Unauthorized(if events {
            "Missing or malformed Authorization header; send 'Authorization: Bearer <token>' \
             with the org's events token."
                .into()
        } else {
            "Missing or malformed Authorization header; send 'Authorization: Bearer <token>'."
                .into()
        }));
    };
    let shown = crate::activity::clip(org_name, scimd_config::MAX_ORG_NAME_LEN + 1);
    let refused = || {
        ScimError::Unauthorized(if events {
            format!(
                "The token is not an events token of org '{shown}'. Make one with \
                 'scimd token rotate --org {shown} --scope events'."
            )
        } else {
            format!(
                "The token is not valid for org '{shown}'. Rotate one with \
                 'scimd token rotate --org {shown}'."
            )
        })
    };
    let org = config.org(org_name);
    let held = check(org.map(|o| Scope::ALL.map(|s| s.digests(o))), token, sha256);
    let Some(scope) = accepts
        .iter()
        .copied()
        .find(|s| Scope::ALL.iter().zip(held).any(|(a, h)| a == s && h))
    else {
        return Err(refused());
    };
    let Some(org) = org else {
        return Err(refused());
    };
    if !org.enabled {
        return Err(ScimError::Forbidden(format!(
            "Org '{org_name}' is disabled in the server's configuration."
        )));
    }
    Ok((org, scope))
}

fn sha256(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// Which of an org's digest lists (`None` for an org that does not exist) hold `token`'s
/// hash, one answer per list, with the hash passed in so a test can see it is computed on
/// every path: the token is hashed once and compared with every digest of every list.
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
mod tests;
