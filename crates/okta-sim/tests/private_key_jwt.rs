//! `private_key_jwt` client authentication (RFC 7523 §3): happy paths and every rejection.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::assertion::{ASSERTION_TYPE, ClientKey, alg_none, hs256, standard_claims, unique_jti};
use common::{assert_oauth_error, now, post_token, standard_builder, verify};
use okta_sim::{GrantType, OktaSim, SimClient};
use serde_json::{Value, json};

struct Fixture {
    sim: OktaSim,
    rsa: ClientKey,
    ec: ClientKey,
}

async fn fixture() -> Fixture {
    let rsa = ClientKey::rsa();
    let ec = ClientKey::ec();
    let sim = standard_builder()
        .client(
            SimClient::private_key_jwt("svc", rsa.public_jwk("rsa-1"))
                .grants([GrantType::ClientCredentials])
                .scopes(["mcp:read"]),
        )
        .client(
            SimClient::private_key_jwt("svc-ec", json!({"keys": [ec.public_jwk("ec-1")]}))
                .scopes(["mcp:read"]),
        )
        .start()
        .await
        .unwrap();
    Fixture { sim, rsa, ec }
}

async fn token_with(
    sim: &OktaSim,
    assertion: &str,
    extra: &[(&str, &str)],
) -> (reqwest::StatusCode, reqwest::header::HeaderMap, Value) {
    let mut form = vec![
        ("grant_type", "client_credentials"),
        ("scope", "mcp:read"),
        ("client_assertion_type", ASSERTION_TYPE),
        ("client_assertion", assertion),
    ];
    form.extend_from_slice(extra);
    post_token(&sim.token_endpoint("default"), &form, None).await
}

#[tokio::test]
async fn rs256_and_es256_assertions_authenticate() {
    let f = fixture().await;
    let endpoint = f.sim.token_endpoint("default");
    let (status, _, body) =
        token_with(&f.sim, &f.rsa.assertion("svc", &endpoint, "rsa-1"), &[]).await;
    assert_eq!(status, 200, "{body}");
    let claims = verify(
        &f.sim.jwks_uri("default"),
        body["access_token"].as_str().unwrap(),
    )
    .await;
    assert_eq!(claims["cid"], "svc");
    assert_eq!(claims["sub"], "svc");

    let with_id = f.ec.assertion("svc-ec", &endpoint, "ec-1");
    let (status, _, body) = token_with(&f.sim, &with_id, &[("client_id", "svc-ec")]).await;
    assert_eq!(status, 200, "{body}");

    // RS384 is accepted for an RSA key without a declared alg.
    let mut header = f.rsa.header("rsa-1");
    header["alg"] = json!("RS384");
    let rs384 = f.rsa.sign(&header, &standard_claims("svc", &endpoint));
    assert_eq!(token_with(&f.sim, &rs384, &[]).await.0, 200);
}

#[tokio::test]
async fn issuer_and_audience_arrays_are_accepted_audiences() {
    let f = fixture().await;
    let issuer = f.sim.issuer("default");
    assert_eq!(
        token_with(&f.sim, &f.rsa.assertion("svc", &issuer, "rsa-1"), &[])
            .await
            .0,
        200
    );
    let mut claims = standard_claims("svc", "ignored");
    claims["aud"] = json!(["https://other.example", f.sim.token_endpoint("default")]);
    let signed = f.rsa.sign(&f.rsa.header("rsa-1"), &claims);
    assert_eq!(token_with(&f.sim, &signed, &[]).await.0, 200);
}

