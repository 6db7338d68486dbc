//! Every algorithm a key type allows verifies; the header can never widen it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod verify_support;

use jsonwebtoken::jwk::{Jwk, JwkSet};
use jsonwebtoken::{Algorithm, EncodingKey};
use okta_auth::{JwksCache, Verifier};
use serde_json::json;
use verify_support::{AUDIENCE, ISSUER, RSA_PRIVATE, claims, sign};

const ED25519_PRIVATE: &[u8] = include_bytes!("fixtures/verify_ed25519_private.pem");
const EC384_PRIVATE: &[u8] = include_bytes!("fixtures/verify_ec384_private.pem");

fn jwk(key: &EncodingKey, alg: Algorithm, kid: &str, declare_alg: bool) -> serde_json::Value {
    let mut v = serde_json::to_value(Jwk::from_encoding_key(key, alg).unwrap()).unwrap();
    v["kid"] = json!(kid);
    if !declare_alg {
        v.as_object_mut().unwrap().remove("alg");
    }
    v
}

#[tokio::test]
async fn key_types_allow_their_algorithms_only() {
    let rsa = EncodingKey::from_rsa_pem(RSA_PRIVATE).unwrap();
    let ed = EncodingKey::from_ed_pem(ED25519_PRIVATE).unwrap();
    let ec384 = EncodingKey::from_ec_pem(EC384_PRIVATE).unwrap();
    // The RSA JWK carries no alg, so every RSA algorithm is allowed for it.
    let set: JwkSet = serde_json::from_value(json!({"keys": [
        jwk(&rsa, Algorithm::RS256, "rsa", false),
        jwk(&ed, Algorithm::EdDSA, "ed", true),
        jwk(&ec384, Algorithm::ES384, "ec384", true),
    ]}))
    .unwrap();
    let v = Verifier::builder(JwksCache::from_jwks(&set).unwrap())
        .issuer(ISSUER)
        .audience(AUDIENCE)
        .build()
        .unwrap();
    for alg in [
        Algorithm::RS256,
        Algorithm::RS384,
        Algorithm::RS512,
        Algorithm::PS256,
        Algorithm::PS384,
        Algorithm::PS512,
    ] {
        let token = sign(alg, Some("rsa"), &claims(), &rsa);
        assert!(v.verify(&token).await.is_ok(), "{alg:?}");
    }
    assert!(
        v.verify(&sign(Algorithm::EdDSA, Some("ed"), &claims(), &ed))
            .await
            .is_ok()
    );
    assert!(
        v.verify(&sign(Algorithm::ES384, Some("ec384"), &claims(), &ec384))
            .await
            .is_ok()
    );

    // Cross-type: the header names an algorithm the key's type does not allow.
    let token = sign(Algorithm::ES384, Some("ed"), &claims(), &ec384);
    assert_eq!(
        v.verify(&token).await.unwrap_err().to_string(),
        "algorithm ES384 not allowed for key"
    );
    let token = sign(Algorithm::EdDSA, Some("rsa"), &claims(), &ed);
    assert_eq!(
        v.verify(&token).await.unwrap_err().to_string(),
        "algorithm EdDSA not allowed for key"
    );
    for hs in [Algorithm::HS256, Algorithm::HS384, Algorithm::HS512] {
        let token = sign(
            hs,
            Some("rsa"),
            &claims(),
            &EncodingKey::from_secret(b"secret"),
        );
        assert!(
            v.verify(&token)
                .await
                .unwrap_err()
                .to_string()
                .ends_with("not allowed for key")
        );
    }
}

#[tokio::test]
async fn a_set_of_only_symmetric_keys_is_refused() {
    let set: JwkSet =
        serde_json::from_value(json!({"keys": [{"kty": "oct", "kid": "h", "k": "c2VjcmV0"}]}))
            .unwrap();
    let err = JwksCache::from_jwks(&set).unwrap_err();
    assert_eq!(
        err.to_string(),
        "signing keys from static are unusable: no usable signing keys (1 skipped)"
    );
}
