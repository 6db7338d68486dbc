//! The fast lane to HTTP backends (`backends/lane.rs`): calls go as one plain
//! POST on rmcp's session with ids of the gateway's own (`gw-<n>`); progress
//! comes back to the caller; a call the client cancels is cancelled at the
//! backend; a request the backend refuses goes through rmcp's client instead.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::extract::Request;
use axum::middleware::Next;
use axum::response::IntoResponse;
use rmcp::ServiceExt;
use rmcp::model::{
    CallToolRequest, CallToolRequestParams, ClientRequest, ProgressNotificationParam,
};
use rmcp::service::{NotificationContext, PeerRequestOptions, RoleClient};
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::{StreamableHttpServerConfig, StreamableHttpService};
use serde_json::{Value, json};
use support::{Running, args, everything_http};
use tokio::sync::mpsc;

/// What the recording backend saw and what it should do next.
#[derive(Default)]
struct Backend {
    /// Every POSTed JSON-RPC message: (method, id or the cancelled request's id).
    seen: Mutex<Vec<(String, Value)>>,
    /// Answer the next `tools/call` with `404` without looking at it.
    refuse_next_call: AtomicBool,
}

impl Backend {
    fn calls(&self) -> Vec<Value> {
        let seen = self.seen.lock().unwrap();
        seen.iter()
            .filter(|(method, _)| method == "tools/call")
            .map(|(_, id)| id.clone())
            .collect()
    }

    fn cancelled(&self) -> Vec<Value> {
        let seen = self.seen.lock().unwrap();
        seen.iter()
            .filter(|(method, _)| method == "notifications/cancelled")
            .map(|(_, id)| id.clone())
            .collect()
    }
}

/// The jira demo over streamable HTTP behind a middleware that records each
/// POST, holds a `tools/call` for key `SLOW` for 10 s before serving it, and
/// can refuse the next call.
async fn recording_backend() -> (String, Arc<Backend>) {
    let backend = Arc::new(Backend::default());
    let state = Arc::clone(&backend);
    let service = StreamableHttpService::new(
        || Ok(mcp_proxy::demo::server("jira").unwrap()),
        Arc::new(LocalSessionManager::default()),
        StreamableHttpServerConfig::default(),
    );
    let app = axum::Router::new()
        .route_service("/mcp", service)
        .layer(axum::middleware::from_fn(
            move |request: Request, next: Next| {
                let state = Arc::clone(&state);
                async move {
                    let (parts, body) = request.into_parts();
                    let bytes = axum::body::to_bytes(body, usize::MAX).await.unwrap();
                    let message: Value = serde_json::from_slice(&bytes).unwrap_or_default();
                    let method = message["method"].as_str().unwrap_or_default().to_owned();
                    let id = if method == "notifications/cancelled" {
                        message["params"]["requestId"].clone()
                    } else {
                        message["id"].clone()
                    };
                    state.seen.lock().unwrap().push((method.clone(), id));
                    if method == "tools/call" {
                        if state.refuse_next_call.swap(false, Ordering::SeqCst) {
                            return http::StatusCode::NOT_FOUND.into_response();
                        }
                        if message["params"]["arguments"]["key"] == "SLOW" {
                            tokio::time::sleep(Duration::from_secs(10)).await;
                        }
                        if message["params"]["arguments"]["key"] == "BROKEN" {
                            // The backend dies mid-answer: an SSE stream that breaks.
                            let pieces: Vec<Result<&'static str, std::io::Error>> = vec![
                                Ok("data: \n\n"),
                                Err(std::io::Error::other("backend crashed")),
                            ];
                            return http::Response::builder()
                                .header("content-type", "text/event-stream")
                                .body(Body::from_stream(futures::stream::iter(pieces)))
                                .unwrap()
                                .into_response();
                        }
                    }
                    next.run(Request::from_parts(parts, Body::from(bytes)))
                        .await
                }
            },
        ));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}/mcp"), backend)
}

fn get_issue(key: &str) -> CallToolRequestParams {
    CallToolRequestParams::new("jira_get_issue").with_arguments(args(json!({ "key": key })))
}

