//! `ClientAuth` and `SigningKey` against independent parsers and verifiers: keys load from
//! every supported PEM and JWK form, and assertions verify with jsonwebtoken using only the
//! public JWK we derive.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashSet;

use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, DecodingKey, Validation, decode, decode_header};
use okta_auth::{CLIENT_ASSERTION_TYPE_JWT_BEARER, ClientAuth, SigningKey};
use serde_json::Value;

const RSA_PKCS1: &str = include_str!("fixtures/rsa_pkcs1.pem");
const RSA_PKCS8: &str = include_str!("fixtures/rsa_pkcs8.pem");
const RSA_JWK: &str = include_str!("fixtures/rsa_private_jwk.json");
const EC_SEC1: &str = include_str!("fixtures/ec_sec1.pem");
const EC_PKCS8: &str = include_str!("fixtures/ec_pkcs8.pem");
const EC_JWK: &str = include_str!("fixtures/ec_private_jwk.json");

const ENDPOINT: &str = "https://example.okta.com/oauth2/default/v1/token";

fn assertion_of(auth: &ClientAuth) -> String {
    let mut form = Vec::new();
    assert!(auth.apply(ENDPOINT, &mut form).unwrap().is_none());
    assert_eq!(form[0].0, "client_assertion_type");
    assert_eq!(form[0].1, CLIENT_ASSERTION_TYPE_JWT_BEARER);
    assert_eq!(form[1].0, "client_assertion");
    form.remove(1).1
}

/// Verifies `jwt` with jsonwebtoken using only the public JWK and returns its claims.
fn verify_with_public_jwk(jwt: &str, key: &SigningKey, alg: Algorithm) -> Value {
    let jwk: Jwk = serde_json::from_value(key.public_jwk()).unwrap();
    let decoding = DecodingKey::from_jwk(&jwk).unwrap();
    let mut validation = Validation::new(alg);
    validation.set_audience(&[ENDPOINT]);
    validation.set_issuer(&["svc"]);
    validation.set_required_spec_claims(&["exp", "iat", "aud", "iss", "sub", "jti"]);
    decode::<Value>(jwt, &decoding, &validation).unwrap().claims
}

fn check_key(key: SigningKey, alg: Algorithm, alg_name: &str) {
    assert_eq!(key.algorithm(), alg_name);
    let auth = ClientAuth::private_key_jwt("svc", key.clone());
    let jwt = assertion_of(&auth);
    let header = decode_header(&jwt).unwrap();
    assert_eq!(header.alg, alg);
    assert_eq!(header.kid.as_deref(), key.kid());
    let claims = verify_with_public_jwk(&jwt, &key, alg);
    assert_eq!(claims["sub"], "svc");
    let lifetime = claims["exp"].as_u64().unwrap() - claims["iat"].as_u64().unwrap();
    assert!(lifetime <= 300, "assertion lives {lifetime}s");
}

#[test]
fn rsa_keys_load_from_pkcs1_pkcs8_and_jwk() {
    let pkcs1 = SigningKey::from_pem(RSA_PKCS1).unwrap().with_kid("a");
    let pkcs8 = SigningKey::from_pem(RSA_PKCS8).unwrap();
    let jwk = SigningKey::from_jwk(&serde_json::from_str(RSA_JWK).unwrap()).unwrap();
    assert_eq!(jwk.kid(), Some("rsa-fixture"));
    // All three encodings hold the same key: same public modulus.
    assert_eq!(pkcs1.public_jwk()["n"], pkcs8.public_jwk()["n"]);
    assert_eq!(pkcs1.public_jwk()["n"], jwk.public_jwk()["n"]);
    for key in [pkcs1, pkcs8, jwk] {
        check_key(key, Algorithm::RS256, "RS256");
    }
}

#[test]
fn ec_keys_load_from_sec1_pkcs8_and_jwk() {
    let sec1 = SigningKey::from_pem(EC_SEC1).unwrap();
    let pkcs8 = SigningKey::from_pem(EC_PKCS8).unwrap().with_kid("b");
    let jwk = SigningKey::from_jwk(&serde_json::from_str(EC_JWK).unwrap()).unwrap();
    assert_eq!(sec1.public_jwk()["x"], pkcs8.public_jwk()["x"]);
    assert_eq!(sec1.public_jwk()["y"], jwk.public_jwk()["y"]);
    assert_eq!(jwk.public_jwk()["crv"], "P-256");
    for key in [sec1, pkcs8, jwk] {
        check_key(key, Algorithm::ES256, "ES256");
    }
}

#[test]
fn generated_keys_sign_what_their_public_jwk_verifies() {
    check_key(
        SigningKey::generate_rs256().unwrap().with_kid("r"),
        Algorithm::RS256,
        "RS256",
    );
    check_key(
        SigningKey::generate_es256().unwrap(),
        Algorithm::ES256,
        "ES256",
    );
}

#[test]
fn a_signature_by_another_key_does_not_verify() {
    let signer = SigningKey::from_pem(EC_PKCS8).unwrap();
    let other = SigningKey::generate_es256().unwrap();
    let jwt = assertion_of(&ClientAuth::private_key_jwt("svc", signer));
    let jwk: Jwk = serde_json::from_value(other.public_jwk()).unwrap();
    let mut validation = Validation::new(Algorithm::ES256);
    validation.set_audience(&[ENDPOINT]);
    assert!(decode::<Value>(&jwt, &DecodingKey::from_jwk(&jwk).unwrap(), &validation).is_err());
}

#[test]
fn a_tampered_jwk_is_rejected() {
    let mut jwk: Value = serde_json::from_str(RSA_JWK).unwrap();
    jwk["qi"] = jwk["dp"].clone();
    let err = SigningKey::from_jwk(&jwk).unwrap_err().to_string();
    assert!(err.contains("RSA JWK was rejected"), "{err}");
    let mut jwk: Value = serde_json::from_str(EC_JWK).unwrap();
    jwk["x"] = serde_json::from_str::<Value>(RSA_JWK).unwrap()["e"].clone();
    let err = SigningKey::from_jwk(&jwk).unwrap_err().to_string();
    assert!(err.contains("EC JWK was rejected"), "{err}");
}

#[test]
fn jti_is_unique_across_many_assertions() {
    let auth = ClientAuth::private_key_jwt("svc", SigningKey::from_pem(EC_SEC1).unwrap());
    let key = SigningKey::from_pem(EC_SEC1).unwrap();
    let mut seen = HashSet::new();
    for _ in 0..200 {
        let claims = verify_with_public_jwk(&assertion_of(&auth), &key, Algorithm::ES256);
        assert!(seen.insert(claims["jti"].as_str().unwrap().to_owned()));
    }
}

#[test]
fn debug_output_hides_every_secret() {
    let basic = ClientAuth::client_secret_basic("id", "hunter2-secret");
    let post = ClientAuth::client_secret_post("id", "hunter2-secret");
    let jwt = ClientAuth::private_key_jwt("id", SigningKey::from_pem(RSA_PKCS8).unwrap());
    for auth in [basic, post, jwt] {
        let dbg = format!("{auth:?}");
        assert!(!dbg.contains("hunter2"), "{dbg}");
        assert!(!dbg.contains("MII"), "{dbg}");
        assert!(dbg.contains("<redacted>"), "{dbg}");
    }
}
