//! Outgoing credentials towards HTTP backends: the caller's token is never
//! passed through; `header` and `okta_client_credentials` send the gateway's own.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::sync::{Arc, Mutex};

use mcp_proxy::dev;
use rmcp::model::CallToolRequestParams;
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::{StreamableHttpServerConfig, StreamableHttpService};
use support::{EXE, Running, args};

type Seen = Arc<Mutex<Vec<(Option<String>, Option<String>)>>>;

/// A real streamable-HTTP MCP server (the jira demo) that records the
/// `Authorization` and `X-Api-Key` headers of every request.
async fn recording_backend() -> (String, Seen) {
    let seen: Seen = Arc::default();
    let record = Arc::clone(&seen);
    let service = StreamableHttpService::new(
        || Ok(mcp_proxy::demo::server("jira").unwrap()),
        Arc::new(LocalSessionManager::default()),
        StreamableHttpServerConfig::default(),
    );
    let app = axum::Router::new()
        .route_service("/mcp", service)
        .layer(axum::middleware::from_fn(
            move |request: axum::extract::Request, next: axum::middleware::Next| {
                let header = |name: &str| {
                    request
                        .headers()
                        .get(name)
                        .map(|v| v.to_str().unwrap().to_owned())
                };
                record
                    .lock()
                    .unwrap()
                    .push((header("authorization"), header("x-api-key")));
                next.run(request)
            },
        ));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}/mcp"), seen)
}

