//! Basic authentication of hook deliveries, compared in constant time against every configured
//! credential (several at once, so they can be rotated).

use axum::http::HeaderMap;
use axum::http::header::AUTHORIZATION;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::config::HookCredential;

/// Why a request is not authenticated (all answered 401; the reason is only logged).
#[derive(Debug, PartialEq, Eq)]
pub enum AuthFailure {
    Missing,
    NotBasic,
    Malformed,
    Wrong,
}

/// Precomputed digests of the accepted `user:password` pairs. Hashing both sides first makes the
/// comparison independent of the secret's length.
#[derive(Clone)]
pub struct HookAuthenticator {
    digests: Vec<[u8; 32]>,
    allow_anonymous: bool,
}

fn digest(user: &[u8], password: &[u8]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update((user.len() as u64).to_be_bytes());
    h.update(user);
    h.update(password);
    h.finalize().into()
}

impl HookAuthenticator {
    pub fn new(credentials: &[HookCredential], allow_anonymous: bool) -> Self {
        Self {
            digests: credentials
                .iter()
                .map(|c| digest(c.username.as_bytes(), c.password.expose().as_bytes()))
                .collect(),
            allow_anonymous,
        }
    }

    /// Checks the `Authorization` header. With no credentials configured and anonymous hooks
    /// allowed, everything passes; otherwise a request without credentials never does.
    pub fn check(&self, headers: &HeaderMap) -> Result<(), AuthFailure> {
        if self.digests.is_empty() && self.allow_anonymous {
            return Ok(());
        }
        let value = headers.get(AUTHORIZATION).ok_or(AuthFailure::Missing)?;
        let value = value.to_str().map_err(|_| AuthFailure::Malformed)?;
        let (scheme, encoded) = value.trim().split_once(' ').ok_or(AuthFailure::NotBasic)?;
        if !scheme.eq_ignore_ascii_case("basic") {
            return Err(AuthFailure::NotBasic);
        }
        let decoded = STANDARD
            .decode(encoded.trim())
            .map_err(|_| AuthFailure::Malformed)?;
        let colon = decoded
            .iter()
            .position(|b| *b == b':')
            .ok_or(AuthFailure::Malformed)?;
        let presented = digest(&decoded[..colon], &decoded[colon + 1..]);
        // Compare against every credential without short-circuiting.
        let mut matched = subtle::Choice::from(0u8);
        for accepted in &self.digests {
            matched |= accepted.ct_eq(&presented);
        }
        if bool::from(matched) {
            Ok(())
        } else {
            Err(AuthFailure::Wrong)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(user: &str, pass: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        let v = format!("Basic {}", STANDARD.encode(format!("{user}:{pass}")));
        h.insert(AUTHORIZATION, HeaderValue::from_str(&v).unwrap());
        h
    }

    #[test]
    fn accepts_any_configured_credential_and_nothing_else() {
        let creds = vec![
            HookCredential::parse("ado:old-secret").unwrap(),
            HookCredential::parse("ado:new-secret").unwrap(),
        ];
        let auth = HookAuthenticator::new(&creds, false);
        assert_eq!(auth.check(&headers("ado", "old-secret")), Ok(()));
        assert_eq!(auth.check(&headers("ado", "new-secret")), Ok(()));
        assert_eq!(
            auth.check(&headers("ado", "new-secre")),
            Err(AuthFailure::Wrong)
        );
        assert_eq!(
            auth.check(&headers("adx", "new-secret")),
            Err(AuthFailure::Wrong)
        );
        assert_eq!(auth.check(&HeaderMap::new()), Err(AuthFailure::Missing));
        let mut bearer = HeaderMap::new();
        bearer.insert(AUTHORIZATION, HeaderValue::from_static("Bearer abc"));
        assert_eq!(auth.check(&bearer), Err(AuthFailure::NotBasic));
        // Credentials configured: allow_anonymous does not open the door to requests without them.
        let auth = HookAuthenticator::new(&creds, true);
        assert_eq!(auth.check(&HeaderMap::new()), Err(AuthFailure::Missing));
    }
}
