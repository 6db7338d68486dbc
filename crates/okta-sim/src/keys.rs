//! RSA signing keys and the per-server key set (current key plus retired keys in grace).

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::{KeyPair as RsaKeyPair, KeySize, PublicKeyComponents};
use aws_lc_rs::signature::{KeyPair as _, RSA_PKCS1_SHA256};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::config::KeyRotation;
use crate::error::Error;

/// At most this many retired keys stay published; the oldest is dropped first.
const MAX_RETIRED_KEYS: usize = 8;

/// An RSA-2048 key that signs RS256 tokens, with its `kid` and public JWK.
pub(crate) struct SigningKey {
    kid: String,
    pair: RsaKeyPair,
    public_jwk: Value,
}

impl SigningKey {
    /// Generates a fresh RSA-2048 key; its `kid` is the RFC 7638 JWK thumbprint.
    pub(crate) fn generate() -> Result<Self, Error> {
        let pair = RsaKeyPair::generate(KeySize::Rsa2048).map_err(|_| Error::KeyGeneration)?;
        let components = PublicKeyComponents::<Vec<u8>>::from(pair.public_key());
        let n = URL_SAFE_NO_PAD.encode(&components.n);
        let e = URL_SAFE_NO_PAD.encode(&components.e);
        // RFC 7638 §3.2: members in lexicographic order, no whitespace.
        let thumbprint_input = format!(r#"{{"e":"{e}","kty":"RSA","n":"{n}"}}"#);
        let kid = URL_SAFE_NO_PAD.encode(Sha256::digest(thumbprint_input.as_bytes()));
        let public_jwk = json!({
            "kty": "RSA",
            "alg": "RS256",
            "kid": kid,
            "use": "sig",
            "e": e,
            "n": n,
        });
        Ok(Self {
            kid,
            pair,
            public_jwk,
        })
    }

    /// The key id put in token headers and the JWKS.
    pub(crate) fn kid(&self) -> &str {
        &self.kid
    }

    /// The public key as served in the JWKS.
    pub(crate) fn public_jwk(&self) -> &Value {
        &self.public_jwk
    }

    /// RS256 (RSASSA-PKCS1-v1_5 with SHA-256) signature over `message`.
    pub(crate) fn sign_rs256(&self, message: &[u8]) -> Result<Vec<u8>, Error> {
        let mut signature = vec![0; self.pair.public_modulus_len()];
        self.pair
            .sign(
                &RSA_PKCS1_SHA256,
                &SystemRandom::new(),
                message,
                &mut signature,
            )
            .map_err(|_| Error::Signing("RSA signing failed in aws-lc-rs".to_owned()))?;
        Ok(signature)
    }
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

/// One authorization server's keys: the current signing key and retired keys still published.
#[derive(Debug)]
pub(crate) struct KeySet {
    current: Arc<SigningKey>,
    /// Retired keys and the instant they stop being published.
    retired: Vec<(Arc<SigningKey>, Instant)>,
}

impl KeySet {
    pub(crate) fn new(current: SigningKey) -> Self {
        Self {
            current: Arc::new(current),
            retired: Vec::new(),
        }
    }

    /// The key that signs new tokens.
    pub(crate) fn current(&self) -> Arc<SigningKey> {
        Arc::clone(&self.current)
    }

    /// Makes `next` the signing key; the old one is retired per `rotation`.
    pub(crate) fn rotate(&mut self, next: SigningKey, rotation: KeyRotation, now: Instant) {
        let old = std::mem::replace(&mut self.current, Arc::new(next));
        self.retired.retain(|(_, until)| *until > now);
        match rotation {
            KeyRotation::DropOld => self.retired.clear(),
            KeyRotation::KeepOldFor(grace) => {
                if !grace.is_zero() {
                    let until = now.checked_add(grace).unwrap_or_else(|| far_future(now));
                    self.retired.push((old, until));
                }
                if self.retired.len() > MAX_RETIRED_KEYS {
                    let excess = self.retired.len() - MAX_RETIRED_KEYS;
                    self.retired.drain(..excess);
                }
            }
        }
    }

    /// The JWKS document: current key first, then retired keys still in their grace period.
    pub(crate) fn jwks(&self, now: Instant) -> Value {
        let keys: Vec<Value> = std::iter::once(self.current.public_jwk().clone())
            .chain(
                self.retired
                    .iter()
                    .filter(|(_, until)| *until > now)
                    .map(|(key, _)| key.public_jwk().clone()),
            )
            .collect();
        json!({ "keys": keys })
    }
}

fn far_future(now: Instant) -> Instant {
    // About 30 years; `Instant` cannot represent arbitrary durations on every platform.
    now.checked_add(Duration::from_secs(30 * 365 * 24 * 3600))
        .unwrap_or(now)
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use super::{KeySet, SigningKey};
    use crate::config::KeyRotation;

    fn kids(set: &KeySet, now: Instant) -> Vec<String> {
        set.jwks(now)["keys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k["kid"].as_str().unwrap().to_owned())
            .collect()
    }

    #[test]
    fn rotation_with_grace_keeps_old_key_until_deadline() {
        let now = Instant::now();
        let first = SigningKey::generate().unwrap();
        let first_kid = first.kid().to_owned();
        let mut set = KeySet::new(first);
        let second = SigningKey::generate().unwrap();
        let second_kid = second.kid().to_owned();
        set.rotate(
            second,
            KeyRotation::KeepOldFor(Duration::from_secs(60)),
            now,
        );
        assert_eq!(kids(&set, now), vec![second_kid.clone(), first_kid]);
        assert_eq!(kids(&set, now + Duration::from_secs(61)), vec![second_kid]);
    }

    #[test]
    fn drop_old_removes_every_old_key() {
        let now = Instant::now();
        let mut set = KeySet::new(SigningKey::generate().unwrap());
        set.rotate(
            SigningKey::generate().unwrap(),
            KeyRotation::KeepOldFor(Duration::from_secs(60)),
            now,
        );
        let third = SigningKey::generate().unwrap();
        let third_kid = third.kid().to_owned();
        set.rotate(third, KeyRotation::DropOld, now);
        assert_eq!(kids(&set, now), vec![third_kid]);
    }

    #[test]
    fn jwk_has_okta_shape() {
        let key = SigningKey::generate().unwrap();
        let jwk = key.public_jwk();
        assert_eq!(jwk["kty"], "RSA");
        assert_eq!(jwk["alg"], "RS256");
        assert_eq!(jwk["use"], "sig");
        assert_eq!(jwk["e"], "AQAB");
        assert_eq!(jwk["kid"], key.kid());
        assert!(
            jwk.get("d").is_none(),
            "private exponent must never be published"
        );
    }
}
