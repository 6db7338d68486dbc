//! Shared helpers for the verification-side integration tests: fixture keys,
//! token signing and hand-crafted malformed tokens.
#![allow(dead_code, unreachable_pub, missing_docs)]

use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::{Jwk, JwkSet};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use okta_auth::{JwksCache, Verifier};
use serde_json::{Value, json};

pub const ISSUER: &str = "https://example.okta.com/oauth2/default";
pub const AUDIENCE: &str = "api://default";

pub const RSA_PRIVATE: &[u8] = include_bytes!("../fixtures/verify_rsa_private.pem");
pub const RSA_PUBLIC_PEM: &[u8] = include_bytes!("../fixtures/verify_rsa_public.pem");
pub const RSA_PUBLIC_DER: &[u8] = include_bytes!("../fixtures/verify_rsa_public.der");
pub const RSA_OTHER_PRIVATE: &[u8] = include_bytes!("../fixtures/verify_rsa_other_private.pem");
pub const EC_PRIVATE: &[u8] = include_bytes!("../fixtures/verify_ec_private.pem");

pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

pub fn rsa_key() -> EncodingKey {
    EncodingKey::from_rsa_pem(RSA_PRIVATE).unwrap()
}

pub fn other_rsa_key() -> EncodingKey {
    EncodingKey::from_rsa_pem(RSA_OTHER_PRIVATE).unwrap()
}

pub fn ec_key() -> EncodingKey {
    EncodingKey::from_ec_pem(EC_PRIVATE).unwrap()
}

fn public_jwk(key: &EncodingKey, alg: Algorithm, kid: &str) -> Value {
    let jwk = Jwk::from_encoding_key(key, alg).unwrap();
    let mut v = serde_json::to_value(jwk).unwrap();
    v["kid"] = json!(kid);
    v["use"] = json!("sig");
    v
}

/// JWK set with the fixture RSA key (`rsa-1`, RS256) and EC key (`ec-1`).
pub fn jwk_set() -> JwkSet {
    serde_json::from_value(json!({"keys": [
        public_jwk(&rsa_key(), Algorithm::RS256, "rsa-1"),
        public_jwk(&ec_key(), Algorithm::ES256, "ec-1"),
    ]}))
    .unwrap()
}

pub fn verifier() -> Verifier {
    Verifier::builder(JwksCache::from_jwks(&jwk_set()).unwrap())
        .issuer(ISSUER)
        .audience(AUDIENCE)
        .build()
        .unwrap()
}

/// Okta-like claims valid for ten minutes.
pub fn claims() -> Value {
    let now = now();
    json!({
        "ver": 1, "jti": "AT.test", "iss": ISSUER, "aud": AUDIENCE,
        "iat": now, "exp": now + 600, "cid": "0oaclient", "uid": "00ualice",
        "sub": "alice@example.com", "scp": ["mcp:read", "openid"], "groups": ["mcp-developers"]
    })
}

pub fn header(alg: Algorithm, kid: Option<&str>) -> Header {
    let mut h = Header::new(alg);
    h.kid = kid.map(str::to_owned);
    h
}

pub fn sign(alg: Algorithm, kid: Option<&str>, claims: &Value, key: &EncodingKey) -> String {
    jsonwebtoken::encode(&header(alg, kid), claims, key).unwrap()
}

pub fn rs256(claims: &Value) -> String {
    sign(Algorithm::RS256, Some("rsa-1"), claims, &rsa_key())
}

pub fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// A token from raw header and claims JSON, signed RS256 by the fixture key
/// (so the signature is valid and only the content is odd).
pub fn rs256_raw(header_json: &str, claims_json: &str) -> String {
    let message = format!(
        "{}.{}",
        b64(header_json.as_bytes()),
        b64(claims_json.as_bytes())
    );
    let signature =
        jsonwebtoken::crypto::sign(message.as_bytes(), &rsa_key(), Algorithm::RS256).unwrap();
    format!("{message}.{signature}")
}
