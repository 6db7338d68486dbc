//! The gateway's per-request work, in process: one MCP `tools/call` sent with
//! tower's `oneshot` through [`mcp_proxy::Gateway::router`] (okta-auth token
//! check, seed 001's dev policy, routing, the rmcp session at the front, the
//! streamable-HTTP client to the backend) against the same call sent to the
//! backend's own rmcp router.
//!
//! - `direct_tools_call`: `get_issue` into the `jira` demo server's
//!   `StreamableHttpService` router (rmcp defaults: stateful session, SSE
//!   response), no socket at all.
//! - `gateway_tools_call`: `jira_get_issue` into the gateway's router, no
//!   socket at the front. The gateway reaches its backend (the same jira demo
//!   router, served in this process) over loopback TCP: the public API only
//!   knows HTTP backends by URL (and stdio ones as child processes), so the
//!   difference between the two is the gateway's own work plus one HTTP hop
//!   on loopback, the hop any HTTP backend costs.
//! - `rmcp_client_over_loopback`: the hop alone, rmcp's streamable-HTTP client
//!   calling the jira backend over loopback (no gateway, no connection reuse fix).
//! - `raw_post_over_loopback`: the same call as one plain reqwest POST on an
//!   MCP session with the backend, the answer read to the end: the floor of
//!   any HTTP hop. Token verification uses an
//!   okta-sim started in this process (JWKS fetched once at start).
//! - `gateway_tools_call_no_auth_no_policy`: the same gateway without `auth:`
//!   and without a policy, so the difference to `gateway_tools_call` is the
//!   token check plus the authorization decisions.
//!
//! Everything runs on one current-thread tokio runtime, so a time is the CPU
//! work of one call (both sides' rmcp sessions, the backend, the kernel's
//! loopback TCP), without cross-thread wake-ups.
//!
//! None includes a client TCP connection to the front; `scripts/bench`
//! measures that end to end with a load generator (docs/benchmarks.md).
//!
//! `cargo bench -p mcp-proxy --bench front`; `cargo test -p mcp-proxy --benches`
//! runs each once.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::hint::black_box;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::Router;
use axum::body::Body;
use axum::serve::ListenerExt;
use criterion::{Criterion, criterion_group, criterion_main};
use http::{Request, header};
use mcp_proxy::Gateway;
use mcp_proxy::config::GatewayConfig;
use mcp_proxy::dev;
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::{StreamableHttpServerConfig, StreamableHttpService};
use tower::ServiceExt;

const PROTOCOL: &str = "2025-11-25";

/// The jira demo server as an rmcp streamable-HTTP router at `/mcp`.
fn jira_router() -> Router {
    let service = StreamableHttpService::new(
        || Ok(mcp_proxy::demo::server("jira").expect("jira demo")),
        Arc::new(LocalSessionManager::default()),
        StreamableHttpServerConfig::default(),
    );
    Router::new().route_service("/mcp", service)
}

/// An MCP session on `router` (initialize + notifications/initialized).
struct Session {
    router: Router,
    token: Option<String>,
    id: String,
    next: AtomicU64,
}

impl Session {
    fn post(&self, session: Option<&str>, body: String) -> Request<Body> {
        let mut request = Request::post("/mcp")
            .header(header::HOST, "127.0.0.1")
            .header(header::CONTENT_TYPE, "application/json")
            .header(header::ACCEPT, "application/json, text/event-stream")
            .header("mcp-protocol-version", PROTOCOL);
        if let Some(token) = &self.token {
            request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
        }
        if let Some(session) = session {
            request = request.header("mcp-session-id", session);
        }
        request.body(Body::from(body)).unwrap()
    }

    async fn open(router: Router, token: Option<String>) -> Session {
        let mut session = Session {
            router,
            token,
            id: String::new(),
            next: AtomicU64::new(1),
        };
        let init = format!(
            r#"{{"jsonrpc":"2.0","id":0,"method":"initialize","params":{{"protocolVersion":"{PROTOCOL}","capabilities":{{}},"clientInfo":{{"name":"bench","version":"1"}}}}}}"#
        );
        let response = session
            .router
            .clone()
            .oneshot(session.post(None, init))
            .await
            .unwrap();
        assert!(response.status().is_success(), "{:?}", response.status());
        session.id = response.headers()["mcp-session-id"]
            .to_str()
            .unwrap()
            .to_owned();
        axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        let initialized = r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#;
        let response = session
            .router
            .clone()
            .oneshot(session.post(Some(&session.id), initialized.to_owned()))
            .await
            .unwrap();
        assert_eq!(response.status(), http::StatusCode::ACCEPTED);
        session
    }

    /// One `tools/call` with a fresh JSON-RPC id, its SSE body read to the end.
    async fn call(&self, tool: &str) -> bool {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let body = format!(
            r#"{{"jsonrpc":"2.0","id":{id},"method":"tools/call","params":{{"name":"{tool}","arguments":{{"key":"OPS-1"}}}}}}"#
        );
        let response = self
            .router
            .clone()
            .oneshot(self.post(Some(&self.id), body))
            .await
            .unwrap();
        let ok = response.status().is_success();
        let body = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        ok && body
            .windows(b"\"isError\":false".len())
            .any(|w| w == b"\"isError\":false")
    }
}

