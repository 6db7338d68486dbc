//! Status codes of the HTTP front for bad requests.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use support::{Running, demo_stdio};

const ACCEPT: &str = "application/json, text/event-stream";

fn post(url: &str, body: impl Into<reqwest::Body>) -> reqwest::RequestBuilder {
    reqwest::Client::new()
        .post(url)
        .header("content-type", "application/json")
        .header("accept", ACCEPT)
        .body(body)
}

#[tokio::test]
async fn bad_requests_get_the_right_status_codes() {
    let yaml = format!(
        "max_body_bytes: 2048\nbackends:\n{}",
        demo_stdio("github", "github")
    );
    let gw = Running::start(&yaml).await;

    // Not JSON at all: 400 with a JSON-RPC parse error.
    let r = post(&gw.mcp, "{not json").send().await.unwrap();
    assert_eq!(r.status(), 400);
    let answer: serde_json::Value = r.json().await.unwrap();
    assert_eq!(answer["error"]["code"], -32700, "{answer}");
    assert_eq!(answer["id"], serde_json::Value::Null);

    // JSON, but not a JSON-RPC message: each is refused with a JSON-RPC error.
    for body in [
        r#"{"foo":1}"#,
        r#"{"jsonrpc":"2.0"}"#,
        r#"{"jsonrpc":"2.0","id":1,"method":5}"#,
        r#"{"jsonrpc":"1.0","id":1,"method":"initialize"}"#,
        "42",
    ] {
        let r = post(&gw.mcp, body).send().await.unwrap();
        assert_eq!(r.status(), 400, "{body}");
        let answer: serde_json::Value = r.json().await.unwrap();
        assert_eq!(answer["error"]["code"], -32600, "{body}: {answer}");
        assert!(
            answer["error"]["message"]
                .as_str()
                .unwrap()
                .starts_with("Invalid Request"),
            "{answer}"
        );
    }

    // Bigger than max_body_bytes.
    let big = format!(
        r#"{{"jsonrpc":"2.0","id":1,"method":"ping","params":{{"pad":"{}"}}}}"#,
        "x".repeat(4096)
    );
    let r = post(&gw.mcp, big).send().await.unwrap();
    assert_eq!(r.status(), 413);
    let answer: serde_json::Value = r.json().await.unwrap();
    assert_eq!(
        answer["error"]["message"], "request body larger than 2048 bytes",
        "{answer}"
    );

    // A session id the gateway never issued.
    let r = post(&gw.mcp, r#"{"jsonrpc":"2.0","id":2,"method":"tools/list"}"#)
        .header("mcp-session-id", "00000000-0000-0000-0000-000000000000")
        .header("mcp-protocol-version", "2025-06-18")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);

    // A browser page from another origin (DNS rebinding / CSRF).
    let init = r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}"#;
    let r = post(&gw.mcp, init)
        .header("origin", "https://evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);

    // The same initialize without Origin works.
    let r = post(&gw.mcp, init).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let sid = r.headers()["mcp-session-id"].to_str().unwrap().to_owned();

    // Ending the session: 204, and the session is gone.
    let delete = || {
        reqwest::Client::new()
            .delete(&gw.mcp)
            .header("mcp-session-id", &sid)
            .header("mcp-protocol-version", "2025-06-18")
            .send()
    };
    assert_eq!(delete().await.unwrap().status(), 204);
    let r = post(&gw.mcp, r#"{"jsonrpc":"2.0","id":3,"method":"tools/list"}"#)
        .header("mcp-session-id", &sid)
        .header("mcp-protocol-version", "2025-06-18")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404, "a deleted session is unknown");
    gw.stop().await;
}
