//! Bad input through `Verifier` (the layer adds nothing to these cases; the
//! layer tests check that its 401s carry these same texts).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod verify_support;

use std::time::Duration;

use jsonwebtoken::{Algorithm, EncodingKey};
use okta_auth::{Error, JwksCache, Verifier};
use serde_json::json;
use verify_support::{
    AUDIENCE, ISSUER, RSA_PUBLIC_DER, RSA_PUBLIC_PEM, b64, claims, ec_key, jwk_set, now,
    other_rsa_key, rs256, rs256_raw, sign, verifier,
};

async fn reject(token: &str) -> String {
    verifier().verify(token).await.unwrap_err().to_string()
}

#[tokio::test]
async fn valid_rs256_and_es256_tokens_verify() {
    let v = verifier();
    let c = v.verify(&rs256(&claims())).await.unwrap();
    assert_eq!(c.sub.as_deref(), Some("alice@example.com"));
    assert_eq!(c.uid.as_deref(), Some("00ualice"));
    assert_eq!(c.cid.as_deref(), Some("0oaclient"));
    assert_eq!(c.scp, vec!["mcp:read", "openid"]);
    assert_eq!(c.groups, vec!["mcp-developers"]);
    assert_eq!(c.raw["ver"], json!(1));
    let es = sign(Algorithm::ES256, Some("ec-1"), &claims(), &ec_key());
    assert_eq!(v.verify(&es).await.unwrap().iss, ISSUER);
}

