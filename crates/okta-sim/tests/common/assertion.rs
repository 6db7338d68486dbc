//! Client-side keys and JWT signing for private_key_jwt tests (independent of okta-sim code).
#![allow(dead_code, unreachable_pub, clippy::unwrap_used, clippy::expect_used)]

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::{KeyPair as RsaKeyPair, KeySize, PublicKeyComponents};
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair as _, RSA_PKCS1_SHA256, RSA_PKCS1_SHA384,
};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

pub const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

pub enum ClientKey {
    Rsa(RsaKeyPair),
    Ec(EcdsaKeyPair),
}

impl ClientKey {
    pub fn rsa() -> Self {
        Self::Rsa(RsaKeyPair::generate(KeySize::Rsa2048).unwrap())
    }

    pub fn ec() -> Self {
        Self::Ec(EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING).unwrap())
    }

    /// The public JWK to register with the simulator.
    pub fn public_jwk(&self, kid: &str) -> Value {
        match self {
            Self::Rsa(pair) => {
                let c = PublicKeyComponents::<Vec<u8>>::from(pair.public_key());
                json!({"kty": "RSA", "kid": kid, "n": b64(&c.n), "e": b64(&c.e)})
            }
            Self::Ec(pair) => {
                let point = pair.public_key().as_ref();
                json!({"kty": "EC", "crv": "P-256", "kid": kid,
                       "x": b64(&point[1..33]), "y": b64(&point[33..65])})
            }
        }
    }

    pub fn default_alg(&self) -> &'static str {
        match self {
            Self::Rsa(_) => "RS256",
            Self::Ec(_) => "ES256",
        }
    }

    /// Signs `claims` with this key under `header` (alg must fit the key; RS384 supported).
    pub fn sign(&self, header: &Value, claims: &Value) -> String {
        let input = format!(
            "{}.{}",
            b64(&serde_json::to_vec(header).unwrap()),
            b64(&serde_json::to_vec(claims).unwrap())
        );
        let signature = match self {
            Self::Rsa(pair) => {
                let alg = if header["alg"] == "RS384" {
                    &RSA_PKCS1_SHA384
                } else {
                    &RSA_PKCS1_SHA256
                };
                let mut sig = vec![0; pair.public_modulus_len()];
                pair.sign(alg, &SystemRandom::new(), input.as_bytes(), &mut sig)
                    .unwrap();
                sig
            }
            Self::Ec(pair) => pair
                .sign(&SystemRandom::new(), input.as_bytes())
                .unwrap()
                .as_ref()
                .to_vec(),
        };
        format!("{input}.{}", b64(&signature))
    }

    /// A standard assertion for `client_id` at `audience`, unique jti, 5-minute lifetime.
    pub fn assertion(&self, client_id: &str, audience: &str, kid: &str) -> String {
        self.sign(&self.header(kid), &standard_claims(client_id, audience))
    }

    pub fn header(&self, kid: &str) -> Value {
        json!({"alg": self.default_alg(), "kid": kid, "typ": "JWT"})
    }
}

pub fn standard_claims(client_id: &str, audience: &str) -> Value {
    let now = super::now();
    json!({
        "iss": client_id,
        "sub": client_id,
        "aud": audience,
        "iat": now,
        "exp": now + 300,
        "jti": unique_jti(),
    })
}

pub fn unique_jti() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    format!(
        "jti-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::SeqCst)
    )
}

pub fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// An unsigned token with `alg: none`.
pub fn alg_none(claims: &Value) -> String {
    format!(
        "{}.{}.",
        b64(br#"{"alg":"none","typ":"JWT"}"#),
        b64(&serde_json::to_vec(claims).unwrap())
    )
}

/// An HS256 token signed with `secret`.
pub fn hs256(claims: &Value, secret: &[u8]) -> String {
    let input = format!(
        "{}.{}",
        b64(br#"{"alg":"HS256","typ":"JWT"}"#),
        b64(&serde_json::to_vec(claims).unwrap())
    );
    let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, secret);
    let tag = aws_lc_rs::hmac::sign(&key, input.as_bytes());
    format!("{input}.{}", b64(tag.as_ref()))
}
