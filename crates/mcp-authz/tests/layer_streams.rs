//! SSE re-framing, streaming and list shapes, against a hand-written upstream
//! served over 127.0.0.1 (rmcp never splits events or uses CRLF, this one does).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use mcp_authz::{Authorizer, AuthzLayer, Identity, Policy};
use serde_json::{Value, json};
use tokio::sync::mpsc;

type Slot = Arc<Mutex<Option<mpsc::Sender<Bytes>>>>;

const POLICY: &str = r#"
scopes:
  mcp:read: ["list_*", "get_*"]
rules:
  - name: no-delete
    deny: "tool.name.contains('delete')"
  - name: greeting-prompt
    allow: "tool.name == 'greeting'"
    methods: ["prompts/get"]
  - name: public-files
    allow: "tool.name.startsWith('file:///public/')"
    methods: ["resources/read"]
"#;

fn sse(rx: mpsc::Receiver<Bytes>) -> Response {
    let stream = futures::stream::unfold(rx, |mut rx| async move {
        rx.recv()
            .await
            .map(|b| (Ok::<_, std::convert::Infallible>(b), rx))
    });
    (
        [("content-type", "text/event-stream")],
        Body::from_stream(stream),
    )
        .into_response()
}

async fn upstream_post(State(slot): State<Slot>, body: Bytes) -> Response {
    let msg: Value = serde_json::from_slice(&body).unwrap();
    let id = msg["id"].clone();
    if msg["params"]["gzip"] == true {
        return (
            [
                ("content-type", "application/json"),
                ("content-encoding", "gzip"),
            ],
            "\u{1f}\u{8b}not really gzip",
        )
            .into_response();
    }
    if msg["params"]["plain"] == true {
        return ([("content-type", "text/plain")], "tools: delete_everything").into_response();
    }
    match msg["method"].as_str().unwrap() {
        "tools/list" => {
            let (tx, rx) = mpsc::channel(8);
            *slot.lock().unwrap() = Some(tx);
            sse(rx)
        }
        "prompts/list" => {
            let body = json!({"jsonrpc": "2.0", "id": id, "result": {"prompts": [
                {"name": "greeting"}, {"name": "exfiltrate"}, {"description": "no name"}
            ]}});
            (
                [("content-type", "application/json; charset=utf-8")],
                body.to_string(),
            )
                .into_response()
        }
        "resources/list" => {
            let body = json!({"jsonrpc": "2.0", "id": id, "result": {"resources": [
                {"uri": "file:///public/readme", "name": "readme"},
                {"uri": "file:///private/keys", "name": "file:///public/decoy"}
            ]}});
            ([("content-type", "application/json")], body.to_string()).into_response()
        }
        _ => ([("content-type", "text/plain")], "surprise").into_response(),
    }
}

async fn upstream_get(State(slot): State<Slot>, _h: HeaderMap) -> Response {
    let (tx, rx) = mpsc::channel(8);
    *slot.lock().unwrap() = Some(tx);
    sse(rx)
}

async fn start(
    tweak: impl FnOnce(AuthzLayer) -> AuthzLayer,
) -> (String, Slot, tokio::task::JoinHandle<()>) {
    let slot: Slot = Arc::new(Mutex::new(None));
    let upstream = axum::Router::new()
        .route("/mcp", axum::routing::post(upstream_post).get(upstream_get))
        .with_state(Arc::clone(&slot));
    let authz = Authorizer::new(Policy::from_yaml(POLICY).unwrap()).unwrap();
    let layer = tweak(AuthzLayer::new(authz).identity(|_: &http::request::Parts| {
        Some(Identity::new("reader", ["mcp:read"], Vec::<String>::new()))
    }));
    let app = tower::Layer::layer(&layer, upstream);
    let router = axum::Router::new().route_service("/mcp", app);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    (format!("http://{addr}/mcp"), slot, task)
}

