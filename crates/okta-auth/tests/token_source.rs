//! `TokenSource` over real HTTP against okta-sim: every client authentication method, typed
//! OAuth errors, caching, single flight, refresh and outage recovery.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use okta_auth::{ClientAuth, Error, OAuthErrorCode, SigningKey, TokenSource};
use okta_sim::{AuthServer, GrantType, OktaSim, SimClient};
use serde_json::Value;

const TOKEN_PATH: &str = "/oauth2/default/v1/token";
const SHORT_TOKEN_PATH: &str = "/oauth2/short/v1/token";
const RSA_PKCS8: &str = include_str!("fixtures/rsa_pkcs8.pem");

struct Fixture {
    sim: OktaSim,
    ec_key: SigningKey,
    rsa_key: SigningKey,
}

async fn start() -> Fixture {
    let ec_key = SigningKey::generate_es256().unwrap().with_kid("ec-1");
    let rsa_key = SigningKey::from_pem(RSA_PKCS8).unwrap().with_kid("rsa-1");
    let sim = OktaSim::builder()
        .client(
            SimClient::secret("agent", "agent-secret")
                .grants([GrantType::ClientCredentials])
                .scopes(["mcp:read", "mcp:write"]),
        )
        .client(
            SimClient::private_key_jwt("svc-es", ec_key.public_jwk())
                .grants([GrantType::ClientCredentials])
                .scopes(["mcp:read"]),
        )
        .client(
            SimClient::private_key_jwt("svc-rs", rsa_key.public_jwk())
                .grants([GrantType::ClientCredentials])
                .scopes(["mcp:read"]),
        )
        .auth_server(
            AuthServer::new("default")
                .audience("api://default")
                .scopes(["mcp:read", "mcp:write", "mcp:admin"])
                .access_token_ttl(Duration::from_secs(3600)),
        )
        .auth_server(
            AuthServer::new("short")
                .audience("api://short")
                .scopes(["mcp:read", "mcp:write"])
                .access_token_ttl(Duration::from_secs(2)),
        )
        .start()
        .await
        .unwrap();
    Fixture {
        sim,
        ec_key,
        rsa_key,
    }
}

fn source(sim: &OktaSim, auth: ClientAuth, scopes: &[&str]) -> TokenSource {
    TokenSource::builder()
        .token_endpoint(sim.token_endpoint("default"))
        .client_auth(auth)
        .scopes(scopes.iter().copied())
        .build()
        .unwrap()
}

