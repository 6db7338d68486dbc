//! Shared helpers of the integration tests: start a gateway on a random
//! loopback port and talk to it with the rmcp client.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use mcp_proxy::Gateway;
use mcp_proxy::config::GatewayConfig;
use rmcp::ServiceExt;
use rmcp::service::{RoleClient, RunningService};
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;

/// The mcp-proxy binary cargo built for these tests.
pub const EXE: &str = env!("CARGO_BIN_EXE_mcp-proxy");

/// A backend entry running one demo server as a stdio child of the real binary.
pub fn demo_stdio(name: &str, demo: &str) -> String {
    format!(
        "  - name: {name}\n    backoff_initial: 50ms\n    stdio:\n      command: \"{EXE}\"\n      args: [demo-server, {demo}]\n"
    )
}

/// A running gateway and its URL.
pub struct Running {
    pub gateway: Gateway,
    pub base: String,
    pub mcp: String,
    task: tokio::task::JoinHandle<()>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Running {
    pub async fn start(yaml: &str) -> Running {
        let config = GatewayConfig::from_yaml_str(yaml, "test.yaml").unwrap();
        Self::start_config(config).await
    }

    pub async fn start_config(config: GatewayConfig) -> Running {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        Self::start_on(listener, config).await
    }

    pub async fn start_on(listener: tokio::net::TcpListener, config: GatewayConfig) -> Running {
        let addr = listener.local_addr().unwrap();
        let path = config.path.clone();
        let gateway = Gateway::start(config).await.unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let serving = gateway.clone();
        let task = tokio::spawn(async move {
            serving
                .serve(listener, async move {
                    let _ = stopped.await;
                })
                .await
                .unwrap();
        });
        Running {
            gateway,
            base: format!("http://{addr}"),
            mcp: format!("http://{addr}{path}"),
            task,
            stop: Some(stop),
        }
    }

    /// An rmcp client connected to the gateway's MCP endpoint.
    pub async fn client(&self) -> RunningService<RoleClient, ()> {
        ().serve(StreamableHttpClientTransport::from_uri(self.mcp.as_str()))
            .await
            .unwrap()
    }

    /// An rmcp client that sends `Authorization: Bearer <token>`.
    pub async fn client_with_token(&self, token: &str) -> RunningService<RoleClient, ()> {
        let config =
            StreamableHttpClientTransportConfig::with_uri(self.mcp.as_str()).auth_header(token);
        ().serve(StreamableHttpClientTransport::from_config(config))
            .await
            .unwrap()
    }

    /// Waits (bounded) until `check` holds for the backend status list.
    pub async fn wait_for(&self, what: &str, check: impl Fn(&[mcp_proxy::BackendStatus]) -> bool) {
        for _ in 0..200 {
            if check(&self.gateway.backend_status()) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!(
            "timed out waiting for {what}: {:?}",
            self.gateway.backend_status()
        );
    }

    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let _ = tokio::time::timeout(Duration::from_secs(10), &mut self.task).await;
    }
}

/// Arguments object from JSON.
pub fn args(value: serde_json::Value) -> serde_json::Map<String, serde_json::Value> {
    value.as_object().cloned().unwrap()
}

/// `--dev` on random loopback ports: the dev identity provider (okta-sim) and
/// the gateway verifying its tokens, in front of `file`'s backends and policy,
/// or of the four demo servers under the dev policy.
pub async fn dev_world(file: Option<GatewayConfig>) -> (okta_sim::OktaSim, Running) {
    let sim = mcp_proxy::dev::start_idp("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let config = mcp_proxy::dev::gateway_config(&sim, addr, EXE.as_ref(), file).unwrap();
    let gw = Running::start_on(listener, config).await;
    (sim, gw)
}

/// A peer installed by `scripts/install-peers` under the workspace's `.tools/`
/// (the folder resolved, the peer's own link kept, so a venv's python stays the
/// venv's). A missing peer fails with how to install it; tests never skip.
pub fn installed_peer(relative: &str) -> std::path::PathBuf {
    let dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../.tools");
    let dir = std::fs::canonicalize(&dir).unwrap_or_else(|_| {
        panic!(
            "test peers folder {} is missing: run scripts/install-peers (scripts/test does)",
            dir.display()
        )
    });
    let path = dir.join(relative);
    assert!(
        path.exists(),
        "test peer {} is missing: run scripts/install-peers (scripts/test does)",
        path.display()
    );
    path
}

/// server-everything (the TypeScript SDK's reference server) installed by
/// `scripts/install-peers`.
pub fn everything() -> std::path::PathBuf {
    installed_peer("npm/node_modules/.bin/mcp-server-everything")
}

/// Starts `mcp-server-everything streamableHttp` on a free loopback port;
/// returns the child (killed when dropped) and its MCP URL.
pub async fn everything_http() -> (tokio::process::Child, String) {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let child = tokio::process::Command::new(everything())
        .arg("streamableHttp")
        .env("PORT", port.to_string())
        .kill_on_drop(true)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    for _ in 0..200 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            return (child, format!("http://127.0.0.1:{port}/mcp"));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("server-everything (streamableHttp) did not listen on {port}");
}

/// One JSON-RPC request in a fresh session, over plain HTTP (status and headers visible).
pub async fn raw_call(gw: &Running, token: &str, body: &'static str) -> reqwest::Response {
    let sid = raw_session(gw, token).await;
    raw_post(gw, token, Some(&sid), body).await
}

/// A new MCP session opened with `initialize` over plain HTTP: its id.
pub async fn raw_session(gw: &Running, token: &str) -> String {
    let init = raw_post(
        gw,
        token,
        None,
        r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}"#,
    )
    .await;
    init.headers()["mcp-session-id"]
        .to_str()
        .unwrap()
        .to_owned()
}

/// One JSON-RPC message POSTed with `token`, in session `sid` when given.
pub async fn raw_post(
    gw: &Running,
    token: &str,
    sid: Option<&str>,
    body: &'static str,
) -> reqwest::Response {
    let mut request = reqwest::Client::new()
        .post(&gw.mcp)
        .bearer_auth(token)
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", "2025-11-25")
        .body(body);
    if let Some(sid) = sid {
        request = request.header("mcp-session-id", sid);
    }
    request.send().await.unwrap()
}
