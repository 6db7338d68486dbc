//! The floor of any HTTP proxy, for `scripts/bench`: a bare forwarder that
//! hands every request to the backend byte for byte (method, path, headers
//! but `Host`, body) over a pooled keep-alive connection and streams the
//! answer back. No token check, no policy, no MCP parsing, no audit. What the
//! benchmark sees through it is what one more HTTP hop on loopback costs on
//! the machine (a second server and client, and the kernel's TCP, sharing the
//! CPUs with the backend and the load generator), measured in the same run as
//! the gateway, so the gateway's numbers can be read against it.
//!
//! ```text
//! cargo run --release -p mcp-proxy --example bench_forwarder -- 127.0.0.1:18934 http://127.0.0.1:18931
//! ```

use std::net::SocketAddr;
use std::process::ExitCode;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::serve::ListenerExt;

#[derive(Clone)]
struct Upstream {
    base: String,
    http: reqwest::Client,
}

async fn forward(State(upstream): State<Upstream>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let Ok(body) = axum::body::to_bytes(body, 16 * 1024 * 1024).await else {
        return StatusCode::PAYLOAD_TOO_LARGE.into_response();
    };
    let url = format!("{}{}", upstream.base, parts.uri);
    let mut headers = parts.headers;
    headers.remove(header::HOST);
    let sent = upstream
        .http
        .request(parts.method, url)
        .headers(headers)
        .body(body)
        .send()
        .await;
    match sent {
        Ok(answer) => {
            let mut response = Response::builder().status(answer.status());
            if let Some(headers) = response.headers_mut() {
                for (name, value) in answer.headers() {
                    if name != header::TRANSFER_ENCODING && name != header::CONNECTION {
                        headers.insert(name, value.clone());
                    }
                }
            }
            response
                .body(Body::from_stream(answer.bytes_stream()))
                .unwrap_or_else(|_| StatusCode::BAD_GATEWAY.into_response())
        }
        Err(e) => (StatusCode::BAD_GATEWAY, e.to_string()).into_response(),
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let (Some(addr), Some(base)) = (args.next(), args.next()) else {
        eprintln!("bench_forwarder: usage: bench_forwarder IP:PORT BACKEND_BASE_URL");
        return ExitCode::FAILURE;
    };
    let addr: SocketAddr = match addr.parse() {
        Ok(addr) => addr,
        Err(e) => {
            eprintln!("bench_forwarder: bad address {addr}: {e}");
            return ExitCode::FAILURE;
        }
    };
    let http = match reqwest::Client::builder().tcp_nodelay(true).build() {
        Ok(http) => http,
        Err(e) => {
            eprintln!("bench_forwarder: {e}");
            return ExitCode::FAILURE;
        }
    };
    let upstream = Upstream {
        base: base.trim_end_matches('/').to_owned(),
        http,
    };
    let app = axum::Router::new().fallback(forward).with_state(upstream);
    let listener = match tokio::net::TcpListener::bind(addr).await {
        Ok(listener) => listener.tap_io(|tcp| {
            let _ = tcp.set_nodelay(true);
        }),
        Err(e) => {
            eprintln!("bench_forwarder: cannot listen on {addr}: {e}");
            return ExitCode::FAILURE;
        }
    };
    eprintln!("bench_forwarder: http://{addr} -> {base}");
    match axum::serve(listener, app).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bench_forwarder: {e}");
            ExitCode::FAILURE
        }
    }
}
