//! SSE re-framing, streaming and list shapes, prompts and resources, and what
//! passes untouched, against a hand-written upstream served over 127.0.0.1
//! (rmcp never splits events or uses CRLF, this one does; it also records
//! every body it receives).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use mcp_authz::layer::FORBIDDEN;
use mcp_authz::{Authorizer, AuthzLayer, Identity, Policy};
use serde_json::{Value, json};
use tokio::sync::mpsc;

type Slot = Arc<Mutex<Option<mpsc::Sender<Bytes>>>>;

/// The upstream's state: where a test feeds an SSE stream, and every request
/// body that got past the layer, as received.
#[derive(Clone, Default)]
struct Upstream {
    slot: Slot,
    received: Arc<Mutex<Vec<Bytes>>>,
}

impl Upstream {
    fn received(&self) -> Vec<String> {
        self.received
            .lock()
            .unwrap()
            .iter()
            .map(|b| String::from_utf8(b.to_vec()).unwrap())
            .collect()
    }
}

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
  - name: no-climbing
    description: Resource paths may not leave their directory
    deny: "tool.name.contains('/../')"
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

async fn upstream_post(State(up): State<Upstream>, body: Bytes) -> Response {
    up.received.lock().unwrap().push(body.clone());
    let slot = up.slot;
    let msg: Value = serde_json::from_slice(&body).unwrap();
    let id = msg["id"].clone();
    if msg.get("id").is_none() || msg.get("method").is_none() {
        // A notification or a response: accepted, marked as the upstream's answer.
        return (StatusCode::ACCEPTED, [("x-upstream", "accepted")]).into_response();
    }
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
        "prompts/get" => {
            let text = format!("prompt {}", msg["params"]["name"].as_str().unwrap());
            let body = json!({"jsonrpc": "2.0", "id": id, "result": {"messages": [
                {"role": "user", "content": {"type": "text", "text": text}}
            ]}});
            ([("content-type", "application/json")], body.to_string()).into_response()
        }
        "resources/read" => {
            let body = json!({"jsonrpc": "2.0", "id": id, "result": {"contents": [
                {"uri": msg["params"]["uri"], "text": "contents"}
            ]}});
            ([("content-type", "application/json")], body.to_string()).into_response()
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

async fn upstream_get(State(up): State<Upstream>, _h: HeaderMap) -> Response {
    let (tx, rx) = mpsc::channel(8);
    *up.slot.lock().unwrap() = Some(tx);
    sse(rx)
}

async fn start(
    tweak: impl FnOnce(AuthzLayer) -> AuthzLayer,
) -> (String, Upstream, tokio::task::JoinHandle<()>) {
    let state = Upstream::default();
    let upstream = axum::Router::new()
        .route("/mcp", axum::routing::post(upstream_post).get(upstream_get))
        .with_state(state.clone());
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
    (format!("http://{addr}/mcp"), state, task)
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
    post_text(url, &body.to_string())
}

/// Posts `body` exactly as given.
fn post_text(url: &str, body: &str) -> reqwest::RequestBuilder {
    reqwest::Client::new()
        .post(url)
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .body(body.to_owned())
}

#[tokio::test]
async fn sse_events_are_reframed_and_streamed_one_by_one() {
    let (url, up, task) = start(|l| l).await;
    let req = post(
        &url,
        json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"}),
    );
    let pending = tokio::spawn(req.send());
    let tx = sender(&up.slot).await;
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
    let (url, up, task) = start(|l| l).await;
    let pending = tokio::spawn(
        reqwest::Client::new()
            .get(&url)
            .header("accept", "text/event-stream")
            .header("last-event-id", "3")
            .send(),
    );
    let tx = sender(&up.slot).await;
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
    let (url, _up, task) = start(|l| l).await;
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
    let (url, up, task) = start(|l| l.max_event_bytes(1024)).await;
    // A list answered with a content type that is neither JSON nor SSE.
    let resp = post(
        &url,
        json!({"jsonrpc": "2.0", "id": 3, "method": "tools/list", "params": {}}),
    );
    let pending = tokio::spawn(resp.send());
    let tx = sender(&up.slot).await;
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

#[tokio::test]
async fn prompts_get_and_resources_read_are_decided_before_the_upstream() {
    let (url, up, task) = start(|l| l).await;
    let send = |body: String| {
        let url = url.clone();
        async move {
            let resp = post_text(&url, &body).send().await.unwrap();
            assert_eq!(resp.status(), 200, "{body}");
            resp.json::<Value>().await.unwrap()
        }
    };
    let get = |id: u64, name: &str| {
        json!({"jsonrpc": "2.0", "id": id, "method": "prompts/get",
               "params": {"name": name, "arguments": {"who": "you"}}})
        .to_string()
    };
    let read = |id: u64, uri: &str| {
        json!({"jsonrpc": "2.0", "id": id, "method": "resources/read", "params": {"uri": uri}})
            .to_string()
    };
    let mut forwarded = Vec::new();

    // Allowed by the rule `greeting-prompt`: forwarded, answered by the upstream.
    let body = get(1, "greeting");
    let v = send(body.clone()).await;
    assert_eq!(
        v["result"]["messages"][0]["content"]["text"], "prompt greeting",
        "{v}"
    );
    forwarded.push(body);
    // No rule allows it: default deny, answered by the layer.
    let v = send(get(2, "exfiltrate")).await;
    assert_eq!(
        (&v["id"], &v["error"]["code"]),
        (&json!(2), &json!(FORBIDDEN))
    );
    assert_eq!(v["error"]["data"], json!({"rule": null}), "{v}");
    let message = v["error"]["message"].as_str().unwrap();
    assert!(message.contains("default deny"), "{message}");
    // Rules for other methods do not leak: `greeting-prompt` does not allow reading `greeting`.
    let v = send(read(3, "greeting")).await;
    assert_eq!(v["error"]["code"], FORBIDDEN, "{v}");

    // Allowed by the rule `public-files`.
    let body = read(4, "file:///public/readme");
    let v = send(body.clone()).await;
    assert_eq!(
        v["result"]["contents"][0]["uri"], "file:///public/readme",
        "{v}"
    );
    forwarded.push(body);
    // Outside /public/: default deny.
    let v = send(read(5, "file:///private/keys")).await;
    assert_eq!(v["error"]["code"], FORBIDDEN, "{v}");
    assert_eq!(v["error"]["data"]["rule"], Value::Null, "{v}");
    // Allowed by `public-files`, denied by the deny rule `no-climbing`: it names the rule.
    let v = send(read(6, "file:///public/../private/keys")).await;
    assert_eq!(
        (&v["id"], &v["error"]["code"]),
        (&json!(6), &json!(FORBIDDEN))
    );
    assert_eq!(v["error"]["data"]["rule"], "no-climbing", "{v}");
    let message = v["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("no-climbing") && message.contains("may not leave their directory"),
        "{message}"
    );
    assert!(!message.contains("contains("), "no expression: {message}");

    assert_eq!(
        up.received(),
        forwarded,
        "the upstream received the allowed requests, byte for byte, and nothing else"
    );
    task.abort();
}

#[tokio::test]
async fn notifications_and_responses_reach_the_upstream_byte_for_byte() {
    let (url, up, task) = start(|l| l).await;
    // Spacing, key order, an escape and a number spelling that re-serialising would change.
    let notification = "{ \"method\" : \"notifications/cancelled\", \"jsonrpc\":\"2.0\",\n  \
                        \"params\": {\"requestId\": 7, \"reason\": \"caf\\u00e9\", \"n\": 1.0e2} }";
    let response = "{\"result\": {\"action\": \"accept\", \"content\": {\"n\": 10E-1}},  \
                    \"id\": \"srv-1\", \"jsonrpc\": \"2.0\"}";

    // Single messages: forwarded as sent; the upstream's 202 is relayed.
    for body in [notification, response] {
        let resp = post_text(&url, body).send().await.unwrap();
        assert_eq!(resp.status(), 202, "{body}");
        assert_eq!(
            resp.headers()
                .get("x-upstream")
                .map(|v| v.to_str().unwrap()),
            Some("accepted"),
            "the upstream's own answer"
        );
        assert_eq!(resp.text().await.unwrap(), "");
    }
    assert_eq!(up.received(), [notification, response]);

    // In a batch next to a request: each entry forwarded on its own, as written.
    let request = "{\"id\" : 3, \"jsonrpc\":\"2.0\", \"method\":\"prompts/get\", \
                   \"params\":{\"name\":\"greeting\"}}";
    let batch = format!("[ {notification} ,\n  {request}, {response}]");
    let resp = post_text(&url, &batch).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    let v: Value = resp.json().await.unwrap();
    assert_eq!(
        v,
        json!([{"jsonrpc": "2.0", "id": 3, "result": {"messages": [
            {"role": "user", "content": {"type": "text", "text": "prompt greeting"}}
        ]}}]),
        "only the request is answered"
    );
    assert_eq!(
        up.received()[2..],
        [notification, request, response],
        "each batch entry arrived byte for byte"
    );

    // A batch without requests: forwarded, and answered 202 by the layer itself.
    let resp = post_text(&url, &format!("[{notification}]"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 202);
    assert!(
        resp.headers().get("x-upstream").is_none(),
        "the layer's own 202"
    );
    assert_eq!(up.received()[5..], [notification]);
    task.abort();
}