async fn sender(slot: &Slot) -> mpsc::Sender<Bytes> {
    for _ in 0..500 {
        if let Some(tx) = slot.lock().unwrap().take() {
            return tx;
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    panic!("upstream never answered");
}

/// Reads chunks until `needle` shows up; returns everything read.
async fn read_until(resp: &mut reqwest::Response, acc: &mut String, needle: &str) {
    while !acc.contains(needle) {
        let chunk = tokio::time::timeout(Duration::from_secs(5), resp.chunk())
            .await
            .expect("the layer must stream events as they come")
            .unwrap()
            .expect("stream ended early");
        acc.push_str(std::str::from_utf8(&chunk).unwrap());
    }
}

fn post(url: &str, body: Value) -> reqwest::RequestBuilder {
    reqwest::Client::new()
        .post(url)
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .body(body.to_string())
}

#[tokio::test]
async fn sse_events_are_reframed_and_streamed_one_by_one() {
    let (url, slot, task) = start(|l| l).await;
    let req = post(
        &url,
        json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"}),
    );
    let pending = tokio::spawn(req.send());
    let tx = sender(&slot).await;
    let untouched = ": keep-alive comment\r\nretry: 1000\r\n\r\n";
    tx.send(Bytes::from(untouched)).await.unwrap();
    // One event split across two chunks, CRLF line ends, data over two lines.
    tx.send(Bytes::from(
        "id: 7\r\nevent: message\r\ndata: {\"jsonrpc\":\"2.0\",\"id\":1,\r\n",
    ))
    .await
    .unwrap();
    tx.send(Bytes::from(
        "data: \"result\":{\"tools\":[{\"name\":\"list_a\"},{\"name\":\"delete_b\"},{\"name\":\"post_c\"}]}}\r\n\r\n",
    ))
    .await
    .unwrap();
    let mut resp = pending.await.unwrap().unwrap();
    assert_eq!(resp.status(), 200);
    assert!(resp.headers().get("content-length").is_none());
    let mut acc = String::new();
    read_until(&mut resp, &mut acc, "list_a").await;
    // The upstream is still open: the filtered event arrived on its own.
    assert!(acc.starts_with(untouched), "{acc:?}");
    let event = &acc[untouched.len()..];
    // Framing kept (id, event; CRLF normalised), one data line with the filtered list.
    let (head, data) = event.split_once("data: ").unwrap();
    assert_eq!(head, "id: 7\nevent: message\n");
    assert!(
        data.ends_with("}\n\n") && !data.trim_end().contains('\n'),
        "{data:?}"
    );
    let v: Value = serde_json::from_str(data.trim_end()).unwrap();
    assert_eq!(
        v,
        json!({"jsonrpc": "2.0", "id": 1, "result": {"tools": [{"name": "list_a"}]}})
    );
    // Later events (another id, a notification) pass byte for byte.
    let later = "data: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/message\",\"params\":{\"tools\":[]}}\n\n";
    tx.send(Bytes::from(later)).await.unwrap();
    drop(tx);
    let rest = resp.text().await.unwrap();
    assert_eq!(rest, later);
    task.abort();
}

#[tokio::test]
async fn get_streams_are_filtered_by_shape() {
    let (url, slot, task) = start(|l| l).await;
    let pending = tokio::spawn(
        reqwest::Client::new()
            .get(&url)
            .header("accept", "text/event-stream")
            .header("last-event-id", "3")
            .send(),
    );
    let tx = sender(&slot).await;
    tx.send(Bytes::from(
        "data: {\"jsonrpc\":\"2.0\",\"id\":99,\"result\":{\"tools\":[{\"name\":\"get_x\"},{\"name\":\"delete_y\"}]}}\n\n",
    ))
    .await
    .unwrap();
    tx.send(Bytes::from(
        "data: {\"jsonrpc\":\"2.0\",\"id\":100,\"result\":{\"content\":[]}}\n\n",
    ))
    .await
    .unwrap();
    drop(tx);
    let text = pending.await.unwrap().unwrap().text().await.unwrap();
    assert!(
        text.contains("get_x") && !text.contains("delete_y"),
        "{text}"
    );
    assert!(
        text.ends_with("data: {\"jsonrpc\":\"2.0\",\"id\":100,\"result\":{\"content\":[]}}\n\n")
    );
    task.abort();
}

#[tokio::test]
async fn prompts_and_resources_lists_are_filtered() {
    let (url, _slot, task) = start(|l| l).await;
    let resp = post(
        &url,
        json!({"jsonrpc": "2.0", "id": "p", "method": "prompts/list"}),
    )
    .send()
    .await
    .unwrap();
    let len: usize = resp.headers()["content-length"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    let body = resp.text().await.unwrap();
    assert_eq!(len, body.len(), "content-length matches the filtered body");
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["result"]["prompts"], json!([{"name": "greeting"}]));

    let v: Value = post(
        &url,
        json!({"jsonrpc": "2.0", "id": 2, "method": "resources/list"}),
    )
    .send()
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    assert_eq!(
        v["result"]["resources"],
        json!([{"uri": "file:///public/readme", "name": "readme"}]),
        "resources are matched by URI, not by name"
    );
    task.abort();
}

#[tokio::test]
async fn lists_the_layer_cannot_check_fail_closed() {
    let (url, slot, task) = start(|l| l.max_event_bytes(1024)).await;
    // A list answered with a content type that is neither JSON nor SSE.
    let resp = post(
        &url,
        json!({"jsonrpc": "2.0", "id": 3, "method": "tools/list", "params": {}}),
    );
    let pending = tokio::spawn(resp.send());
    let tx = sender(&slot).await;
    let big = format!(
        "data: {{\"jsonrpc\":\"2.0\",\"id\":3,\"result\":{{\"tools\":[{{\"name\":\"delete_secret\",\"description\":\"{}\"}}]}}}}",
        "x".repeat(4096)
    );
    tx.send(Bytes::from(big)).await.unwrap();
    let resp = pending.await.unwrap().unwrap();
    let body = resp.text().await;
    assert!(
        body.is_err() || !body.unwrap().contains("delete_secret"),
        "an oversized event is never relayed"
    );
    drop(tx);

    // A list answered with a content type that is neither JSON nor SSE: 502.
    let resp = post(
        &url,
        json!({"jsonrpc": "2.0", "id": 5, "method": "resources/list", "params": {"plain": true}}),
    )
    .send()
    .await
    .unwrap();
    assert_eq!(resp.status(), 502);
    let v: Value = resp.json().await.unwrap();
    assert_eq!(v["error"]["code"], mcp_authz::layer::INTERNAL_ERROR);
    assert_eq!(v["id"], 5);
    // A compressed list cannot be filtered: 502, not relayed.
    let resp = post(
        &url,
        json!({"jsonrpc": "2.0", "id": 6, "method": "resources/list", "params": {"gzip": true}}),
    )
    .header("accept-encoding", "gzip")
    .send()
    .await
    .unwrap();
    assert_eq!(resp.status(), 502);
    task.abort();
}
