//! `/metrics`: real calls through a `--dev`-like gateway (okta-sim tokens,
//! okta-auth, a policy, the jira demo server as a child process, a backend
//! over HTTP that fails its tool), and the exact change each one makes to
//! the exposition; the route's switches.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use mcp_proxy::config::GatewayConfig;
use mcp_proxy::dev;
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, ListToolsResult, PaginatedRequestParams,
    ServerCapabilities, ServerConfig, Tool,
};
use rmcp::service::{RequestContext, RoleServer};
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::{StreamableHttpServerConfig, StreamableHttpService};
use rmcp::{ErrorData as McpError, ServerHandler};
use serde_json::json;
use support::{Running, args, raw_call};

/// An MCP server over HTTP whose only tool, `explode`, answers a JSON-RPC error.
#[derive(Clone)]
struct Failing;

impl ServerHandler for Failing {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, McpError> {
        let schema = json!({"type": "object", "properties": {}});
        let tool = Tool::new(
            "explode",
            "Always fails",
            Arc::new(schema.as_object().cloned().unwrap()),
        );
        Ok(ListToolsResult::with_all_items(vec![tool]))
    }

    async fn call_tool(
        &self,
        _request: CallToolRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, McpError> {
        Err(McpError::internal_error("exploded on purpose", None))
    }
}

/// Serves [`Failing`] on a random loopback port; returns its MCP URL.
async fn failing_backend() -> String {
    let service = StreamableHttpService::new(
        || Ok(Failing),
        Arc::new(LocalSessionManager::default()),
        StreamableHttpServerConfig::default(),
    );
    let router = axum::Router::new().route_service("/mcp", service);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/mcp", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await });
    url
}

/// One scrape: the content type and every sample, `series → value`.
async fn scrape(url: &str) -> (String, BTreeMap<String, f64>) {
    let response = reqwest::get(url).await.unwrap();
    assert_eq!(response.status(), 200);
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    let text = response.text().await.unwrap();
    assert!(text.ends_with("# EOF\n"), "{text}");
    let samples = text
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| {
            let (series, value) = l.rsplit_once(' ').unwrap();
            (series.to_owned(), value.parse::<f64>().unwrap())
        })
        .collect();
    (content_type, samples)
}

/// What changed between two scrapes, leaving out sums and buckets of the
/// histogram (their values depend on timing; counts do not) and the sessions
/// gauge.
fn changes(before: &BTreeMap<String, f64>, after: &BTreeMap<String, f64>) -> BTreeMap<String, f64> {
    after
        .iter()
        .filter(|(series, _)| {
            !series.contains("_sum{")
                && !series.contains("_bucket{")
                && !series.starts_with("mcp_proxy_sessions")
        })
        .filter_map(|(series, value)| {
            let delta = value - before.get(series).copied().unwrap_or(0.0);
            (delta != 0.0).then(|| (series.clone(), delta))
        })
        .collect()
}

fn expected(entries: &[(&str, f64)]) -> BTreeMap<String, f64> {
    entries
        .iter()
        .map(|(series, value)| ((*series).to_owned(), *value))
        .collect()
}

