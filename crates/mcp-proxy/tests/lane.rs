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

/// A tool result as a backend may write it: pretty-printed, with a field
/// rmcp's types do not know, and `isError` set.
const VERBATIM: &str = "{\n  \"content\": [{\"type\": \"text\", \"text\": \"as written\"}],\n  \"vendorExtension\": {\"kept\": true},\n  \"isError\": true\n}";

/// The jira demo over streamable HTTP behind a middleware that records each
/// POST, holds a `tools/call` for key `SLOW` for 10 s before serving it,
/// answers key `VERBATIM` (`VERBATIM_SLOW`: after 0.8 s) itself with the
/// [`VERBATIM`] result, and can refuse the next call.
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
                        let key = message["params"]["arguments"]["key"].as_str();
                        if let Some(key) = key.filter(|k| k.starts_with("VERBATIM")) {
                            if key == "VERBATIM_SLOW" {
                                // Past the gateway's plain-JSON window.
                                tokio::time::sleep(Duration::from_millis(800)).await;
                            }
                            let answer = format!(
                                "{{\"jsonrpc\": \"2.0\", \"id\": {},\n \"result\": {VERBATIM}}}",
                                message["id"]
                            );
                            return ([("content-type", "application/json")], answer)
                                .into_response();
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

/// A gateway in front of the recording backend at `url`; `top` is more
/// top-level config (YAML lines).
async fn jira_gateway(url: &str, top: &str) -> Running {
    Running::start(&format!(
        "{top}backends:\n  - name: jira\n    http:\n      url: {url}\n"
    ))
    .await
}

/// Waits (up to 5 s) until `done` holds.
async fn eventually(done: impl Fn() -> bool) {
    for _ in 0..200 {
        if done() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

fn get_issue(key: &str) -> CallToolRequestParams {
    CallToolRequestParams::new("jira_get_issue").with_arguments(args(json!({ "key": key })))
}

#[tokio::test]
async fn calls_take_the_lane_and_give_way_to_rmcp_when_refused() {
    let (url, backend) = recording_backend().await;
    let gw = jira_gateway(&url, "").await;
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
    let gw = jira_gateway(&url, "").await;
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
    let gw = jira_gateway(&url, "").await;
    let client = gw.client_with_token("unused").await;
    let handle = client
        .send_cancellable_request(
            ClientRequest::CallToolRequest(CallToolRequest::new(get_issue("SLOW"))),
            PeerRequestOptions::no_options(),
        )
        .await
        .unwrap();
    // Wait until the backend holds the call, then cancel it at the gateway.
    eventually(|| !backend.calls().is_empty()).await;
    assert_eq!(backend.calls(), [json!("gw-0")]);
    handle
        .cancel(Some("the test cancels".into()))
        .await
        .unwrap();
    eventually(|| !backend.cancelled().is_empty()).await;
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

/// The protocol version raw sessions negotiate.
const PROTOCOL: &str = "2025-11-25";

/// A session opened over plain HTTP (initialize with `capabilities`, then
/// `notifications/initialized`), for looking at the answers' SSE framing.
struct RawSession {
    http: reqwest::Client,
    url: String,
    id: String,
}

impl RawSession {
    async fn open(url: &str, capabilities: Value) -> RawSession {
        let http = reqwest::Client::new();
        let init = json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
            "protocolVersion": PROTOCOL, "capabilities": capabilities,
            "clientInfo": {"name": "raw", "version": "1"}}});
        let answer = Self::request_on(&http, url, None, PROTOCOL, &init)
            .send()
            .await
            .unwrap();
        let id = answer.headers()["mcp-session-id"]
            .to_str()
            .unwrap()
            .to_owned();
        answer.bytes().await.unwrap();
        let session = RawSession {
            http,
            url: url.to_owned(),
            id,
        };
        let initialized = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
        assert_eq!(session.post(&initialized).await.status(), 202);
        session
    }

    /// A POST of `body`, not sent yet, in `session` when given, naming
    /// `protocol` as its `MCP-Protocol-Version`.
    fn request_on(
        http: &reqwest::Client,
        url: &str,
        session: Option<&str>,
        protocol: &str,
        body: &Value,
    ) -> reqwest::RequestBuilder {
        let mut request = http
            .post(url)
            .header("accept", "application/json, text/event-stream")
            .header("mcp-protocol-version", protocol)
            .json(body);
        if let Some(session) = session {
            request = request.header("mcp-session-id", session);
        }
        request
    }

    /// A POST of `body` in this session, not sent yet.
    fn request(&self, protocol: &str, body: &Value) -> reqwest::RequestBuilder {
        Self::request_on(&self.http, &self.url, Some(&self.id), protocol, body)
    }

    async fn post(&self, body: &Value) -> reqwest::Response {
        self.request(PROTOCOL, body).send().await.unwrap()
    }

    /// POSTs a `tools/call` with `id` that the recording backend holds for
    /// 10 s; returns its answer (headers only so far) once the backend has it.
    async fn slow_call(&self, id: u64, backend: &Backend) -> reqwest::Response {
        let slow = json!({"jsonrpc": "2.0", "id": id, "method": "tools/call",
            "params": {"name": "jira_get_issue", "arguments": {"key": "SLOW"}}});
        let answer = self.post(&slow).await;
        assert_eq!(answer.status(), 200);
        eventually(|| !backend.calls().is_empty()).await;
        assert_eq!(backend.calls(), [json!("gw-0")]);
        answer
    }

    /// The answer of one `tools/call` of `jira_get_issue`: its
    /// `Content-Type` and body.
    async fn call_text(&self, id: u64, meta: Option<Value>) -> (String, String) {
        let mut params = json!({"name": "jira_get_issue", "arguments": {"key": "OPS-1"}});
        if let Some(meta) = meta {
            params["_meta"] = meta;
        }
        let call = json!({"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": params});
        let answer = self.post(&call).await;
        let content_type = answer.headers()["content-type"]
            .to_str()
            .unwrap()
            .to_owned();
        let text = answer.text().await.unwrap();
        assert!(text.contains(r#""key\":\"OPS-1\""#), "{text}");
        (content_type, text)
    }
}

/// A call served in place and answered as plain JSON (one JSON-RPC message).
fn served_in_place((content_type, text): &(String, String)) -> bool {
    content_type == "application/json"
        && serde_json::from_str::<Value>(text).is_ok_and(|m| m["result"].is_object())
}

/// rmcp's session answers with numbered SSE events (`id:` lines).
fn served_by_rmcp((content_type, text): &(String, String)) -> bool {
    content_type == "text/event-stream" && text.contains("id:")
}

#[tokio::test]
async fn plain_clients_calls_are_served_in_place_and_the_rest_by_rmcps_session() {
    let (url, backend) = recording_backend().await;
    let gw = jira_gateway(&url, "").await;
    let plain = RawSession::open(&gw.mcp, json!({})).await;
    let answer = plain.call_text(1, None).await;
    assert!(served_in_place(&answer), "{answer:?}");
    // Progress travels on the request's own stream: rmcp's session serves it.
    let answer = plain
        .call_text(2, Some(json!({"progressToken": "p-1"})))
        .await;
    assert!(served_by_rmcp(&answer), "{answer:?}");
    // A client that may be asked for sampling: rmcp's session serves its calls.
    let sampling = RawSession::open(&gw.mcp, json!({"sampling": {}})).await;
    let answer = sampling.call_text(1, None).await;
    assert!(served_by_rmcp(&answer), "{answer:?}");
    // Either way the backend saw each call once, through the fast lane.
    assert_eq!(backend.calls().len(), 3, "{:?}", backend.calls());
    // What rmcp must check reaches rmcp, which refuses it as always: a
    // browser's Origin (none allowed here), a Host that is not allowed.
    let call = json!({"jsonrpc": "2.0", "id": 5, "method": "tools/call",
        "params": {"name": "jira_get_issue", "arguments": {"key": "OPS-1"}}});
    let with = |name: &'static str, value: &'static str| {
        plain.request(PROTOCOL, &call).header(name, value).send()
    };
    assert_eq!(
        with("origin", "http://evil.example")
            .await
            .unwrap()
            .status(),
        403
    );
    assert_eq!(with("host", "evil.example:80").await.unwrap().status(), 403);
    // A protocol version other than the session's: rmcp decides (here it
    // serves the call, as SSE).
    let other = plain.request("2025-06-18", &call).send().await.unwrap();
    assert_eq!(other.headers()["content-type"], "text/event-stream");
    assert_eq!(backend.calls().len(), 4, "{:?}", backend.calls());
    gw.stop().await;
}

#[tokio::test]
async fn a_call_served_in_place_is_cancelled_at_the_backend_when_its_client_hangs_up() {
    let (url, backend) = recording_backend().await;
    let gw = jira_gateway(&url, "").await;
    let session = RawSession::open(&gw.mcp, json!({})).await;
    let answer = session.slow_call(7, &backend).await;
    assert_eq!(gw.gateway.in_flight(), 1);
    // The client goes away without reading the answer.
    drop(answer);
    drop(session);
    eventually(|| !backend.cancelled().is_empty()).await;
    assert_eq!(backend.cancelled(), [json!("gw-0")]);
    gw.stop().await;
}

#[tokio::test]
async fn notifications_cancelled_cancels_a_call_served_in_place_and_no_answer_is_sent() {
    let (url, backend) = recording_backend().await;
    let gw = jira_gateway(&url, "").await;
    let session = RawSession::open(&gw.mcp, json!({})).await;
    let answer = session.slow_call(8, &backend).await;
    // The answer stream stays open; the client cancels by notification.
    let cancel = json!({"jsonrpc": "2.0", "method": "notifications/cancelled",
        "params": {"requestId": 8, "reason": "the test cancels"}});
    assert_eq!(session.post(&cancel).await.status(), 202);
    eventually(|| !backend.cancelled().is_empty()).await;
    assert_eq!(backend.cancelled(), [json!("gw-0")]);
    let text = tokio::time::timeout(Duration::from_secs(5), answer.text())
        .await
        .expect("the answer stream ends")
        .unwrap();
    assert!(!text.contains("\"result\""), "{text}");
    // The session goes on.
    session.call_text(9, None).await;
    gw.stop().await;
}

#[tokio::test]
async fn a_session_busy_with_calls_in_place_stays_open_and_an_unused_one_is_closed() {
    let (url, _backend) = recording_backend().await;
    let gw = jira_gateway(&url, "session_idle_timeout: 1s\n").await;
    let busy = RawSession::open(&gw.mcp, json!({})).await;
    let unused = RawSession::open(&gw.mcp, json!({})).await;
    // 2.4 s of calls served in place, which rmcp's session worker never sees.
    for id in 1..=12 {
        let answer = busy.call_text(id, None).await;
        assert!(served_in_place(&answer), "{answer:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let list = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"});
    assert_eq!(
        unused.post(&list).await.status(),
        404,
        "the unused session is closed"
    );
    assert_eq!(busy.post(&list).await.status(), 200, "the busy one is open");
    busy.call_text(13, None).await;
    gw.stop().await;
}

#[tokio::test]
async fn plain_answers_carry_the_backends_result_as_written() {
    let (url, _backend) = recording_backend().await;
    let gw = jira_gateway(&url, "").await;
    let written: Value = serde_json::from_str(VERBATIM).unwrap();
    let plain = RawSession::open(&gw.mcp, json!({})).await;
    let call = |id: u64, key: &str| {
        json!({"jsonrpc": "2.0", "id": id, "method": "tools/call",
            "params": {"name": "jira_get_issue", "arguments": {"key": key}}})
    };
    // Plain JSON: the result as the backend wrote it, the unknown field kept.
    let answer = plain.post(&call(1, "VERBATIM")).await;
    assert_eq!(answer.headers()["content-type"], "application/json");
    let message: Value = answer.json().await.unwrap();
    assert_eq!(
        (&message["jsonrpc"], &message["id"]),
        (&json!("2.0"), &json!(1))
    );
    assert_eq!(message["result"], written, "{message}");
    // Past the plain-JSON window it is SSE: the pretty-printed result must
    // still be one `data:` field.
    let answer = plain.post(&call(2, "VERBATIM_SLOW")).await;
    assert_eq!(answer.headers()["content-type"], "text/event-stream");
    let text = answer.text().await.unwrap();
    let data: Vec<&str> = text
        .lines()
        .filter_map(|line| line.strip_prefix("data: "))
        .collect();
    assert_eq!(data.len(), 1, "{text}");
    let message: Value = serde_json::from_str(data[0]).unwrap();
    assert_eq!((&message["id"], &message["result"]), (&json!(2), &written));
    // rmcp's client path decodes the result into rmcp's types (the unknown
    // field is not among them); `isError` holds either way.
    let client = gw.client_with_token("unused").await;
    let params = CallToolRequestParams::new("jira_get_issue")
        .with_arguments(args(json!({"key": "VERBATIM"})));
    let result = client.call_tool(params).await.unwrap();
    assert_eq!(result.is_error, Some(true));
    // The handler saw each call's isError: three tool errors were counted.
    let metrics = reqwest::get(gw.mcp.replace("/mcp", "/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let line =
        "mcp_proxy_requests_total{method=\"tools/call\",backend=\"jira\",outcome=\"tool_error\"} 3";
    assert!(metrics.contains(line), "{metrics}");
    client.cancel().await.unwrap();
    gw.stop().await;
}