fn front(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (sim, gateways, direct, through, open, hop, hop_url) = rt.block_on(async {
        // The backend the gateway calls: the jira demo on loopback, TCP_NODELAY
        // (SSE answers are written in pieces; Nagle would add a delayed ACK).
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let backend = format!("http://{}/mcp", listener.local_addr().unwrap());
        let listener = listener.tap_io(|tcp| {
            let _ = tcp.set_nodelay(true);
        });
        tokio::spawn(async move { axum::serve(listener, jira_router()).await });

        let sim = dev::start_idp("127.0.0.1:0".parse().unwrap())
            .await
            .unwrap();
        let yaml = format!("backends:\n  - name: jira\n    http:\n      url: {backend}\n");
        let plain = GatewayConfig::from_yaml_str(&yaml, "bench.yaml").unwrap();
        let mut config = plain.clone();
        config.policy = Some(mcp_authz::Policy::from_yaml(dev::POLICY_YAML).unwrap());
        // The front is never bound: the address only names the resource.
        let listen = "127.0.0.1:8080".parse().unwrap();
        let config =
            dev::gateway_config(&sim, listen, std::path::Path::new("unused"), Some(config))
                .unwrap();
        let gateway = Gateway::start(config).await.unwrap();
        let token = dev::fetch_token(sim.base_url(), "alice", "mcp:read")
            .await
            .unwrap();
        let unprotected = Gateway::start(plain).await.unwrap();
        // The hop alone: rmcp's streamable-HTTP client (as the gateway uses it)
        // calling the backend over loopback.
        let transport = rmcp::transport::StreamableHttpClientTransport::from_uri(backend.as_str());
        let hop = rmcp::ServiceExt::serve((), transport).await.unwrap();
        let hop_url = backend.clone();
        let direct = Session::open(jira_router(), None).await;
        let through = Session::open(gateway.router().unwrap(), Some(token)).await;
        let open = Session::open(unprotected.router().unwrap(), None).await;
        assert!(direct.call("get_issue").await, "direct call failed");
        assert!(through.call("jira_get_issue").await, "gateway call failed");
        assert!(
            open.call("jira_get_issue").await,
            "open gateway call failed"
        );
        (
            sim,
            [gateway, unprotected],
            direct,
            through,
            open,
            hop,
            hop_url,
        )
    });
    let hop_call = || async {
        let mut params = rmcp::model::CallToolRequestParams::new("get_issue");
        params.arguments = serde_json::json!({"key": "OPS-1"}).as_object().cloned();
        hop.call_tool(params).await.unwrap().is_error == Some(false)
    };

    let mut group = c.benchmark_group("front");
    group.bench_function("direct_tools_call", |b| {
        b.iter(|| assert!(rt.block_on(direct.call(black_box("get_issue")))))
    });
    group.bench_function("rmcp_client_over_loopback", |b| {
        b.iter(|| assert!(rt.block_on(hop_call())))
    });
    // The hop's floor: one plain reqwest POST of the same tools/call on an MCP
    // session with the backend, its SSE answer read to the end (what a leaner
    // hop than rmcp's client would cost; docs/benchmarks.md).
    let raw = reqwest::Client::new();
    let (raw_session, raw_url) = rt.block_on(async {
        let url = hop_url.clone();
        let init = serde_json::json!({"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":PROTOCOL,"capabilities":{},"clientInfo":{"name":"raw","version":"1"}}});
        let r = raw.post(&url).header("accept","application/json, text/event-stream").json(&init).send().await.unwrap();
        let sid = r.headers()["mcp-session-id"].to_str().unwrap().to_owned();
        r.bytes().await.unwrap();
        raw.post(&url).header("accept","application/json, text/event-stream").header("mcp-session-id",&sid).header("mcp-protocol-version",PROTOCOL).json(&serde_json::json!({"jsonrpc":"2.0","method":"notifications/initialized"})).send().await.unwrap().bytes().await.unwrap();
        (sid, url)
    });
    let next = AtomicU64::new(1);
    group.bench_function("raw_post_over_loopback", |b| {
        b.iter(|| rt.block_on(async {
            let id = next.fetch_add(1, Ordering::Relaxed);
            let body = format!(r#"{{"jsonrpc":"2.0","id":{id},"method":"tools/call","params":{{"name":"get_issue","arguments":{{"key":"OPS-1"}}}}}}"#);
            let r = raw.post(&raw_url).header("accept","application/json, text/event-stream").header("content-type","application/json").header("mcp-session-id",&raw_session).header("mcp-protocol-version",PROTOCOL).body(body).send().await.unwrap();
            let bytes = r.bytes().await.unwrap();
            assert!(bytes.windows(15).any(|w| w == b"\"isError\":false"));
        }))
    });
    group.bench_function("gateway_tools_call", |b| {
        b.iter(|| assert!(rt.block_on(through.call(black_box("jira_get_issue")))))
    });
    group.bench_function("gateway_tools_call_no_auth_no_policy", |b| {
        b.iter(|| assert!(rt.block_on(open.call(black_box("jira_get_issue")))))
    });
    group.finish();

    rt.block_on(async {
        for gateway in gateways {
            gateway.shutdown().await;
        }
        sim.shutdown().await;
    });
}

criterion_group!(benches, front);
criterion_main!(benches);