#[tokio::test]
async fn alg_none_is_rejected() {
    let header = b64(br#"{"alg":"none","kid":"rsa-1"}"#);
    let body = b64(claims().to_string().as_bytes());
    assert_eq!(
        reject(&format!("{header}.{body}.")).await,
        "algorithm none not allowed for key"
    );
    let header = b64(br#"{"alg":"None","kid":"rsa-1"}"#);
    assert_eq!(
        reject(&format!("{header}.{body}.")).await,
        "algorithm None not allowed for key"
    );
}

#[tokio::test]
async fn hs256_with_the_rsa_public_key_as_secret_is_rejected() {
    for secret in [RSA_PUBLIC_PEM, RSA_PUBLIC_DER] {
        let token = sign(
            Algorithm::HS256,
            Some("rsa-1"),
            &claims(),
            &EncodingKey::from_secret(secret),
        );
        assert_eq!(reject(&token).await, "algorithm HS256 not allowed for key");
    }
}

#[tokio::test]
async fn algorithm_must_fit_the_key_type() {
    // ES256 header naming the RSA key: the key type decides, not the header.
    let token = sign(Algorithm::ES256, Some("rsa-1"), &claims(), &ec_key());
    assert_eq!(reject(&token).await, "algorithm ES256 not allowed for key");
    // The fixture RSA JWK declares alg RS256, so PS256 is refused too.
    let token = sign(
        Algorithm::PS256,
        Some("rsa-1"),
        &claims(),
        &verify_support::rsa_key(),
    );
    assert_eq!(reject(&token).await, "algorithm PS256 not allowed for key");
}

#[tokio::test]
async fn valid_signature_by_an_unknown_key_is_rejected() {
    // Names a known kid but is signed by another key.
    let token = sign(Algorithm::RS256, Some("rsa-1"), &claims(), &other_rsa_key());
    assert_eq!(reject(&token).await, "invalid signature");
    // Names a kid nobody published.
    let token = sign(
        Algorithm::RS256,
        Some("attacker"),
        &claims(),
        &other_rsa_key(),
    );
    assert_eq!(reject(&token).await, "unknown kid (no such signing key)");
}

#[tokio::test]
async fn missing_kid_is_rejected() {
    let token = sign(
        Algorithm::RS256,
        None,
        &claims(),
        &verify_support::rsa_key(),
    );
    assert_eq!(reject(&token).await, "missing kid in token header");
}

#[tokio::test]
async fn time_claims_are_checked_with_leeway() {
    let mut c = claims();
    c["exp"] = json!(now() - 31);
    assert_eq!(reject(&rs256(&c)).await, "token expired");
    c["exp"] = json!(now() - 5); // inside the 30 s default leeway
    assert!(verifier().verify(&rs256(&c)).await.is_ok());

    let mut c = claims();
    c["nbf"] = json!(now() + 120);
    assert_eq!(
        reject(&rs256(&c)).await,
        "token not yet valid (nbf in the future)"
    );
    let mut c = claims();
    c["iat"] = json!(now() + 120);
    assert_eq!(reject(&rs256(&c)).await, "token issued in the future (iat)");

    let strict = Verifier::builder(JwksCache::from_jwks(&jwk_set()).unwrap())
        .issuer(ISSUER)
        .audience(AUDIENCE)
        .leeway(Duration::ZERO)
        .build()
        .unwrap();
    let mut c = claims();
    c["exp"] = json!(now() - 1);
    assert_eq!(
        strict.verify(&rs256(&c)).await.unwrap_err().to_string(),
        "token expired"
    );
}

#[tokio::test]
async fn wrong_issuer_and_audience_are_rejected() {
    let mut c = claims();
    c["iss"] = json!("https://example.okta.com/oauth2/other");
    assert_eq!(reject(&rs256(&c)).await, "wrong issuer");
    let mut c = claims();
    c["iss"] = json!(format!("{ISSUER}/")); // exact match, no normalisation
    assert_eq!(reject(&rs256(&c)).await, "wrong issuer");
    let mut c = claims();
    c["aud"] = json!("api://other");
    assert_eq!(reject(&rs256(&c)).await, "wrong audience");
    let mut c = claims();
    c["aud"] = json!(["api://other", AUDIENCE]);
    assert!(verifier().verify(&rs256(&c)).await.is_ok(), "aud is any-of");
    let mut c = claims();
    c.as_object_mut().unwrap().remove("aud");
    assert_eq!(reject(&rs256(&c)).await, "wrong audience");
}

#[tokio::test]
async fn wrong_segment_counts_are_rejected() {
    let token = rs256(&claims());
    let parts: Vec<&str> = token.split('.').collect();
    assert_eq!(
        reject(&format!("{}.{}", parts[0], parts[1])).await,
        "malformed token: 2 segments, a JWS has 3"
    );
    assert_eq!(
        reject(&format!("{token}.extra")).await,
        "malformed token: 4 segments, a JWS has 3"
    );
    assert_eq!(reject("").await, "malformed token: 1 segments, a JWS has 3");
}

#[tokio::test]
async fn bad_base64_is_rejected_naming_the_part() {
    let token = rs256(&claims());
    let parts: Vec<&str> = token.split('.').collect();
    assert_eq!(
        reject(&format!("{}!.{}.{}", parts[0], parts[1], parts[2])).await,
        "bad base64 in token header"
    );
    assert_eq!(
        reject(&format!("{}.{}*.{}", parts[0], parts[1], parts[2])).await,
        "bad base64 in token claims"
    );
    assert_eq!(
        reject(&format!("{}.{}.{}=", parts[0], parts[1], parts[2])).await,
        "bad base64 in token signature"
    );
}

#[tokio::test]
async fn claims_must_be_a_json_object() {
    let header = r#"{"alg":"RS256","kid":"rsa-1"}"#;
    for body in ["[1,2,3]", "\"string\"", "42", "not json"] {
        assert_eq!(
            reject(&rs256_raw(header, body)).await,
            "claims not a JSON object",
            "{body}"
        );
    }
    assert_eq!(
        reject(&rs256_raw(header, r#"{"iss":"x","exp":"tomorrow"}"#)).await,
        "malformed claim exp: not a non-negative NumericDate"
    );
    assert_eq!(
        reject(&rs256_raw("[1]", "{}")).await,
        "malformed token header: not a JSON object"
    );
}

#[tokio::test]
async fn oversized_token_is_rejected_before_parsing() {
    let huge = "a".repeat(8 * 1024 + 1);
    assert_eq!(
        reject(&huge).await,
        "token too long: 8193 bytes, the limit is 8192"
    );
    let mut c = claims();
    c["padding"] = json!("x".repeat(9000));
    assert!(reject(&rs256(&c)).await.starts_with("token too long"));
}

#[tokio::test]
async fn typ_and_required_claims_are_enforced_when_configured() {
    let v = Verifier::builder(JwksCache::from_jwks(&jwk_set()).unwrap())
        .issuer(ISSUER)
        .audience(AUDIENCE)
        .require_type(["at+jwt", "application/okta-internal-at+jwt"])
        .require_claims(["cid", "tenant"])
        .build()
        .unwrap();
    let plain = rs256(&claims());
    assert_eq!(
        v.verify(&plain).await.unwrap_err().to_string(),
        "wrong token type (typ)"
    );
    let mut h = verify_support::header(Algorithm::RS256, Some("rsa-1"));
    h.typ = Some("application/at+jwt".to_owned());
    let mut c = claims();
    let typed = jsonwebtoken::encode(&h, &c, &verify_support::rsa_key()).unwrap();
    assert_eq!(
        v.verify(&typed).await.unwrap_err().to_string(),
        "missing required claim tenant"
    );
    c["tenant"] = json!("t1");
    let typed = jsonwebtoken::encode(&h, &c, &verify_support::rsa_key()).unwrap();
    assert!(v.verify(&typed).await.is_ok());
}

#[tokio::test]
async fn crit_header_is_rejected() {
    let token = rs256_raw(
        r#"{"alg":"RS256","kid":"rsa-1","crit":["exp"]}"#,
        &claims().to_string(),
    );
    assert_eq!(
        verifier().verify(&token).await.unwrap_err().to_string(),
        "malformed token header: crit extensions are not supported"
    );
}

#[tokio::test]
async fn cached_hit_still_honours_exp() {
    let v = Verifier::builder(JwksCache::from_jwks(&jwk_set()).unwrap())
        .issuer(ISSUER)
        .audience(AUDIENCE)
        .leeway(Duration::ZERO)
        .build()
        .unwrap();
    let mut c = claims();
    c["exp"] = json!(now() + 1);
    let token = rs256(&c);
    let first = v.verify(&token).await.unwrap();
    let second = v.verify(&token).await.unwrap();
    assert!(
        std::sync::Arc::ptr_eq(&first, &second),
        "second call is a cache hit"
    );
    tokio::time::sleep(Duration::from_millis(2100)).await;
    assert!(matches!(v.verify(&token).await, Err(Error::Expired)));
}

#[tokio::test]
async fn builder_requires_issuer_and_audience() {
    let err = Verifier::builder(JwksCache::from_jwks(&jwk_set()).unwrap())
        .audience(AUDIENCE)
        .build()
        .unwrap_err();
    assert!(matches!(err, Error::Config(_)));
    let err = Verifier::builder(JwksCache::from_jwks(&jwk_set()).unwrap())
        .issuer(ISSUER)
        .build()
        .unwrap_err();
    assert!(err.to_string().contains("audience"), "{err}");
}
