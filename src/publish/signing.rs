//! Optional message signatures for consumers on a shared broker, in the Standard Webhooks scheme:
//! `webhook-signature: v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">`, one per key, so keys
//! can be rotated (README, "Signed messages").

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{KeyInit, Mac};
use sha2::Sha256;

/// Header with the message id that was signed (also the AMQP `message_id`).
pub const ID_HEADER: &str = "webhook-id";
/// Header with the signing time, Unix seconds (consumers may refuse old ones: replays).
pub const TIMESTAMP_HEADER: &str = "webhook-timestamp";
/// Header with the space-separated `v1,<base64>` signatures, one per configured key.
pub const SIGNATURE_HEADER: &str = "webhook-signature";
/// Prefix of a key, as Standard Webhooks writes them.
const KEY_PREFIX: &str = "whsec_";
/// The shortest key accepted (after base64 decoding).
const MIN_KEY_BYTES: usize = 24;

type HmacSha256 = hmac::Hmac<Sha256>;

/// Signs with every configured key; the first is the current one.
#[derive(Clone)]
pub struct Signer {
    keys: Vec<Vec<u8>>,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Signer({} keys)", self.keys.len())
    }
}

/// Decodes `whsec_<base64>` into the HMAC key.
pub fn parse_key(key: &str) -> Result<Vec<u8>, String> {
    const HOW: &str = "each signing key is whsec_ followed by the base64 of at least 24 random \
                       bytes, e.g. whsec_$(openssl rand -base64 32)";
    let encoded = key
        .trim()
        .strip_prefix(KEY_PREFIX)
        .ok_or_else(|| format!("a signing key does not start with {KEY_PREFIX}: {HOW}"))?;
    let bytes = STANDARD
        .decode(encoded)
        .map_err(|_| format!("a signing key is not valid base64 after {KEY_PREFIX}: {HOW}"))?;
    if bytes.len() < MIN_KEY_BYTES {
        return Err(format!(
            "a signing key has {} bytes, fewer than {MIN_KEY_BYTES}: {HOW}",
            bytes.len()
        ));
    }
    Ok(bytes)
}

/// The base64 HMAC-SHA256 of `{id}.{timestamp}.{body}` under `key`.
fn sign_one(key: &[u8], id: &str, timestamp: i64, body: &[u8]) -> String {
    let mut mac = HmacSha256::new_from_slice(key).expect("HMAC takes keys of any length");
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    STANDARD.encode(mac.finalize().into_bytes())
}

impl Signer {
    /// `None` when no key is configured (messages go unsigned).
    pub fn from_keys(keys: &[String]) -> Result<Option<Self>, String> {
        let keys = keys
            .iter()
            .filter(|k| !k.trim().is_empty())
            .map(|k| parse_key(k))
            .collect::<Result<Vec<_>, _>>()?;
        Ok((!keys.is_empty()).then_some(Self { keys }))
    }

    /// The `webhook-signature` value: `v1,<sig>` per key, separated by spaces.
    pub fn signature(&self, id: &str, timestamp: i64, body: &[u8]) -> String {
        self.keys
            .iter()
            .map(|key| format!("v1,{}", sign_one(key, id, timestamp, body)))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// Whether `header` (a `webhook-signature` value) holds a signature of `id`, `timestamp` and
/// `body` under `key` (`whsec_…`): what a consumer does, in constant time per signature.
pub fn verify(key: &str, id: &str, timestamp: i64, body: &[u8], header: &str) -> bool {
    let Ok(key) = parse_key(key) else {
        return false;
    };
    header.split_whitespace().any(|candidate| {
        let Some(encoded) = candidate.strip_prefix("v1,") else {
            return false;
        };
        let Ok(expected) = STANDARD.decode(encoded) else {
            return false;
        };
        let mut mac = HmacSha256::new_from_slice(&key).expect("HMAC takes keys of any length");
        mac.update(id.as_bytes());
        mac.update(b".");
        mac.update(timestamp.to_string().as_bytes());
        mac.update(b".");
        mac.update(body);
        mac.verify_slice(&expected).is_ok()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY_A: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const KEY_B: &str = "whsec_c2Vjb25kLXNpZ25pbmcta2V5LWZvci1yb3RhdGlvbg==";

    #[test]
    fn the_standard_webhooks_example_signature_is_reproduced() {
        // The example of the Standard Webhooks specification (id, timestamp, payload, key).
        let body = br#"{"test": 2432232314}"#;
        let signer = Signer::from_keys(&[KEY_A.to_string()]).unwrap().unwrap();
        assert_eq!(
            signer.signature("msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
    }

    #[test]
    fn every_key_signs_and_a_wrong_key_does_not_verify() {
        let signer = Signer::from_keys(&[KEY_B.into(), KEY_A.into()])
            .unwrap()
            .unwrap();
        let header = signer.signature("id-1", 1_700_000_000, b"{}");
        assert!(verify(KEY_A, "id-1", 1_700_000_000, b"{}", &header));
        assert!(verify(KEY_B, "id-1", 1_700_000_000, b"{}", &header));
        let other = "whsec_b3RoZXIta2V5LW5vYm9keS1jb25maWd1cmVkLWhlcmU=";
        assert!(!verify(other, "id-1", 1_700_000_000, b"{}", &header));
        assert!(!verify(KEY_A, "id-1", 1_700_000_001, b"{}", &header));
        assert!(!verify(KEY_A, "id-1", 1_700_000_000, b"{ }", &header));
    }

    #[test]
    fn malformed_keys_are_refused_with_the_format() {
        for bad in ["plain-secret", "whsec_***", "whsec_c2hvcnQ="] {
            let e = Signer::from_keys(&[bad.to_string()]).unwrap_err();
            assert!(e.contains("whsec_"), "{e}");
        }
        assert!(Signer::from_keys(&[]).unwrap().is_none());
    }
}