/// Waits (bounded) until `mcp_proxy_sessions` is `value`.
async fn sessions_reach(url: &str, value: f64) {
    for _ in 0..100 {
        if scrape(url).await.1.get("mcp_proxy_sessions") == Some(&value) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!(
        "mcp_proxy_sessions never became {value}: {:?}",
        scrape(url).await.1.get("mcp_proxy_sessions")
    );
}

async fn call(
    client: &rmcp::service::RunningService<rmcp::service::RoleClient, ()>,
    tool: &str,
    arguments: serde_json::Value,
) -> Result<rmcp::model::CallToolResult, rmcp::ErrorData> {
    match client
        .call_tool(CallToolRequestParams::new(tool.to_owned()).with_arguments(args(arguments)))
        .await
    {
        Ok(result) => Ok(result),
        Err(rmcp::ServiceError::McpError(e)) => Err(e),
        Err(other) => panic!("{tool}: {other}"),
    }
}

#[tokio::test]
async fn each_call_changes_the_counters_by_exactly_what_it_did() {
    let failing = failing_backend().await;
    let yaml = format!(
        r#"policy:
  default: deny
  scope_mode: require
  scopes:
    mcp:read: ["get_*", "failing:*"]
    mcp:write: ["create_*", "delete_*"]
  groups:
    Junior Engineers:
      allow: ["jira:*", "failing:*"]
      deny: ["jira:delete_issue"]
backends:
{}  - name: failing
    http:
      url: {failing}
  - name: ghost
    backoff_initial: 30s
    stdio:
      command: /nonexistent/mcp-server
"#,
        support::demo_stdio("jira", "jira")
    );
    let file = GatewayConfig::from_yaml_str(&yaml, "metrics.yaml").unwrap();
    let (sim, gw) = support::dev_world(Some(file)).await;
    let url = format!("{}/metrics", gw.base);

    let (content_type, start) = scrape(&url).await;
    assert_eq!(
        content_type,
        "application/openmetrics-text; version=1.0.0; charset=utf-8"
    );
    assert_eq!(start["mcp_proxy_backend_up{backend=\"jira\"}"], 1.0);
    assert_eq!(start["mcp_proxy_backend_up{backend=\"failing\"}"], 1.0);
    assert_eq!(start["mcp_proxy_backend_up{backend=\"ghost\"}"], 0.0);
    assert_eq!(start["mcp_proxy_sessions"], 0.0);

    let token = dev::fetch_token(sim.base_url(), "bob", "mcp:read mcp:write")
        .await
        .unwrap();
    let bob = gw.client_with_token(&token).await;
    sessions_reach(&url, 1.0).await;

    // An allowed call that works.
    let before = scrape(&url).await.1;
    let result = call(&bob, "jira_get_issue", json!({"key": "OPS-1"}))
        .await
        .unwrap();
    assert_eq!(result.is_error, Some(false));
    let after = scrape(&url).await.1;
    assert_eq!(
        changes(&before, &after),
        expected(&[
            (
                "mcp_proxy_requests_total{method=\"tools/call\",backend=\"jira\",outcome=\"ok\"}",
                1.0
            ),
            ("mcp_proxy_decisions_total{decision=\"allow\"}", 1.0),
            (
                "mcp_proxy_backend_call_duration_seconds_count{backend=\"jira\"}",
                1.0
            ),
        ])
    );

    // A call the policy denies: counted, not timed.
    let before = after;
    let denied = call(&bob, "jira_delete_issue", json!({"key": "OPS-1"}))
        .await
        .unwrap_err();
    assert_eq!(denied.code.0, mcp_proxy::FORBIDDEN);
    let after = scrape(&url).await.1;
    assert_eq!(
        changes(&before, &after),
        expected(&[
            (
                "mcp_proxy_requests_total{method=\"tools/call\",backend=\"jira\",outcome=\"denied\"}",
                1.0
            ),
            ("mcp_proxy_decisions_total{decision=\"deny\"}", 1.0),
        ])
    );

    // The backend answers a JSON-RPC error.
    let before = after;
    let failed = call(&bob, "failing_explode", json!({})).await.unwrap_err();
    assert!(failed.message.contains("exploded on purpose"), "{failed:?}");
    let after = scrape(&url).await.1;
    assert_eq!(
        changes(&before, &after),
        expected(&[
            (
                "mcp_proxy_requests_total{method=\"tools/call\",backend=\"failing\",outcome=\"backend_error\"}",
                1.0
            ),
            ("mcp_proxy_decisions_total{decision=\"allow\"}", 1.0),
            (
                "mcp_proxy_backend_call_duration_seconds_count{backend=\"failing\"}",
                1.0
            ),
        ])
    );

    // A tool result with isError.
    let before = after;
    let result = call(&bob, "jira_get_issue", json!({})).await.unwrap();
    assert_eq!(result.is_error, Some(true));
    let after = scrape(&url).await.1;
    assert_eq!(
        changes(&before, &after),
        expected(&[
            (
                "mcp_proxy_requests_total{method=\"tools/call\",backend=\"jira\",outcome=\"tool_error\"}",
                1.0
            ),
            ("mcp_proxy_decisions_total{decision=\"allow\"}", 1.0),
            (
                "mcp_proxy_backend_call_duration_seconds_count{backend=\"jira\"}",
                1.0
            ),
        ])
    );

    // A step-up 403 (read-only token, a write the group allows): answered
    // before the MCP session, counted like a denial inside it.
    let before = after;
    let read_only = dev::fetch_token(sim.base_url(), "bob", "mcp:read")
        .await
        .unwrap();
    let status = raw_call(
        &gw,
        &read_only,
        r#"{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"jira_create_issue","arguments":{"project":"OPS","summary":"s"}}}"#,
    )
    .await
    .status()
    .as_u16();
    assert_eq!(status, 403);
    let after = scrape(&url).await.1;
    assert_eq!(
        changes(&before, &after),
        expected(&[
            (
                "mcp_proxy_requests_total{method=\"tools/call\",backend=\"jira\",outcome=\"denied\"}",
                1.0
            ),
            ("mcp_proxy_decisions_total{decision=\"deny\"}", 1.0),
        ])
    );

    // The histogram's count is its +Inf bucket, per backend.
    for backend in ["jira", "failing"] {
        assert_eq!(
            after[&format!(
                "mcp_proxy_backend_call_duration_seconds_count{{backend=\"{backend}\"}}"
            )],
            after[&format!(
                "mcp_proxy_backend_call_duration_seconds_bucket{{le=\"+Inf\",backend=\"{backend}\"}}"
            )],
        );
    }
    assert_eq!(
        after["mcp_proxy_backend_call_duration_seconds_count{backend=\"jira\"}"],
        2.0
    );

    // No user data in the exposition.
    let text = reqwest::get(&url).await.unwrap().text().await.unwrap();
    for private in ["bob", "Junior", "OPS-1", token.as_str()] {
        assert!(!text.contains(private), "`{private}` in the metrics");
    }

    bob.cancel().await.unwrap();
    sessions_reach(&url, 0.0).await;
    gw.stop().await;
    sim.shutdown().await;
}

#[tokio::test]
async fn the_route_follows_its_config_and_records_without_audit() {
    let backend = support::demo_stdio("jira", "jira");

    let off = Running::start(&format!("metrics:\n  enabled: false\nbackends:\n{backend}")).await;
    let response = reqwest::get(format!("{}/metrics", off.base)).await.unwrap();
    assert_eq!(response.status(), 404);
    off.stop().await;

    // Elsewhere, no audit configured, no policy: calls are still counted.
    let moved = Running::start(&format!(
        "metrics:\n  path: /internal/metrics\nbackends:\n{backend}"
    ))
    .await;
    let response = reqwest::get(format!("{}/metrics", moved.base))
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    let url = format!("{}/internal/metrics", moved.base);
    let before = scrape(&url).await.1;
    let client = moved.client().await;
    call(&client, "jira_get_issue", json!({"key": "OPS-1"}))
        .await
        .unwrap();
    let after = scrape(&url).await.1;
    assert_eq!(
        changes(&before, &after),
        expected(&[
            (
                "mcp_proxy_requests_total{method=\"tools/call\",backend=\"jira\",outcome=\"ok\"}",
                1.0
            ),
            (
                "mcp_proxy_backend_call_duration_seconds_count{backend=\"jira\"}",
                1.0
            ),
        ]),
        "no policy: no decision"
    );
    client.cancel().await.unwrap();
    moved.stop().await;
}
