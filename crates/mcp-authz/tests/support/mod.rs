//! Shared test harness: an rmcp streamable-HTTP server behind the layer, on 127.0.0.1.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used, clippy::expect_used)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use mcp_authz::{Authorizer, AuthzLayer, DecisionEvent, Identity, Policy};
use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::model::{ServerCapabilities, ServerConfig};
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use rmcp::{ServerHandler, tool, tool_handler, tool_router};
use serde_json::Value;

/// An MCP server with four tools; every call is counted.
#[derive(Clone)]
pub struct Counted {
    calls: Arc<AtomicUsize>,
    tool_router: ToolRouter<Self>,
}

#[tool_router]
impl Counted {
    #[tool(description = "List channels")]
    fn list_channels(&self) -> String {
        self.calls.fetch_add(1, Ordering::SeqCst);
        "general, random".into()
    }

    #[tool(description = "Get an issue")]
    fn get_issue(&self) -> String {
        self.calls.fetch_add(1, Ordering::SeqCst);
        "issue 1".into()
    }

    #[tool(description = "Post a message")]
    fn post_message(&self) -> String {
        self.calls.fetch_add(1, Ordering::SeqCst);
        "posted".into()
    }

    #[tool(description = "Delete a channel")]
    fn delete_channel(&self) -> String {
        self.calls.fetch_add(1, Ordering::SeqCst);
        "deleted".into()
    }
}

#[tool_handler(router = self.tool_router)]
impl ServerHandler for Counted {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
    }
}

pub const SEED004_SCOPES: &str = r#"
default: deny
scopes:
  mcp:read: ["list_*", "get_*"]
  mcp:write: ["post_*", "create_*"]
rules:
  - name: no-destructive
    description: Destructive operations are always blocked
    deny: "tool.name.contains('delete') || tool.name.contains('merge_pull_request')"
"#;

pub const RESOURCE_METADATA: &str = "http://127.0.0.1/.well-known/oauth-protected-resource/mcp";

/// (name, allowed, rule) of each reported decision.
pub type Events = Arc<Mutex<Vec<(String, bool, Option<String>)>>>;

pub struct Harness {
    pub url: String,
    pub client: reqwest::Client,
    pub calls: Arc<AtomicUsize>,
    /// HTTP requests that got past the layer to rmcp (see [`CountRequests`]).
    pub upstream: Arc<AtomicUsize>,
    pub events: Events,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Harness {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A tower service between `AuthzLayer` and rmcp counting the HTTP requests
/// that reach rmcp, whatever they are (tool calls, lists, malformed bodies).
#[derive(Clone)]
pub struct CountRequests<S> {
    inner: S,
    count: Arc<AtomicUsize>,
}

impl<S, B> tower::Service<http::Request<B>> for CountRequests<S>
where
    S: tower::Service<http::Request<B>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(
        &mut self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: http::Request<B>) -> Self::Future {
        self.count.fetch_add(1, Ordering::SeqCst);
        self.inner.call(req)
    }
}

/// The layer of [`CountRequests`].
pub struct CountLayer(pub Arc<AtomicUsize>);

impl<S> tower::Layer<S> for CountLayer {
    type Service = CountRequests<S>;

    fn layer(&self, inner: S) -> CountRequests<S> {
        CountRequests {
            inner,
            count: Arc::clone(&self.0),
        }
    }
}

/// Reads the identity from a test header carrying the claims as JSON.
pub fn header_identity(parts: &http::request::Parts) -> Option<Identity> {
    let raw = parts.headers.get("x-test-claims")?.to_str().ok()?;
    let v: Value = serde_json::from_str(raw).ok()?;
    Some(Identity::from_claims(v.as_object()?.clone()))
}

pub async fn start(
    json_response: bool,
    policy: &str,
    tweak: impl FnOnce(AuthzLayer) -> AuthzLayer,
) -> Harness {
    let calls = Arc::new(AtomicUsize::new(0));
    let events = Arc::new(Mutex::new(Vec::new()));
    let authz = Authorizer::new(Policy::from_yaml(policy).unwrap()).unwrap();
    let log = Arc::clone(&events);
    let layer = AuthzLayer::new(authz)
        .identity(header_identity)
        .resource_metadata(RESOURCE_METADATA)
        .sink(move |e: &DecisionEvent<'_>| {
            log.lock().unwrap().push((
                e.name.to_owned(),
                e.decision.allowed,
                e.decision.rule.clone(),
            ));
        });
    let layer = tweak(layer);
    let config = StreamableHttpServerConfig::default()
        .with_legacy_session_mode(false)
        .with_json_response(json_response)
        .with_sse_keep_alive(None);
    let counter = Arc::clone(&calls);
    let mcp: StreamableHttpService<Counted, LocalSessionManager> = StreamableHttpService::new(
        move || {
            Ok(Counted {
                calls: Arc::clone(&counter),
                tool_router: Counted::tool_router(),
            })
        },
        Default::default(),
        config,
    );
    let upstream = Arc::new(AtomicUsize::new(0));
    let counted = tower::Layer::layer(&CountLayer(Arc::clone(&upstream)), mcp);
    let service = tower::Layer::layer(&layer, counted);
    let router = axum::Router::new().route_service("/mcp", service);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    Harness {
        url: format!("http://{addr}/mcp"),
        client: reqwest::Client::new(),
        calls,
        upstream,
        events,
        task,
    }
}

pub fn claims(scopes: &[&str]) -> String {
    serde_json::json!({"sub": "agent", "cid": "0oa-agent", "scp": scopes}).to_string()
}

impl Harness {
    pub async fn post(&self, claims: Option<&str>, body: &str) -> reqwest::Response {
        let mut req = self
            .client
            .post(&self.url)
            .header("content-type", "application/json")
            .header("accept", "application/json, text/event-stream")
            .body(body.to_owned());
        if let Some(c) = claims {
            req = req.header("x-test-claims", c);
        }
        req.send().await.unwrap()
    }

    pub fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }

    /// How many HTTP requests reached rmcp so far.
    pub fn upstream(&self) -> usize {
        self.upstream.load(Ordering::SeqCst)
    }
}

/// The JSON-RPC messages of a response, whether JSON or SSE.
pub async fn messages(resp: reqwest::Response) -> (String, Vec<Value>) {
    let ct = resp
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let text = resp.text().await.unwrap();
    let mut out = Vec::new();
    if ct.starts_with("text/event-stream") {
        for event in text.split("\n\n") {
            let data: Vec<&str> = event
                .lines()
                .filter_map(|l| l.strip_prefix("data:"))
                .map(|d| d.strip_prefix(' ').unwrap_or(d))
                .collect();
            if let Ok(v) = serde_json::from_str::<Value>(&data.join("\n")) {
                out.push(v);
            }
        }
    } else if !text.is_empty() {
        match serde_json::from_str::<Value>(&text).unwrap() {
            Value::Array(vs) => out.extend(vs),
            v => out.push(v),
        }
    }
    (ct, out)
}

pub fn tool_names(msg: &Value) -> Vec<String> {
    let mut names: Vec<String> = msg["result"]["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap().to_owned())
        .collect();
    names.sort();
    names
}

pub fn call(id: u64, tool: &str) -> String {
    serde_json::json!({"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": {"name": tool, "arguments": {}}}).to_string()
}

pub fn list(id: u64) -> String {
    serde_json::json!({"jsonrpc": "2.0", "id": id, "method": "tools/list", "params": {}})
        .to_string()
}
