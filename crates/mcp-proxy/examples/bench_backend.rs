//! A fast streamable-HTTP MCP backend for `scripts/bench`: the built-in `jira`
//! demo server ([`mcp_proxy::demo::server`]) served by rmcp's
//! `StreamableHttpService` in axum, with rmcp's default transport settings
//! (stateful sessions, responses as SSE, loopback `Host` check), which are
//! also the gateway front's. It does no I/O per call, so what a benchmark
//! sees through the gateway is the gateway's own cost.
//!
//! Accepted connections get `TCP_NODELAY`: an SSE response is written in
//! several small pieces (priming event, then the result), and with Nagle's
//! algorithm on, a keep-alive client waits for its delayed ACK (~40 ms on
//! Linux) before it sees the result.
//!
//! ```text
//! cargo run --release -p mcp-proxy --example bench_backend -- 127.0.0.1:18931
//! ```
//!
//! Serves `POST/GET/DELETE /mcp` until SIGTERM or Ctrl-C.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;

use axum::serve::ListenerExt;
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::{StreamableHttpServerConfig, StreamableHttpService};

#[tokio::main]
async fn main() -> ExitCode {
    let arg = std::env::args().nth(1);
    let addr: SocketAddr = match arg.as_deref().unwrap_or("127.0.0.1:18931").parse() {
        Ok(addr) => addr,
        Err(e) => {
            eprintln!("bench_backend: usage: bench_backend [IP:PORT] ({e})");
            return ExitCode::FAILURE;
        }
    };
    let Some(jira) = mcp_proxy::demo::server("jira") else {
        eprintln!("bench_backend: the jira demo server is missing");
        return ExitCode::FAILURE;
    };
    let service = StreamableHttpService::new(
        move || Ok(jira.clone()),
        Arc::new(LocalSessionManager::default()),
        StreamableHttpServerConfig::default(),
    );
    let app = axum::Router::new().route_service("/mcp", service);
    let listener = match tokio::net::TcpListener::bind(addr).await {
        Ok(listener) => listener.tap_io(|tcp| {
            let _ = tcp.set_nodelay(true);
        }),
        Err(e) => {
            eprintln!("bench_backend: cannot listen on {addr}: {e}");
            return ExitCode::FAILURE;
        }
    };
    eprintln!("bench_backend: jira demo on http://{addr}/mcp");
    match axum::serve(listener, app)
        .with_graceful_shutdown(stop_signal())
        .await
    {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bench_backend: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Resolves on Ctrl-C or (on Unix) SIGTERM.
async fn stop_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {},
                _ = term.recv() => {},
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}