#[tokio::test]
async fn calls_take_the_lane_and_give_way_to_rmcp_when_refused() {
    let (url, backend) = recording_backend().await;
    let gw = Running::start(&format!(
        "backends:\n  - name: jira\n    http:\n      url: {url}\n"
    ))
    .await;
    let client = gw.client_with_token("unused").await;
    let result = client.call_tool(get_issue("OPS-1")).await.unwrap();
    assert_eq!(result.structured_content.unwrap()["key"], "OPS-1");
    assert_eq!(backend.calls(), [json!("gw-0")]);

    // Refused before it was looked at (as an expired session would be): the
    // same call goes through rmcp's client, under rmcp's own numeric id.
    backend.refuse_next_call.store(true, Ordering::SeqCst);
    let result = client.call_tool(get_issue("OPS-2")).await.unwrap();
    assert_eq!(result.structured_content.unwrap()["key"], "OPS-2");
    let calls = backend.calls();
    assert_eq!(calls.len(), 3, "{calls:?}");
    assert_eq!(calls[1], json!("gw-1"));
    assert!(calls[2].is_number(), "{calls:?}");
    client.cancel().await.unwrap();
    gw.stop().await;
}

#[tokio::test]
async fn a_backend_that_breaks_off_its_answer_is_a_clear_error_and_the_next_call_works() {
    let (url, backend) = recording_backend().await;
    let gw = Running::start(&format!(
        "backends:\n  - name: jira\n    http:\n      url: {url}\n"
    ))
    .await;
    let client = gw.client_with_token("unused").await;
    let err = client.call_tool(get_issue("BROKEN")).await.unwrap_err();
    assert_eq!(backend.calls(), [json!("gw-0")]);
    let rmcp::ServiceError::McpError(error) = err else {
        panic!("{err:?}")
    };
    assert_eq!(error.code.0, mcp_proxy::BACKEND_UNAVAILABLE, "{error:?}");
    assert!(
        error
            .message
            .contains("backend `jira` failed on `jira_get_issue`"),
        "{error:?}"
    );
    let result = client.call_tool(get_issue("OPS-4")).await.unwrap();
    assert_eq!(result.structured_content.unwrap()["key"], "OPS-4");
    client.cancel().await.unwrap();
    gw.stop().await;
}

#[tokio::test]
async fn a_cancelled_lane_call_is_cancelled_at_the_backend() {
    let (url, backend) = recording_backend().await;
    let gw = Running::start(&format!(
        "backends:\n  - name: jira\n    http:\n      url: {url}\n"
    ))
    .await;
    let client = gw.client_with_token("unused").await;
    let handle = client
        .send_cancellable_request(
            ClientRequest::CallToolRequest(CallToolRequest::new(get_issue("SLOW"))),
            PeerRequestOptions::no_options(),
        )
        .await
        .unwrap();
    // Wait until the backend holds the call, then cancel it at the gateway.
    for _ in 0..200 {
        if !backend.calls().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert_eq!(backend.calls(), [json!("gw-0")]);
    handle
        .cancel(Some("the test cancels".into()))
        .await
        .unwrap();
    for _ in 0..200 {
        if !backend.cancelled().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert_eq!(backend.cancelled(), [json!("gw-0")]);
    // The session goes on.
    let result = client.call_tool(get_issue("OPS-3")).await.unwrap();
    assert_eq!(result.structured_content.unwrap()["key"], "OPS-3");
    client.cancel().await.unwrap();
    gw.stop().await;
}

/// Records progress notifications.
#[derive(Clone)]
struct Progress(mpsc::UnboundedSender<ProgressNotificationParam>);

impl rmcp::ClientHandler for Progress {
    async fn on_progress(
        &self,
        params: ProgressNotificationParam,
        _context: NotificationContext<RoleClient>,
    ) {
        let _ = self.0.send(params);
    }
}

#[tokio::test]
async fn progress_on_a_lane_answer_stream_reaches_the_caller_under_its_token() {
    let (_child, url) = everything_http().await;
    let gw = Running::start(&format!(
        "backends:\n  - name: everything\n    http:\n      url: {url}\n"
    ))
    .await;
    let (tx, mut rx) = mpsc::unbounded_channel();
    let client = Progress(tx)
        .serve(StreamableHttpClientTransport::from_uri(gw.mcp.as_str()))
        .await
        .unwrap();
    let request = CallToolRequestParams::new("everything_trigger-long-running-operation")
        .with_arguments(args(json!({"duration": 1, "steps": 3})));
    let handle = client
        .send_cancellable_request(
            ClientRequest::CallToolRequest(CallToolRequest::new(request)),
            PeerRequestOptions::no_options(),
        )
        .await
        .unwrap();
    let token = handle.progress_token.clone();
    handle.await_response().await.unwrap();
    for step in 1..=3 {
        let progress = tokio::time::timeout(Duration::from_secs(10), rx.recv())
            .await
            .expect("progress")
            .unwrap();
        assert_eq!(progress.progress_token, token, "{progress:?}");
        assert_eq!(progress.progress, f64::from(step), "{progress:?}");
    }
    client.cancel().await.unwrap();
    gw.stop().await;
}
