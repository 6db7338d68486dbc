//! The cached path of `okta_auth::mcp_client::McpAuthClient`: a token is already held for
//! the MCP server URL, and a request to it is decorated with `Authorization: Bearer …`.
//!
//! Before measuring, the cache is primed against an in-process okta-sim (client credentials,
//! `client_secret_basic`) and a local RFC 9728 metadata server; both are then shut down, so
//! the measured loops cannot reach the network (any attempt would fail the bench).
//!
//! - `request_undecorated`: a `reqwest::Request` (POST, JSON body, content type) built with
//!   `reqwest::Client::post(url)…build()`. The baseline.
//! - `request_decorated_authorization`: the same request plus the header from
//!   `McpAuthClient::authorization(url)` (read lock, hash lookup, `HeaderValue` clone). The
//!   cached path this bench is about (target: < 1 µs over the baseline).
//! - `request_decorated_token_for`: the same request plus `McpAuthClient::token_for(url)` and
//!   `AccessToken::authorization_header()`, what `McpAuthClient::send` does per request.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use futures::executor::block_on;
use http::header::{AUTHORIZATION, CONTENT_TYPE};
use okta_auth::mcp_client::{ClientCredentials, McpAuthClient};
use okta_auth::{ClientAuth, ProtectedResourceMetadata};
use okta_sim::{AuthServer, GrantType, OktaSim, SimClient};

const BODY: &str = r#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#;
const TOKEN_PATH: &str = "/oauth2/default/v1/token";

/// Obtains a token for `<resource server>/mcp` over HTTP, then stops both servers. Returns the
/// client (holding the token) and the URL.
async fn primed() -> (McpAuthClient, String) {
    let sim = OktaSim::builder()
        .client(
            SimClient::secret("agent", "agent-secret")
                .grants([GrantType::ClientCredentials])
                .scopes(["mcp:read"]),
        )
        .auth_server(
            AuthServer::new("default")
                .scopes(["mcp:read"])
                .access_token_ttl(Duration::from_secs(3600)),
        )
        .start()
        .await
        .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/mcp", listener.local_addr().unwrap());
    let metadata = ProtectedResourceMetadata::new(&url)
        .authorization_server(sim.issuer("default"))
        .scopes(["mcp:read"]);
    let app = metadata.router().unwrap();
    let server = tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let auth = McpAuthClient::builder(ClientCredentials::new(ClientAuth::client_secret_basic(
        "agent",
        "agent-secret",
    )))
    .build()
    .unwrap();
    // What a 401 without `resource_metadata` triggers: well-known RFC 9728 metadata, RFC 8414
    // discovery, one client-credentials request.
    auth.authorize(&url, Some("Bearer"), None).await.unwrap();
    assert_eq!(sim.request_count(TOKEN_PATH), 1);
    assert!(auth.authorization(&url).is_some(), "the token is cached");

    server.abort();
    sim.shutdown().await;
    (auth, url)
}

fn benches(c: &mut Criterion) {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let (auth, url) = runtime.block_on(primed());
    drop(runtime);
    let http = reqwest::Client::new();
    let build = |url: &str| {
        http.post(url)
            .header(CONTENT_TYPE, "application/json")
            .body(BODY)
            .build()
            .unwrap()
    };

    let mut group = c.benchmark_group("mcp_client_cached");
    group.bench_function("request_undecorated", |b| {
        b.iter(|| build(black_box(&url)));
    });
    group.bench_function("request_decorated_authorization", |b| {
        b.iter(|| {
            let url = black_box(url.as_str());
            let mut request = build(url);
            let header = auth.authorization(url).expect("a cached token");
            request.headers_mut().insert(AUTHORIZATION, header);
            request
        });
    });
    group.bench_function("request_decorated_token_for", |b| {
        b.iter(|| {
            let url = black_box(url.as_str());
            let mut request = build(url);
            let token = block_on(auth.token_for(url))
                .unwrap()
                .expect("a cached token");
            request
                .headers_mut()
                .insert(AUTHORIZATION, token.authorization_header().unwrap());
            request
        });
    });
    group.finish();
}

criterion_group!(mcp_client, benches);
criterion_main!(mcp_client);
