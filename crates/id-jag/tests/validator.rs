//! `IdJagValidator`: every check the ID-JAG draft requires, each with its typed rejection.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{SystemTime, UNIX_EPOCH};

use id_jag::{Error, IdJagValidator, Rejection};
use jsonwebtoken::jwk::JwkSet;
use okta_auth::{JwksCache, SigningKey};
use serde_json::{Map, Value, json};

const IDP: &str = "https://idp.example.com";
const AS: &str = "https://mcp-as.example.com/oauth2/aus-mcp";

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn jwks(keys: &[&SigningKey]) -> JwksCache {
    let set: JwkSet = serde_json::from_value(json!({
        "keys": keys.iter().map(|k| k.public_jwk()).collect::<Vec<_>>()
    }))
    .unwrap();
    JwksCache::from_jwks(&set).unwrap()
}

struct Fixture {
    idp_key: SigningKey,
    validator: IdJagValidator,
}

fn fixture() -> Fixture {
    let idp_key = SigningKey::generate_es256().unwrap().with_kid("idp-1");
    let validator = IdJagValidator::builder(AS)
        .trust(IDP, jwks(&[&idp_key]))
        .build()
        .unwrap();
    Fixture { idp_key, validator }
}

fn claims() -> Map<String, Value> {
    let now = now();
    json!({
        "iss": IDP, "sub": "alice", "aud": AS, "client_id": "agent",
        "jti": uuid_like(), "iat": now, "exp": now + 300,
        "scope": "mcp:connect mcp:tools:read", "resource": "https://mcp.example.com/mcp",
    })
    .as_object()
    .unwrap()
    .clone()
}

fn uuid_like() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    format!("jti-{}-{}", now(), N.fetch_add(1, Ordering::SeqCst))
}

fn sign(key: &SigningKey, claims: &Map<String, Value>) -> String {
    key.sign_jwt("oauth-id-jag+jwt", claims).unwrap()
}

async fn rejection(v: &IdJagValidator, assertion: &str, client: &str) -> Rejection {
    match v.validate(assertion, client).await {
        Err(Error::Rejected(r)) => r,
        other => panic!("expected a rejection, got {other:?}"),
    }
}

#[tokio::test]
async fn a_valid_id_jag_is_accepted_with_its_claims() {
    let f = fixture();
    let c = claims();
    let ok = f
        .validator
        .validate(&sign(&f.idp_key, &c), "agent")
        .await
        .unwrap();
    assert_eq!(ok.iss, IDP);
    assert_eq!(ok.sub, "alice");
    assert_eq!(ok.client_id, "agent");
    assert_eq!(ok.scopes, ["mcp:connect", "mcp:tools:read"]);
    assert_eq!(ok.resources, ["https://mcp.example.com/mcp"]);
    assert_eq!(ok.jti, c["jti"].as_str().unwrap());
}

#[tokio::test]
async fn wrong_typ_is_rejected() {
    let f = fixture();
    for typ in ["JWT", "at+jwt", "id-jag+jwt"] {
        let token = f.idp_key.sign_jwt(typ, &claims()).unwrap();
        assert_eq!(
            rejection(&f.validator, &token, "agent").await,
            Rejection::WrongType,
            "{typ}"
        );
    }
    // The media-type form with the `application/` prefix is the same type (RFC 7515 §4.1.9).
    let token = f
        .idp_key
        .sign_jwt("application/oauth-id-jag+jwt", &claims())
        .unwrap();
    f.validator.validate(&token, "agent").await.unwrap();
}

#[tokio::test]
async fn wrong_audience_is_rejected() {
    let f = fixture();
    let mut c = claims();
    c["aud"] = json!("https://other-as.example.com");
    assert_eq!(
        rejection(&f.validator, &sign(&f.idp_key, &c), "agent").await,
        Rejection::WrongAudience
    );
}

#[tokio::test]
async fn client_id_mismatch_is_rejected() {
    let f = fixture();
    let token = sign(&f.idp_key, &claims());
    assert_eq!(
        rejection(&f.validator, &token, "other-agent").await,
        Rejection::ClientMismatch {
            authenticated: "other-agent".into(),
            claimed: Some("agent".into())
        }
    );
    // The mismatch did not use up the jti: the rightful client can still present it.
    f.validator.validate(&token, "agent").await.unwrap();
}

#[tokio::test]
async fn replayed_jti_is_rejected() {
    let f = fixture();
    let token = sign(&f.idp_key, &claims());
    f.validator.validate(&token, "agent").await.unwrap();
    assert_eq!(
        rejection(&f.validator, &token, "agent").await,
        Rejection::Replayed
    );
    // A different token reusing the jti is a replay too.
    let mut c = claims();
    c["jti"] = json!(
        f.validator
            .validate(&sign(&f.idp_key, &claims()), "agent")
            .await
            .unwrap()
            .jti
    );
    assert_eq!(
        rejection(&f.validator, &sign(&f.idp_key, &c), "agent").await,
        Rejection::Replayed
    );
}

#[tokio::test]
async fn untrusted_issuer_is_rejected() {
    let f = fixture();
    let stranger = SigningKey::generate_es256().unwrap().with_kid("evil");
    let mut c = claims();
    c["iss"] = json!("https://evil.example.com");
    assert_eq!(
        rejection(&f.validator, &sign(&stranger, &c), "agent").await,
        Rejection::UntrustedIssuer("https://evil.example.com".into())
    );
}

