//! The Standard Webhooks signature (<https://www.standardwebhooks.com>) every delivery
//! carries: HMAC-SHA256 over the message id, the time and the body, keyed with the endpoint's
//! secret from the config.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use hmac::digest::KeyInit;
use hmac::{Hmac, Mac};
use scimd_config::WebhookSecret;
use sha2::Sha256;

/// The `webhook-signature` header value of one delivery: `v1,` followed by the base64 of
/// HMAC-SHA256, keyed with `secret`, of `{msg_id}.{timestamp}.` and then `body`.
///
/// `msg_id` is the `webhook-id` header, `timestamp` the `webhook-timestamp` header (Unix
/// seconds), and `body` the exact bytes sent.
pub fn sign(secret: &WebhookSecret, msg_id: &str, timestamp: i64, body: &[u8]) -> String {
    let timestamp = timestamp.to_string();
    let mac = hmac_sha256(
        secret.key(),
        &[msg_id.as_bytes(), b".", timestamp.as_bytes(), b".", body],
    );
    format!("v1,{}", STANDARD.encode(mac))
}

/// HMAC-SHA256 of the concatenated `parts` under `key`, which must be at most one SHA-256
/// block (64 bytes; every [`WebhookSecret`] is).
///
/// The key goes in zero-padded to the block, which is exactly what HMAC does to a short key
/// before anything else (RFC 2104), so the result is the same; doing it here picks the
/// fixed-size constructor, which cannot fail, over the slice one and its error path.
fn hmac_sha256(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    let mut block = hmac::digest::Key::<Hmac<Sha256>>::default();
    let n = key.len().min(block.len());
    block[..n].copy_from_slice(&key[..n]);
    let mut mac = <Hmac<Sha256> as KeyInit>::new(&block);
    for part in parts {
        mac.update(part);
    }
    mac.finalize().into_bytes().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    #[test]
    fn sign_matches_rfc_4231_and_the_standard_webhooks_example() {
        // RFC 4231, test case 2: HMAC-SHA256 itself, with a key shorter than the block.
        let mac = hmac_sha256(b"Jefe", &[b"what do ya want ", b"for nothing?"]);
        assert_eq!(
            hex(&mac),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        // RFC 4231, test case 1 (a 20-byte key).
        assert_eq!(
            hex(&hmac_sha256(&[0x0b; 20], &[b"Hi There"])),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"
        );
        // The Standard Webhooks spec's own example.
        let secret: WebhookSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw".parse().unwrap();
        let id = "msg_p5jXN8AQM9LWM0D4loKWxJek";
        let body = br#"{"test": 2432232314}"#;
        let signature = sign(&secret, id, 1614265330, body);
        assert_eq!(signature, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
        assert_ne!(sign(&secret, id, 1614265331, body), signature);
    }
}
