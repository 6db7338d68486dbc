//! `McpAuthClient` over real HTTP: okta-sim as the authorization server, a resource server
//! built from okta-auth's own `AuthLayer`/RFC 9728 pieces. Every client authentication method,
//! caching, well-known fallback and the one-step-up rule.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod mcp_client_support;

use mcp_client_support::{EC_PKCS8, Mode, RSA_PKCS8, TOKEN_PATH, call, resource_server, sim};
use okta_auth::mcp_client::{AssertionAudience, ClientCredentials, McpAuthClient};
use okta_auth::{ClientAuth, Error, SigningKey};

fn client(auth: ClientAuth) -> McpAuthClient {
    McpAuthClient::builder(ClientCredentials::new(auth))
        .build()
        .unwrap()
}

#[tokio::test]
async fn client_secret_basic_discovers_on_401_and_caches() {
    let sim = sim().await;
    let url = resource_server(&sim, Mode::Normal).await;
    let auth = client(ClientAuth::client_secret_basic("agent", "agent-secret"));
    assert!(auth.authorization(&url).is_none());
    assert_eq!(call(&auth, &url, "read").await.unwrap(), 200);
    assert_eq!(sim.request_count(TOKEN_PATH), 1);
    // Scopes came from the metadata's scopes_supported.
    assert_eq!(auth.scopes(&url).unwrap(), ["mcp:read"]);
    assert!(auth.authorization(&url).is_some());
    for _ in 0..3 {
        assert_eq!(call(&auth, &url, "read").await.unwrap(), 200);
    }
    assert_eq!(
        sim.request_count(TOKEN_PATH),
        1,
        "the cached token is reused"
    );
    assert!(!format!("{auth:?}").contains("agent-secret"));
}

#[tokio::test]
async fn client_secret_post_and_private_key_jwt_es256_rs256() {
    let sim = sim().await;
    let url = resource_server(&sim, Mode::Normal).await;
    let es = SigningKey::from_pem(EC_PKCS8).unwrap();
    let rs = SigningKey::from_pem(RSA_PKCS8).unwrap();
    let flows = [
        ClientCredentials::new(ClientAuth::client_secret_post("agent", "agent-secret")),
        ClientCredentials::new(ClientAuth::private_key_jwt("svc-es", es.clone())),
        ClientCredentials::new(ClientAuth::private_key_jwt("svc-rs", rs)),
        ClientCredentials::new(ClientAuth::private_key_jwt("svc-es", es))
            .assertion_audience(AssertionAudience::TokenEndpoint),
    ];
    for flow in flows {
        let name = format!("{flow:?}");
        let auth = McpAuthClient::builder(flow).build().unwrap();
        assert_eq!(call(&auth, &url, "read").await.unwrap(), 200, "{name}");
    }
    assert_eq!(sim.request_count(TOKEN_PATH), 4);
}

#[tokio::test]
async fn challenge_without_resource_metadata_falls_back_to_well_known() {
    let sim = sim().await;
    let url = resource_server(&sim, Mode::NoResourceMetadata).await;
    let auth = client(ClientAuth::client_secret_basic("agent", "agent-secret"));
    assert_eq!(call(&auth, &url, "read").await.unwrap(), 200);
}

#[tokio::test]
async fn insufficient_scope_steps_up_once_with_the_named_scope() {
    let sim = sim().await;
    let url = resource_server(&sim, Mode::Normal).await;
    let auth = client(ClientAuth::client_secret_basic("agent", "agent-secret"));
    assert_eq!(call(&auth, &url, "read").await.unwrap(), 200);
    assert_eq!(call(&auth, &url, "write").await.unwrap(), 200);
    assert_eq!(auth.scopes(&url).unwrap(), ["mcp:read", "mcp:write"]);
    assert_eq!(sim.request_count(TOKEN_PATH), 2, "one token, one step-up");
    // The wider token now serves both.
    assert_eq!(call(&auth, &url, "read").await.unwrap(), 200);
    assert_eq!(call(&auth, &url, "write").await.unwrap(), 200);
    assert_eq!(sim.request_count(TOKEN_PATH), 2);
}

#[tokio::test]
async fn a_server_that_refuses_twice_gets_one_step_up_then_a_clear_error() {
    let sim = sim().await;
    let url = resource_server(&sim, Mode::Stubborn).await;
    let auth = client(ClientAuth::client_secret_basic("agent", "agent-secret"));
    let err = call(&auth, &url, "read").await.unwrap_err();
    match &err {
        Error::InsufficientScope {
            required, granted, ..
        } => {
            assert_eq!(required, &["mcp:write"]);
            assert_eq!(granted, &["mcp:read", "mcp:write"]);
        }
        other => panic!("expected InsufficientScope, got {other:?}"),
    }
    assert!(err.to_string().contains("mcp:write"));
    assert_eq!(
        sim.request_count(TOKEN_PATH),
        2,
        "initial token + one step-up"
    );
    // A further request does not loop either: already holding the scope, no step-up is tried.
    assert!(matches!(
        call(&auth, &url, "read").await.unwrap_err(),
        Error::InsufficientScope { .. }
    ));
    assert_eq!(sim.request_count(TOKEN_PATH), 2);
}

#[tokio::test]
async fn step_up_to_a_scope_the_client_may_not_have_is_a_typed_invalid_scope() {
    let sim = sim().await;
    let url = resource_server(&sim, Mode::Normal).await;
    let auth = client(ClientAuth::client_secret_basic("reader", "reader-secret"));
    assert_eq!(call(&auth, &url, "read").await.unwrap(), 200);
    let err = call(&auth, &url, "write").await.unwrap_err();
    assert!(
        matches!(&err, Error::OAuth { error, .. } if *error == okta_auth::OAuthErrorCode::InvalidScope),
        "{err:?}"
    );
}

#[tokio::test]
async fn tokens_are_cached_per_resource() {
    let sim = sim().await;
    let one = resource_server(&sim, Mode::Normal).await;
    let two = resource_server(&sim, Mode::Normal).await;
    let auth = client(ClientAuth::client_secret_basic("agent", "agent-secret"));
    assert_eq!(call(&auth, &one, "read").await.unwrap(), 200);
    assert_eq!(call(&auth, &two, "read").await.unwrap(), 200);
    assert_eq!(call(&auth, &one, "read").await.unwrap(), 200);
    assert_eq!(sim.request_count(TOKEN_PATH), 2, "one token per resource");
    assert_ne!(auth.authorization(&one), auth.authorization(&two));
    auth.clear();
    assert!(auth.authorization(&one).is_none());
}

#[tokio::test]
async fn concurrent_first_calls_share_one_token_request() {
    let sim = sim().await;
    let url = resource_server(&sim, Mode::Normal).await;
    let auth = client(ClientAuth::client_secret_basic("agent", "agent-secret"));
    let calls: Vec<_> = (0..8)
        .map(|_| {
            let (auth, url) = (auth.clone(), url.clone());
            tokio::spawn(async move { call(&auth, &url, "read").await.unwrap() })
        })
        .collect();
    for c in calls {
        assert_eq!(c.await.unwrap(), 200);
    }
    assert_eq!(sim.request_count(TOKEN_PATH), 1);
}