#[tokio::test]
async fn signature_by_an_untrusted_key_claiming_the_trusted_issuer_is_rejected() {
    let f = fixture();
    // Same kid as the real key, different key material.
    let forger = SigningKey::generate_es256().unwrap().with_kid("idp-1");
    assert_eq!(
        rejection(&f.validator, &sign(&forger, &claims()), "agent").await,
        Rejection::BadSignature
    );
    let unknown_kid = SigningKey::generate_es256().unwrap().with_kid("nope");
    assert_eq!(
        rejection(&f.validator, &sign(&unknown_kid, &claims()), "agent").await,
        Rejection::BadSignature
    );
}

#[tokio::test]
async fn expired_is_rejected() {
    let f = fixture();
    let mut c = claims();
    c["iat"] = json!(now() - 900);
    c["exp"] = json!(now() - 600);
    assert_eq!(
        rejection(&f.validator, &sign(&f.idp_key, &c), "agent").await,
        Rejection::Expired
    );
}

#[tokio::test]
async fn issued_in_the_future_is_rejected() {
    let f = fixture();
    let mut c = claims();
    c["iat"] = json!(now() + 600);
    c["exp"] = json!(now() + 900);
    assert_eq!(
        rejection(&f.validator, &sign(&f.idp_key, &c), "agent").await,
        Rejection::NotYetValid
    );
}

#[tokio::test]
async fn every_required_claim_is_required() {
    let f = fixture();
    // With several trusted issuers the validator picks keys by the (unverified) `iss` first,
    // a different path from the single-issuer one.
    let other = SigningKey::generate_es256().unwrap().with_kid("other-1");
    let two_issuers = IdJagValidator::builder(AS)
        .trust(IDP, jwks(&[&f.idp_key]))
        .trust("https://other-idp.example.com", jwks(&[&other]))
        .build()
        .unwrap();
    // The draft's REQUIRED claims (§3.1): iss, sub, aud, client_id, jti, exp, iat.
    for claim in ["iss", "sub", "aud", "client_id", "jti", "exp", "iat"] {
        for validator in [&f.validator, &two_issuers] {
            let mut c = claims();
            c.remove(claim);
            assert_eq!(
                rejection(validator, &sign(&f.idp_key, &c), "agent").await,
                Rejection::MissingClaim(claim.into()),
                "{claim}"
            );
        }
    }
    // The same claims present: accepted by both.
    for validator in [&f.validator, &two_issuers] {
        validator
            .validate(&sign(&f.idp_key, &claims()), "agent")
            .await
            .unwrap();
    }
}

#[tokio::test]
async fn resource_is_exposed_as_a_string_or_an_array() {
    let f = fixture();
    let mut c = claims();
    c["resource"] = json!(["https://mcp.example.com/mcp", "https://files.example.com/"]);
    let ok = f
        .validator
        .validate(&sign(&f.idp_key, &c), "agent")
        .await
        .unwrap();
    assert_eq!(
        ok.resources,
        ["https://mcp.example.com/mcp", "https://files.example.com/"]
    );
    let mut c = claims();
    c.remove("resource");
    let ok = f
        .validator
        .validate(&sign(&f.idp_key, &c), "agent")
        .await
        .unwrap();
    assert!(ok.resources.is_empty());
    // Any other shape is malformed, never read as "no resource restriction".
    for bad in [
        json!(42),
        json!(["https://mcp.example.com/mcp", 7]),
        json!({"a": 1}),
    ] {
        let mut c = claims();
        c["resource"] = bad.clone();
        assert!(
            matches!(
                rejection(&f.validator, &sign(&f.idp_key, &c), "agent").await,
                Rejection::Malformed(reason) if reason.contains("`resource`")
            ),
            "{bad}"
        );
    }
}

#[tokio::test]
async fn garbage_is_malformed() {
    let f = fixture();
    for garbage in ["", "a.b", "a.b.c.d", "!!!.???.###"] {
        assert!(
            matches!(
                rejection(&f.validator, garbage, "agent").await,
                Rejection::Malformed(_) | Rejection::MissingClaim(_)
            ),
            "{garbage:?}"
        );
    }
}

#[tokio::test]
async fn alg_none_is_rejected() {
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let f = fixture();
    let header =
        URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"oauth-id-jag+jwt","kid":"idp-1"}"#);
    let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims()).unwrap());
    let token = format!("{header}.{payload}.");
    assert_eq!(
        rejection(&f.validator, &token, "agent").await,
        Rejection::BadSignature
    );
}

#[tokio::test]
async fn a_full_replay_store_fails_closed() {
    let idp_key = SigningKey::generate_es256().unwrap().with_kid("idp-1");
    let validator = IdJagValidator::builder(AS)
        .trust(IDP, jwks(&[&idp_key]))
        .replay_capacity(2)
        .build()
        .unwrap();
    for _ in 0..2 {
        validator
            .validate(&sign(&idp_key, &claims()), "agent")
            .await
            .unwrap();
    }
    assert_eq!(
        rejection(&validator, &sign(&idp_key, &claims()), "agent").await,
        Rejection::ReplayStoreFull
    );
}

#[test]
fn a_validator_without_trusted_issuers_is_a_config_error() {
    let err = IdJagValidator::builder(AS).build().unwrap_err();
    assert!(matches!(err, Error::Config(_)));
    assert!(err.to_string().contains("trust"), "{err}");
}
