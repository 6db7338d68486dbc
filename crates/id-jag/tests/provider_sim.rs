//! `IdJagProvider` under `okta_auth::mcp_client::McpAuthClient` over real HTTP: okta-sim is the
//! IdP (org server: ID token → ID-JAG) and the resource's authorization server (custom server
//! `mcp`: ID-JAG → access token); the MCP server is a small axum app protected by okta-auth's
//! own `AuthLayer` and RFC 9728 metadata, as in okta-auth's `mcp_client_support`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::routing::post;
use id_jag::IdJagProvider;
use okta_auth::mcp_client::McpAuthClient;
use okta_auth::{
    AuthLayer, ClientAuth, Error, JwksCache, OktaClaims, ProtectedResourceMetadata, Verified,
    Verifier,
};
use okta_sim::{AuthServer, GrantType, OktaSim, SimClient, SimUser};

const EXCHANGE_PATH: &str = "/oauth2/v1/token";
const BEARER_PATH: &str = "/oauth2/mcp/v1/token";
const SCOPES: [&str; 2] = ["mcp:connect", "mcp:tools:read"];

/// okta-sim with user `alice`, client `agent` (token exchange + JWT bearer) connected to the
/// custom server `mcp`.
async fn sim() -> OktaSim {
    let sim = OktaSim::builder()
        .user(SimUser::new("alice", "pw-alice"))
        .client(
            SimClient::secret("agent", "agent-secret")
                .grants([GrantType::TokenExchange, GrantType::JwtBearer])
                .scopes(["openid", "mcp:connect", "mcp:tools:read"]),
        )
        .auth_server(AuthServer::new("mcp").audience("api://mcp").scopes(SCOPES))
        .start()
        .await
        .unwrap();
    sim.add_managed_connection("agent", "mcp");
    sim
}

/// A protected MCP-like resource at `<base>/mcp` accepting `sim`'s `mcp` tokens; it answers
/// `200` with the token's `sub`. Returns the URL and a counter of requests reaching `/mcp`.
async fn resource_server(sim: &OktaSim) -> (String, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let resource = format!("{base}/mcp");
    let jwks = JwksCache::builder()
        .issuer(sim.issuer("mcp"))
        .build()
        .await
        .unwrap();
    let verifier = Verifier::builder(jwks)
        .audience("api://mcp")
        .build()
        .unwrap();
    let metadata = ProtectedResourceMetadata::new(&resource)
        .authorization_server(sim.issuer("mcp"))
        .scopes(SCOPES);
    let layer = AuthLayer::new(verifier)
        .resource_metadata_from(&metadata)
        .unwrap();
    let hits = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&hits);
    let app =
        Router::new()
            .route(
                "/mcp",
                post(|claims: Verified<OktaClaims>| async move {
                    claims.sub.clone().unwrap_or_default()
                })
                .layer(layer)
                .layer(axum::middleware::from_fn(
                    move |request: axum::extract::Request, next: axum::middleware::Next| {
                        counted.fetch_add(1, Ordering::SeqCst);
                        next.run(request)
                    },
                )),
            )
            .merge(metadata.router().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (resource, hits)
}

fn client(sim: &OktaSim, id_token: String) -> McpAuthClient {
    let provider = IdJagProvider::builder()
        .idp_token_endpoint(sim.org_token_endpoint())
        .id_token(id_token)
        .client_auth(ClientAuth::client_secret_basic("agent", "agent-secret"))
        .build()
        .unwrap();
    McpAuthClient::builder(provider).build().unwrap()
}

/// POSTs a `tools/list` to `url` through `auth`; the status and body.
async fn call(auth: &McpAuthClient, url: &str) -> Result<(u16, String), Error> {
    let http = reqwest::Client::new();
    let request = http
        .post(url)
        .body(r#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#)
        .build()
        .unwrap();
    let response = auth.send(&http, request).await?;
    let status = response.status().as_u16();
    Ok((status, response.text().await.unwrap()))
}

#[tokio::test]
async fn a_401_leads_to_discovery_id_jag_exchange_and_jwt_bearer_then_the_token_is_cached() {
    let sim = sim().await;
    let (url, hits) = resource_server(&sim).await;
    let id_token = sim
        .mint_org_id_token("alice", "agent", Duration::from_secs(600), false)
        .unwrap();
    let auth = client(&sim, id_token);
    sim.reset_counters(); // the resource server's own discovery and JWKS fetch
    assert!(auth.authorization(&url).is_none());

    let (status, sub) = call(&auth, &url).await.unwrap();
    assert_eq!(status, 200);
    assert_eq!(
        sub, "alice",
        "the access token acts for the ID token's user"
    );
    assert_eq!(hits.load(Ordering::SeqCst), 2, "401, then the retry");
    assert_eq!(sim.request_count(EXCHANGE_PATH), 1, "ID token → ID-JAG");
    assert_eq!(sim.request_count(BEARER_PATH), 1, "ID-JAG → access token");
    let first: HashMap<String, u64> = sim.request_counts();
    assert!(
        first.keys().any(|path| path.contains("/.well-known/")),
        "the authorization server was discovered: {first:?}"
    );
    assert!(
        first.values().all(|&n| n == 1),
        "discovery and each token endpoint hit once: {first:?}"
    );
    assert_eq!(auth.scopes(&url).unwrap(), SCOPES, "from scopes_supported");
    assert!(auth.authorization(&url).is_some());

    let (status, sub) = call(&auth, &url).await.unwrap();
    assert_eq!((status, sub.as_str()), (200, "alice"));
    assert_eq!(hits.load(Ordering::SeqCst), 3, "no 401 the second time");
    assert_eq!(
        sim.request_counts(),
        first,
        "the second call reuses the cached token: no request reaches okta-sim"
    );
}

#[tokio::test]
async fn an_expired_id_token_fails_fast_without_a_token_exchange() {
    let sim = sim().await;
    let (url, _) = resource_server(&sim).await;
    let expired = sim
        .mint_org_id_token("alice", "agent", Duration::from_secs(600), true)
        .unwrap();
    let auth = client(&sim, expired);
    sim.reset_counters();

    for _ in 0..2 {
        match call(&auth, &url).await.unwrap_err() {
            Error::CredentialExpired {
                credential,
                ago_secs,
            } => {
                assert_eq!(credential, "ID token");
                assert!((595..=700).contains(&ago_secs), "expired {ago_secs} s ago");
            }
            other => panic!("expected CredentialExpired, got {other:?}"),
        }
    }
    assert_eq!(sim.request_count(EXCHANGE_PATH), 0, "no token exchange");
    assert_eq!(sim.request_count(BEARER_PATH), 0);
    assert!(auth.authorization(&url).is_none(), "nothing cached");
}
