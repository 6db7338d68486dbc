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