fn claims(jwt: &str) -> Value {
    let payload = jwt.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

#[tokio::test]
async fn every_client_auth_method_gets_a_token() {
    let f = start().await;
    let methods = [
        (
            ClientAuth::client_secret_basic("agent", "agent-secret"),
            "agent",
        ),
        (
            ClientAuth::client_secret_post("agent", "agent-secret"),
            "agent",
        ),
        (
            ClientAuth::private_key_jwt("svc-es", f.ec_key.clone()),
            "svc-es",
        ),
        (
            ClientAuth::private_key_jwt("svc-rs", f.rsa_key.clone()),
            "svc-rs",
        ),
    ];
    for (auth, client_id) in methods {
        let method = auth.method_name();
        let token = source(&f.sim, auth, &["mcp:read"])
            .token()
            .await
            .unwrap_or_else(|e| panic!("{method}: {e}"));
        let c = claims(token.secret());
        assert_eq!(c["cid"], client_id, "{method}");
        assert_eq!(c["iss"], f.sim.issuer("default"), "{method}");
        assert_eq!(c["scp"], serde_json::json!(["mcp:read"]), "{method}");
        assert_eq!(token.scopes(), ["mcp:read"], "{method}");
        assert!(token.expires_at().is_some());
    }
}

#[tokio::test]
async fn wrong_secret_is_invalid_client() {
    let f = start().await;
    let tokens = source(
        &f.sim,
        ClientAuth::client_secret_basic("agent", "not-the-secret"),
        &["mcp:read"],
    );
    let err = tokens.token().await.unwrap_err();
    match &err {
        Error::OAuth { error, .. } => assert_eq!(*error, OAuthErrorCode::InvalidClient),
        other => panic!("unexpected {other:?}"),
    }
    assert!(!err.to_string().contains("not-the-secret"), "{err}");
}

#[tokio::test]
async fn unregistered_signing_key_is_invalid_client() {
    let f = start().await;
    let stranger = SigningKey::generate_es256().unwrap().with_kid("ec-1");
    let err = source(
        &f.sim,
        ClientAuth::private_key_jwt("svc-es", stranger),
        &["mcp:read"],
    )
    .token()
    .await
    .unwrap_err();
    assert!(
        matches!(
            err,
            Error::OAuth {
                error: OAuthErrorCode::InvalidClient,
                ..
            }
        ),
        "{err:?}"
    );
}

#[tokio::test]
async fn scope_not_granted_to_client_is_invalid_scope() {
    let f = start().await;
    let err = source(
        &f.sim,
        ClientAuth::client_secret_post("agent", "agent-secret"),
        &["mcp:admin"],
    )
    .token()
    .await
    .unwrap_err();
    assert!(
        matches!(
            err,
            Error::OAuth {
                error: OAuthErrorCode::InvalidScope,
                ..
            }
        ),
        "{err:?}"
    );
}

#[tokio::test]
async fn each_request_uses_a_fresh_assertion() {
    // okta-sim rejects a reused `jti`; five successful requests prove five distinct ones.
    let f = start().await;
    for (id, key) in [("svc-es", &f.ec_key), ("svc-rs", &f.rsa_key)] {
        let tokens = source(
            &f.sim,
            ClientAuth::private_key_jwt(id, key.clone()),
            &["mcp:read"],
        );
        for _ in 0..5 {
            tokens.invalidate();
            tokens.token().await.unwrap();
        }
    }
    assert_eq!(f.sim.request_count(TOKEN_PATH), 10);
}

#[tokio::test]
async fn sequential_calls_hit_the_cache() {
    let f = start().await;
    let tokens = source(
        &f.sim,
        ClientAuth::client_secret_basic("agent", "agent-secret"),
        &["mcp:read", "mcp:write"],
    );
    let first = tokens.token().await.unwrap();
    for _ in 0..20 {
        assert_eq!(tokens.token().await.unwrap().secret(), first.secret());
    }
    assert_eq!(f.sim.request_count(TOKEN_PATH), 1);
    tokens.invalidate();
    assert_ne!(tokens.token().await.unwrap().secret(), first.secret());
    assert_eq!(f.sim.request_count(TOKEN_PATH), 2);
}

#[tokio::test]
async fn fifty_concurrent_callers_on_a_cold_cache_make_one_request() {
    let f = start().await;
    f.sim.set_latency(Duration::from_millis(100));
    let tokens = source(
        &f.sim,
        ClientAuth::client_secret_basic("agent", "agent-secret"),
        &["mcp:read"],
    );
    let calls = (0..50).map(|_| {
        let tokens = tokens.clone();
        tokio::spawn(async move { tokens.token().await.map(|t| t.secret().to_owned()) })
    });
    let secrets: Vec<String> = futures::future::join_all(calls)
        .await
        .into_iter()
        .map(|r| r.unwrap().unwrap())
        .collect();
    assert!(secrets.iter().all(|s| s == &secrets[0]));
    assert_eq!(f.sim.request_count(TOKEN_PATH), 1);
}

#[tokio::test]
async fn token_is_refreshed_once_expiry_minus_buffer_passes() {
    let f = start().await;
    // The "short" server issues 2 s tokens; a 1.8 s buffer makes them stale after 0.2 s.
    let tokens = TokenSource::builder()
        .token_endpoint(f.sim.token_endpoint("short"))
        .client_auth(ClientAuth::client_secret_basic("agent", "agent-secret"))
        .scope("mcp:read")
        .refresh_buffer(Duration::from_millis(1800))
        .build()
        .unwrap();
    let first = tokens.token().await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let second = tokens.token().await.unwrap();
    assert_ne!(first.secret(), second.secret());
    assert_eq!(f.sim.request_count(SHORT_TOKEN_PATH), 2);
}

#[tokio::test]
async fn tokens_shorter_than_the_buffer_are_refreshed_at_half_life() {
    let f = start().await;
    // Default 5-minute buffer, 2 s tokens: reused for 1 s, then replaced.
    let tokens = TokenSource::builder()
        .token_endpoint(f.sim.token_endpoint("short"))
        .client_auth(ClientAuth::client_secret_basic("agent", "agent-secret"))
        .scope("mcp:read")
        .build()
        .unwrap();
    tokens.token().await.unwrap();
    tokens.token().await.unwrap();
    assert_eq!(f.sim.request_count(SHORT_TOKEN_PATH), 1);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    tokens.token().await.unwrap();
    assert_eq!(f.sim.request_count(SHORT_TOKEN_PATH), 2);
}

#[tokio::test]
async fn outage_is_a_typed_error_then_recovers() {
    let f = start().await;
    let tokens = source(
        &f.sim,
        ClientAuth::client_secret_basic("agent", "agent-secret"),
        &["mcp:read"],
    );
    f.sim.set_outage(true);
    let err = tokens.token().await.unwrap_err();
    let status = match &err {
        Error::TokenEndpointStatus { status, .. } | Error::OAuth { status, .. } => *status,
        other => panic!("unexpected {other:?}"),
    };
    assert_eq!(status, 503, "{err}");
    f.sim.set_outage(false);
    tokens.token().await.unwrap();
    assert_eq!(f.sim.request_count(TOKEN_PATH), 2);
}

#[tokio::test]
async fn token_endpoint_is_discovered_from_the_issuer() {
    let f = start().await;
    let tokens = TokenSource::builder()
        .issuer(f.sim.issuer("default"))
        .client_auth(ClientAuth::client_secret_post("agent", "agent-secret"))
        .scope("mcp:write")
        .build()
        .unwrap();
    assert_eq!(tokens.token_endpoint(), None);
    let token = tokens.token().await.unwrap();
    assert_eq!(
        claims(token.secret())["scp"],
        serde_json::json!(["mcp:write"])
    );
    assert_eq!(
        tokens.token_endpoint(),
        Some(f.sim.token_endpoint("default").as_str())
    );
}