#[tokio::test]
async fn bad_assertions_are_invalid_client() {
    let f = fixture().await;
    let endpoint = f.sim.token_endpoint("default");
    let header = f.rsa.header("rsa-1");
    let claims = || standard_claims("svc", &endpoint);
    let with = |edit: &dyn Fn(&mut Value)| {
        let mut c = claims();
        edit(&mut c);
        f.rsa.sign(&header, &c)
    };
    let stranger = ClientKey::rsa();
    let cases: Vec<(&str, String, &str)> = vec![
        (
            "signed by another key",
            stranger.sign(&header, &claims()),
            "signature",
        ),
        (
            "wrong audience",
            with(&|c| c["aud"] = json!(f.sim.token_endpoint("other"))),
            "aud",
        ),
        (
            "org endpoint audience",
            with(&|c| c["aud"] = json!(f.sim.org_token_endpoint())),
            "aud",
        ),
        (
            "missing audience",
            with(&|c| {
                c.as_object_mut().unwrap().remove("aud");
            }),
            "aud",
        ),
        (
            "expired",
            with(&|c| {
                c["exp"] = json!(now() - 120);
                c["iat"] = json!(now() - 400);
            }),
            "expired",
        ),
        (
            "exp too far ahead",
            with(&|c| c["exp"] = json!(now() + 7200)),
            "too far",
        ),
        (
            "missing exp",
            with(&|c| {
                c.as_object_mut().unwrap().remove("exp");
            }),
            "exp",
        ),
        (
            "future nbf",
            with(&|c| c["nbf"] = json!(now() + 600)),
            "nbf",
        ),
        (
            "future iat",
            with(&|c| c["iat"] = json!(now() + 600)),
            "iat",
        ),
        (
            "missing jti",
            with(&|c| {
                c.as_object_mut().unwrap().remove("jti");
            }),
            "jti",
        ),
        (
            "iss differs from sub",
            with(&|c| c["iss"] = json!("someone-else")),
            "iss",
        ),
        (
            "unknown client",
            with(&|c| {
                c["iss"] = json!("ghost");
                c["sub"] = json!("ghost");
            }),
            "unknown client",
        ),
        ("alg none", alg_none(&claims()), "well-formed"),
        (
            "HS256 with public key as secret",
            hs256(
                &claims(),
                f.rsa.public_jwk("x")["n"].as_str().unwrap().as_bytes(),
            ),
            "HMAC",
        ),
        (
            "unknown kid",
            f.rsa.sign(&f.rsa.header("rsa-2"), &claims()),
            "kid",
        ),
        (
            "EC alg on RSA key",
            f.ec.sign(&json!({"alg": "ES256", "kid": "rsa-1"}), &claims()),
            "kid and alg",
        ),
        ("not a JWT", "not-a-jwt".to_owned(), "well-formed"),
        (
            "four parts",
            format!("{}.x", f.rsa.assertion("svc", &endpoint, "rsa-1")),
            "well-formed",
        ),
    ];
    for (name, assertion, hint) in cases {
        let response = token_with(&f.sim, &assertion, &[]).await;
        assert_oauth_error(&response, 401, "invalid_client");
        let description = response.2["error_description"].as_str().unwrap();
        assert!(description.contains(hint), "{name}: {description}");
        assert!(
            !response.1.contains_key("www-authenticate"),
            "{name}: no Basic challenge"
        );
    }
}

#[tokio::test]
async fn replayed_jti_is_rejected() {
    let f = fixture().await;
    let endpoint = f.sim.token_endpoint("default");
    let assertion = f.rsa.assertion("svc", &endpoint, "rsa-1");
    assert_eq!(token_with(&f.sim, &assertion, &[]).await.0, 200);
    let replay = token_with(&f.sim, &assertion, &[]).await;
    assert_oauth_error(&replay, 401, "invalid_client");
    assert!(
        replay.2["error_description"]
            .as_str()
            .unwrap()
            .contains("already been used")
    );
    // Same jti in a freshly signed assertion is still a replay.
    let mut claims = standard_claims("svc", &endpoint);
    let jti = unique_jti();
    claims["jti"] = json!(jti);
    assert_eq!(
        token_with(&f.sim, &f.rsa.sign(&f.rsa.header("rsa-1"), &claims), &[])
            .await
            .0,
        200
    );
    claims["exp"] = json!(now() + 200);
    let again = token_with(&f.sim, &f.rsa.sign(&f.rsa.header("rsa-1"), &claims), &[]).await;
    assert_oauth_error(&again, 401, "invalid_client");
}