async fn call_through(sim: &okta_sim::OktaSim, credentials: &str, url: &str) -> String {
    let yaml = format!(
        "policy:\n  default: allow\nbackends:\n  - name: jira\n    http:\n      url: {url}\n{credentials}"
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let config = mcp_proxy::config::GatewayConfig::from_yaml_str(&yaml, "c.yaml").unwrap();
    let config = dev::gateway_config(sim, addr, EXE.as_ref(), Some(config)).unwrap();
    let gw = Running::start_on(listener, config).await;
    let caller_token = dev::fetch_token(sim.base_url(), "alice", "mcp:read")
        .await
        .unwrap();
    let client = gw.client_with_token(&caller_token).await;
    let result = client
        .call_tool(
            CallToolRequestParams::new("jira_get_issue")
                .with_arguments(args(serde_json::json!({"key": "OPS-1"}))),
        )
        .await
        .unwrap();
    assert_eq!(result.structured_content.unwrap()["key"], "OPS-1");
    client.cancel().await.unwrap();
    gw.stop().await;
    caller_token
}

#[tokio::test]
async fn caller_token_is_never_passed_through_by_default() {
    let sim = dev::start_idp("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let (url, seen) = recording_backend().await;
    let caller = call_through(&sim, "", &url).await;
    let seen = seen.lock().unwrap().clone();
    assert!(!seen.is_empty());
    for (authorization, _) in &seen {
        assert!(authorization.is_none(), "backend got {authorization:?}");
        assert!(!format!("{authorization:?}").contains(&caller));
    }
    sim.shutdown().await;
}

#[tokio::test]
async fn static_header_credentials_reach_the_backend() {
    let sim = dev::start_idp("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let (url, seen) = recording_backend().await;
    let creds = "    credentials:\n      type: header\n      name: X-Api-Key\n      value: k-123\n";
    call_through(&sim, creds, &url).await;
    let seen = seen.lock().unwrap().clone();
    assert!(
        seen.iter()
            .all(|(auth, key)| auth.is_none() && key.as_deref() == Some("k-123")),
        "{seen:?}"
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn okta_client_credentials_send_the_gateways_own_token() {
    let sim = dev::start_idp("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let (url, seen) = recording_backend().await;
    let creds = format!(
        "    credentials:\n      type: okta_client_credentials\n      token_endpoint: {}\n      client_id: dev-agent\n      client_secret: dev-secret\n      scopes: [mcp:read]\n",
        sim.token_endpoint("default")
    );
    let caller = call_through(&sim, &creds, &url).await;
    let seen = seen.lock().unwrap().clone();
    assert!(!seen.is_empty());
    let first = seen[0].0.clone().unwrap();
    assert!(first.starts_with("Bearer eyJ"), "{first}");
    assert!(!first.contains(&caller), "not the caller's token");
    assert!(
        seen.iter()
            .all(|(auth, _)| auth.as_deref() == Some(first.as_str())),
        "one cached token"
    );
    assert_eq!(
        sim.request_count("/oauth2/default/v1/token"),
        2,
        "caller's token + one gateway token"
    );
    sim.shutdown().await;
}

#[test]
fn credentials_on_a_stdio_backend_are_a_config_error() {
    let yaml =
        "backends:\n  - name: a\n    demo: github\n    credentials: {type: header, value: x}\n";
    let err = mcp_proxy::config::GatewayConfig::from_yaml_str(yaml, "c.yaml").unwrap_err();
    assert!(err.to_string().contains("backends[0].credentials"), "{err}");
    let yaml = "backends:\n  - name: a\n    http: {url: 'http://127.0.0.1:1/mcp'}\n    credentials: {type: header, value: x, extra: 1}\n";
    let err = mcp_proxy::config::GatewayConfig::from_yaml_str(yaml, "c.yaml").unwrap_err();
    assert!(err.to_string().contains("unknown field `extra`"), "{err}");
    let yaml = "backends:\n  - name: a\n    http: {url: 'http://127.0.0.1:1/mcp'}\n    credentials: {type: passthrough}\n";
    let err = mcp_proxy::config::GatewayConfig::from_yaml_str(yaml, "c.yaml").unwrap_err();
    assert!(
        err.to_string().contains("unknown variant `passthrough`"),
        "{err}"
    );
}

/// A real streamable-HTTP MCP server (the jira demo) protected as the MCP
/// authorization spec wants: okta-auth's `AuthLayer` (tokens of the sim's
/// `default` server, whose audience is `api://default` as on Okta, scope
/// `mcp:read` required) and
/// RFC 9728 metadata naming the sim. Records the `Authorization` headers.
async fn protected_backend(sim: &okta_sim::OktaSim) -> (String, Seen) {
    use okta_auth::{AuthLayer, JwksCache, ProtectedResourceMetadata, Verifier, require_scopes};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/mcp", listener.local_addr().unwrap());
    let jwks = JwksCache::builder()
        .jwks_uri(sim.jwks_uri("default"))
        .issuer(sim.issuer("default"))
        .build()
        .await
        .unwrap();
    let verifier = Verifier::builder(jwks)
        .issuer(sim.issuer("default"))
        .audience(dev::AUDIENCE)
        .build()
        .unwrap();
    let metadata = ProtectedResourceMetadata::new(&url)
        .authorization_server(sim.issuer("default"))
        .scopes(["mcp:read"]);
    let auth = AuthLayer::new(verifier)
        .resource_metadata_from(&metadata)
        .unwrap();
    let service = StreamableHttpService::new(
        || Ok(mcp_proxy::demo::server("jira").unwrap()),
        Arc::new(LocalSessionManager::default()),
        StreamableHttpServerConfig::default(),
    );
    let seen: Seen = Arc::default();
    let record = Arc::clone(&seen);
    let app = axum::Router::new()
        .route_service("/mcp", service)
        .layer(require_scopes(["mcp:read"]))
        .layer(auth)
        .layer(axum::middleware::from_fn(
            move |request: axum::extract::Request, next: axum::middleware::Next| {
                let authorization = request
                    .headers()
                    .get("authorization")
                    .map(|v| v.to_str().unwrap().to_owned());
                record.lock().unwrap().push((authorization, None));
                next.run(request)
            },
        ))
        .merge(metadata.router().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, seen)
}

/// `oauth_client_credentials`: the gateway is an MCP client that authorizes
/// itself (okta-auth `McpAuthClient` under rmcp): the backend's 401 leads it
/// to the RFC 9728 metadata, the sim's discovery and a client-credentials
/// token for the backend URL; every later request carries that one token.
#[tokio::test]
async fn oauth_client_credentials_discover_the_backends_authorization_server() {
    let sim = dev::start_idp("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let (url, seen) = protected_backend(&sim).await;
    let creds = format!(
        "    credentials:\n      type: oauth_client_credentials\n      client_id: dev-agent\n      client_secret: dev-secret\n      authorization_server: {}\n",
        sim.issuer("default")
    );
    let caller = call_through(&sim, &creds, &url).await;
    let seen = seen.lock().unwrap().clone();
    assert!(
        seen[0].0.is_none(),
        "first contact is unauthorized: {seen:?}"
    );
    let tokens: Vec<&String> = seen.iter().filter_map(|(a, _)| a.as_ref()).collect();
    assert!(tokens.len() >= 2, "{seen:?}");
    assert!(tokens.iter().all(|t| *t == tokens[0]), "one cached token");
    assert!(tokens[0].starts_with("Bearer eyJ") && !tokens[0].contains(&caller));
    // The backend verified issuer, audience and scope before answering.
    assert_eq!(
        sim.request_count("/oauth2/default/v1/token"),
        2,
        "caller's token + one gateway token"
    );
    assert_eq!(
        sim.request_count("/.well-known/oauth-protected-resource/mcp"),
        0,
        "the metadata is the backend's, not the sim's"
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn oauth_client_credentials_pinned_to_another_server_fail_clearly() {
    let sim = dev::start_idp("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let (url, _) = protected_backend(&sim).await;
    let yaml = format!(
        "policy:\n  default: allow\nbackends:\n  - name: jira\n    backoff_initial: 50ms\n    http:\n      url: {url}\n    credentials:\n      type: oauth_client_credentials\n      client_id: dev-agent\n      client_secret: dev-secret\n      authorization_server: https://elsewhere.example.com\n"
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let config = mcp_proxy::config::GatewayConfig::from_yaml_str(&yaml, "c.yaml").unwrap();
    let config = dev::gateway_config(&sim, addr, EXE.as_ref(), Some(config)).unwrap();
    let gw = Running::start_on(listener, config).await;
    gw.wait_for("a failed attempt", |s| {
        s.iter().any(|b| {
            b.reason
                .as_deref()
                .is_some_and(|e| e.contains("elsewhere.example.com"))
        })
    })
    .await;
    assert_eq!(sim.request_count("/oauth2/default/v1/token"), 0);
    gw.stop().await;
    sim.shutdown().await;
}
