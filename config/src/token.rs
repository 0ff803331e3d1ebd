//! Bearer tokens: how they are minted and how their hashes are written in the config file.
//!
//! Only `sha256:<hex>` hashes ever reach the file; the plaintext is shown to the operator once.

use rand::rand_core::UnwrapErr;
use rand::rngs::SysRng;
use rand::Rng;
use sha2::{Digest, Sha256};

/// Recognisable prefix, so a leaked token is easy to spot in logs and by secret scanners.
pub const PREFIX: &str = "scimd_";

/// How stored hashes start in the config file.
pub const HASH_PREFIX: &str = "sha256:";

const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// 62^43 > 2^256 > 62^42: 43 digits hold any 32-byte number, so every token has the same length.
const BODY_LEN: usize = 43;

/// A fresh token: `scimd_` followed by 32 bytes from the OS generator, written as 43 base62
/// characters (256 bits of entropy).
pub fn generate() -> String {
    let mut bytes = [0u8; 32];
    // `UnwrapErr` panics if the OS cannot give randomness, as rand 0.8's `OsRng` did: there is
    // no secret to make without it.
    UnwrapErr(SysRng).fill_bytes(&mut bytes);
    let mut token = String::with_capacity(PREFIX.len() + BODY_LEN);
    token.push_str(PREFIX);
    token.push_str(&base62(&bytes));
    token
}

/// The form stored in the config file: `sha256:` followed by 64 lowercase hex digits.
pub fn hash(token: &str) -> String {
    format!("{HASH_PREFIX}{}", hex::encode(digest(token)))
}

/// SHA-256 of the token text.
pub(crate) fn digest(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// Decodes a stored `sha256:<64 lowercase hex>` hash.
pub(crate) fn parse_hash(stored: &str) -> Option<[u8; 32]> {
    let hex_part = stored.strip_prefix(HASH_PREFIX)?;
    // Lowercase only, so one token has exactly one spelling in the file and diffs stay honest.
    if hex_part.len() != 64
        || !hex_part
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        return None;
    }
    let mut out = [0u8; 32];
    hex::decode_to_slice(hex_part, &mut out).ok()?;
    Some(out)
}

/// Big-endian bytes as a fixed-width base62 number, by schoolbook long division.
fn base62(bytes: &[u8; 32]) -> String {
    let mut number = *bytes;
    let mut digits = [0u8; BODY_LEN];
    for digit in digits.iter_mut().rev() {
        let mut remainder: u32 = 0;
        for byte in number.iter_mut() {
            let acc = (remainder << 8) | u32::from(*byte);
            // acc < 62 * 256, so the quotient fits a byte.
            *byte = (acc / 62) as u8;
            remainder = acc % 62;
        }
        *digit = BASE62[remainder as usize];
    }
    digits.iter().map(|&d| char::from(d)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_tokens_have_prefix_fixed_length_and_differ() {
        let a = generate();
        let b = generate();
        assert_ne!(a, b);
        for token in [&a, &b] {
            assert!(token.starts_with("scimd_"), "{token}");
            assert_eq!(token.len(), PREFIX.len() + BODY_LEN, "{token}");
            assert!(token[PREFIX.len()..]
                .bytes()
                .all(|c| c.is_ascii_alphanumeric()));
        }
    }

    #[test]
    fn base62_covers_the_extremes() {
        assert_eq!(base62(&[0; 32]), "0".repeat(BODY_LEN));
        let max = base62(&[0xff; 32]);
        assert_eq!(max.len(), BODY_LEN);
        // 2^256 - 1 is below 62^43, so the top digit is not the largest one.
        assert_ne!(max.as_bytes()[0], b'z');
        let mut one = [0u8; 32];
        one[31] = 61;
        assert!(base62(&one).ends_with('z'));
        one[31] = 62;
        assert!(base62(&one).ends_with("10"));
    }

    #[test]
    fn hash_is_lowercase_sha256_and_round_trips() {
        assert_eq!(
            hash("abc"),
            "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(parse_hash(&hash("abc")), Some(digest("abc")));
        let upper = hash("abc").to_uppercase().replace("SHA256:", "sha256:");
        assert_eq!(parse_hash(&upper), None);
        assert_eq!(parse_hash("sha256:abc"), None);
        assert_eq!(parse_hash("abc"), None);
    }
}