#[tokio::test]
async fn assertion_parameter_errors() {
    let f = fixture().await;
    let endpoint = f.sim.token_endpoint("default");
    let assertion = f.rsa.assertion("svc", &endpoint, "rsa-1");
    let url = f.sim.token_endpoint("default");

    let wrong_type = post_token(
        &url,
        &[
            ("grant_type", "client_credentials"),
            ("client_assertion_type", "urn:wrong"),
            ("client_assertion", &assertion),
        ],
        None,
    )
    .await;
    assert_oauth_error(&wrong_type, 401, "invalid_client");
    let no_type = post_token(
        &url,
        &[
            ("grant_type", "client_credentials"),
            ("client_assertion", &assertion),
        ],
        None,
    )
    .await;
    assert_oauth_error(&no_type, 400, "invalid_request");
    let no_assertion = post_token(
        &url,
        &[
            ("grant_type", "client_credentials"),
            ("client_assertion_type", ASSERTION_TYPE),
        ],
        None,
    )
    .await;
    assert_oauth_error(&no_assertion, 400, "invalid_request");
    let mismatched = token_with(&f.sim, &assertion, &[("client_id", "svc-ec")]).await;
    assert_oauth_error(&mismatched, 401, "invalid_client");

    // A secret client cannot use an assertion, a JWT client cannot use a secret.
    let agent_assertion = f.rsa.assertion("agent", &endpoint, "rsa-1");
    let response = token_with(&f.sim, &agent_assertion, &[]).await;
    assert_oauth_error(&response, 401, "invalid_client");
    assert!(
        response.2["error_description"]
            .as_str()
            .unwrap()
            .contains("client_secret")
    );
    let response = post_token(
        &url,
        &[
            ("grant_type", "client_credentials"),
            ("scope", "mcp:read"),
            ("client_id", "svc"),
            ("client_secret", "x"),
        ],
        None,
    )
    .await;
    assert_oauth_error(&response, 401, "invalid_client");
    assert!(
        response.2["error_description"]
            .as_str()
            .unwrap()
            .contains("private_key_jwt")
    );
}

#[tokio::test]
async fn jwt_clients_get_scope_and_grant_checks_too() {
    let f = fixture().await;
    let endpoint = f.sim.token_endpoint("default");
    let assertion = f.rsa.assertion("svc", &endpoint, "rsa-1");
    let response = post_token(
        &endpoint,
        &[
            ("grant_type", "client_credentials"),
            ("scope", "mcp:write"),
            ("client_assertion_type", ASSERTION_TYPE),
            ("client_assertion", &assertion),
        ],
        None,
    )
    .await;
    assert_oauth_error(&response, 400, "invalid_scope");
    let assertion = f.rsa.assertion("svc", &endpoint, "rsa-1");
    let response = post_token(
        &endpoint,
        &[
            ("grant_type", "password"),
            ("username", "alice"),
            ("password", "pw-alice"),
            ("scope", "mcp:read"),
            ("client_assertion_type", ASSERTION_TYPE),
            ("client_assertion", &assertion),
        ],
        None,
    )
    .await;
    assert_oauth_error(&response, 400, "unauthorized_client");
}

#[tokio::test]
async fn private_jwk_registration_is_a_config_error() {
    let err = OktaSim::builder()
        .client(SimClient::private_key_jwt(
            "bad",
            json!({"kty": "RSA", "n": "AQAB", "e": "AQAB", "d": "AQAB"}),
        ))
        .start()
        .await
        .unwrap_err();
    assert!(err.to_string().contains("private key"), "{err}");
}
