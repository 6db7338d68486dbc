//! The layer in front of a real rmcp streamable-HTTP server over 127.0.0.1.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use mcp_authz::UnknownMethods;
use mcp_authz::layer::{FORBIDDEN, INVALID_PARAMS, INVALID_REQUEST, PARSE_ERROR, UNAUTHENTICATED};
use serde_json::{Value, json};
use support::{RESOURCE_METADATA, SEED004_SCOPES, call, claims, list, messages, start, tool_names};

#[tokio::test]
async fn lists_are_filtered_in_json_and_sse_mode() {
    for json_mode in [true, false] {
        let h = start(json_mode, SEED004_SCOPES, |l| l).await;
        let (ct, msgs) = messages(h.post(Some(&claims(&["mcp:read"])), &list(1)).await).await;
        let expected_ct = if json_mode {
            "application/json"
        } else {
            "text/event-stream"
        };
        assert!(ct.starts_with(expected_ct), "{ct}");
        let reply = msgs.iter().find(|m| m["id"] == 1).unwrap();
        assert_eq!(
            tool_names(reply),
            ["get_issue", "list_channels"],
            "json={json_mode}"
        );

        let (_, msgs) = messages(
            h.post(Some(&claims(&["mcp:read", "mcp:write"])), &list(2))
                .await,
        )
        .await;
        let reply = msgs.iter().find(|m| m["id"] == 2).unwrap();
        assert_eq!(
            tool_names(reply),
            ["get_issue", "list_channels", "post_message"]
        );
        assert_eq!(h.calls(), 0);
    }
}

#[tokio::test]
async fn allowed_calls_reach_the_server_denied_ones_never_do() {
    for json_mode in [true, false] {
        let h = start(json_mode, SEED004_SCOPES, |l| l).await;
        let write = claims(&["mcp:read", "mcp:write"]);

        let (_, msgs) = messages(h.post(Some(&write), &call(1, "list_channels")).await).await;
        assert_eq!(msgs[0]["result"]["content"][0]["text"], "general, random");
        assert_eq!(h.calls(), 1);

        // Deny rule: a JSON-RPC error naming the rule, HTTP 200.
        let resp = h.post(Some(&write), &call(2, "delete_channel")).await;
        assert_eq!(resp.status(), 200);
        let (_, msgs) = messages(resp).await;
        assert_eq!(msgs[0]["id"], 2);
        assert_eq!(msgs[0]["error"]["code"], FORBIDDEN);
        let message = msgs[0]["error"]["message"].as_str().unwrap();
        assert!(
            message.contains("no-destructive") && message.contains("always blocked"),
            "{message}"
        );
        assert!(
            !message.contains("contains("),
            "no expression in the message"
        );
        assert_eq!(msgs[0]["error"]["data"]["rule"], "no-destructive");

        // Missing scope: 403 step-up challenge.
        let resp = h
            .post(Some(&claims(&["mcp:read"])), &call(3, "post_message"))
            .await;
        assert_eq!(resp.status(), 403);
        let www = resp.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .to_owned();
        assert_eq!(
            www,
            format!(
                r#"Bearer error="insufficient_scope", scope="mcp:write", resource_metadata="{RESOURCE_METADATA}""#
            )
        );
        let (_, msgs) = messages(resp).await;
        assert_eq!(msgs[0]["error"]["data"]["scope"], "mcp:write");

        // Not covered by anything: default deny.
        let (_, msgs) = messages(h.post(Some(&write), &call(4, "search_code")).await).await;
        assert_eq!(msgs[0]["error"]["code"], FORBIDDEN);

        assert_eq!(h.calls(), 1, "denied calls never reached the server");
        assert_eq!(
            h.upstream(),
            1,
            "no HTTP request but the allowed one reached rmcp"
        );
        let events = h.events.lock().unwrap().clone();
        let summary: Vec<(&str, bool)> = events.iter().map(|(n, a, _)| (n.as_str(), *a)).collect();
        assert_eq!(
            summary,
            [
                ("list_channels", true),
                ("delete_channel", false),
                ("post_message", false),
                ("search_code", false)
            ]
        );
    }
}

#[tokio::test]
async fn no_identity_is_refused_before_anything_else() {
    let h = start(true, SEED004_SCOPES, |l| l).await;
    for body in [call(1, "list_channels"), list(2), "not json".to_owned()] {
        let resp = h.post(None, &body).await;
        assert_eq!(resp.status(), 401);
        let www = resp.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .to_owned();
        assert_eq!(
            www,
            format!(r#"Bearer resource_metadata="{RESOURCE_METADATA}""#)
        );
        let (_, msgs) = messages(resp).await;
        assert_eq!(msgs[0]["error"]["code"], UNAUTHENTICATED);
    }
    let get = h.client.get(&h.url).send().await.unwrap();
    assert_eq!(get.status(), 401);
    assert_eq!(h.calls(), 0);
}

#[tokio::test]
async fn batches_with_mixed_outcomes_are_split_judged_and_merged() {
    for json_mode in [true, false] {
        let h = start(json_mode, SEED004_SCOPES, |l| l).await;
        let write = claims(&["mcp:read", "mcp:write"]);
        let batch = format!(
            "[{}, {}, {}, {}, {}]",
            call(1, "list_channels"),
            call(2, "delete_channel"),
            list(3),
            r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#,
            r#"{"jsonrpc":"2.0","id":5}"#,
        );
        let resp = h.post(Some(&write), &batch).await;
        assert_eq!(resp.status(), 200);
        let (ct, msgs) = messages(resp).await;
        assert!(ct.starts_with("application/json"));
        let ids: Vec<&Value> = msgs.iter().map(|m| &m["id"]).collect();
        assert_eq!(
            ids,
            [&json!(1), &json!(2), &json!(3), &json!(5)],
            "{msgs:?}"
        );
        assert_eq!(msgs[0]["result"]["content"][0]["text"], "general, random");
        assert_eq!(msgs[1]["error"]["code"], FORBIDDEN);
        assert_eq!(
            tool_names(&msgs[2]),
            ["get_issue", "list_channels", "post_message"]
        );
        assert_eq!(msgs[3]["error"]["code"], INVALID_REQUEST);
        assert_eq!(h.calls(), 1, "only the allowed call ran");

        // One entry needs a step-up: the whole batch is refused, nothing runs.
        let read = claims(&["mcp:read"]);
        let batch = format!(
            "[{}, {}, {}]",
            call(6, "list_channels"),
            call(7, "post_message"),
            call(8, "create_x")
        );
        let resp = h.post(Some(&read), &batch).await;
        assert_eq!(resp.status(), 403);
        let www = resp.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(www.contains(r#"scope="mcp:write""#), "{www}");
        assert_eq!(h.calls(), 1);

        // Notifications only: 202.
        let resp = h
            .post(
                Some(&write),
                r#"[{"jsonrpc":"2.0","method":"notifications/initialized"}]"#,
            )
            .await;
        assert_eq!(resp.status(), 202);
        let resp = h.post(Some(&write), "[]").await;
        assert_eq!(resp.status(), 400);
    }
}

/// Sends `body` and checks that the layer answered it itself: the status,
/// the JSON-RPC code, the start of the layer's own message, and that no HTTP
/// request got past the layer to rmcp.
async fn refused(
    h: &support::Harness,
    claims: &str,
    body: &str,
    status: u16,
    code: i64,
    message: &str,
) -> Value {
    let before = h.upstream();
    let resp = h.post(Some(claims), body).await;
    let got = resp.status().as_u16();
    let (_, msgs) = messages(resp).await;
    let m = msgs.into_iter().next().unwrap_or(Value::Null);
    let shown = &body[..body.len().min(80)];
    assert_eq!(got, status, "{shown}: {m}");
    assert_eq!(m["error"]["code"], code, "{shown}: {m}");
    let text = m["error"]["message"].as_str().unwrap_or_default();
    assert!(
        text.starts_with(message),
        "{shown}: the layer's message starts with {message:?}: {m}"
    );
    assert_eq!(h.upstream(), before, "{shown} reached rmcp");
    m
}

#[tokio::test]
async fn bad_input_is_answered_by_the_layer() {
    let h = start(true, SEED004_SCOPES, |l| l.max_body_bytes(64 * 1024)).await;
    let id = claims(&["mcp:read", "mcp:write"]);
    let m = refused(&h, &id, "{not json", 400, PARSE_ERROR, "parse error: ").await;
    assert_eq!(m["id"], Value::Null);
    let m = refused(
        &h,
        &id,
        r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"list_channels","name":"delete_channel"}}"#,
        400,
        PARSE_ERROR,
        "parse error: duplicate key 'name'",
    )
    .await;
    assert_eq!(
        m["id"],
        Value::Null,
        "no id from a body that does not parse"
    );
    let m = refused(
        &h,
        &id,
        r#"{"jsonrpc":"2.0","id":1}"#,
        400,
        INVALID_REQUEST,
        "a request needs a `method`",
    )
    .await;
    assert_eq!(m["id"], 1);
    refused(
        &h,
        &id,
        r#"{"jsonrpc":"2.0","id":1,"method":7}"#,
        400,
        INVALID_REQUEST,
        "`method` must be a string",
    )
    .await;
    refused(
        &h,
        &id,
        r#""tools/call""#,
        400,
        INVALID_REQUEST,
        "a JSON-RPC message must be an object",
    )
    .await;
    for (params, message) in [
        (json!([1, 2]), "invalid params: `params` must be an object"),
        (
            json!({"name": 5}),
            "invalid params: `params.name` must be a string",
        ),
        (json!({}), "invalid params: `params.name` is required"),
        (
            json!({"name": "list_channels", "arguments": "x"}),
            "invalid params: `params.arguments` must be an object",
        ),
    ] {
        let body = json!({"jsonrpc": "2.0", "id": 9, "method": "tools/call", "params": params})
            .to_string();
        let m = refused(&h, &id, &body, 200, INVALID_PARAMS, message).await;
        assert_eq!(m["id"], 9, "{body}");
    }
    let body = json!({"jsonrpc": "2.0", "id": 9, "method": "resources/read", "params": {"uri": 1}})
        .to_string();
    refused(
        &h,
        &id,
        &body,
        200,
        INVALID_PARAMS,
        "invalid params: `params.uri` must be a string",
    )
    .await;

    // Odd tool names are judged like any other, and none reaches the server.
    let long = format!("delete_{}", "x".repeat(50_000));
    for (name, rule) in [
        ("../../etc/passwd", None),
        ("list_chann\u{0435}ls_delete", Some("no-destructive")),
        ("delete_channel\u{0000}", Some("no-destructive")),
        ("\u{202e}get_eteled", None),
        (long.as_str(), Some("no-destructive")),
    ] {
        let m = refused(&h, &id, &call(10, name), 200, FORBIDDEN, "forbidden: ").await;
        assert_eq!(
            m["error"]["data"]["rule"].as_str(),
            rule,
            "{}",
            &name[..name.len().min(30)]
        );
    }
    assert_eq!(h.upstream(), 0, "nothing got past the layer so far");
    // Allowed by `get_*`: forwarded as sent; rmcp does not know the tool and
    // answers with its own invalid-params error, not the layer's.
    let resp = h.post(Some(&id), &call(12, "get_\u{202e}x")).await;
    assert_eq!(resp.status(), 200);
    let (_, msgs) = messages(resp).await;
    assert_eq!(msgs[0]["error"]["code"], INVALID_PARAMS, "{msgs:?}");
    let text = msgs[0]["error"]["message"].as_str().unwrap();
    assert!(
        !text.starts_with("invalid params:"),
        "rmcp's message: {text}"
    );
    assert_eq!(h.upstream(), 1, "the allowed call reached rmcp");
    // Mcp-Method / Mcp-Name headers that contradict the body.
    for (name, value, message) in [
        (
            "mcp-method",
            "tools/list",
            "the Mcp-Method header does not match the body's method",
        ),
        (
            "mcp-name",
            "list_channels",
            "the Mcp-Name header does not match the body's name",
        ),
    ] {
        let resp = h
            .client
            .post(&h.url)
            .header("content-type", "application/json")
            .header("accept", "application/json, text/event-stream")
            .header("x-test-claims", &id)
            .header(name, value)
            .body(call(13, "delete_channel"))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 400, "{name}");
        let (_, msgs) = messages(resp).await;
        assert_eq!(msgs[0]["error"]["code"], INVALID_REQUEST, "{name}");
        assert_eq!(msgs[0]["error"]["message"], message, "{name}");
        assert_eq!(h.upstream(), 1, "{name} reached rmcp");
    }
    // Over the limit: 413.
    let huge = call(11, &"a".repeat(70 * 1024));
    let m = refused(
        &h,
        &id,
        &huge,
        413,
        INVALID_REQUEST,
        "request body exceeds 65536 bytes",
    )
    .await;
    assert_eq!(m["id"], Value::Null);
    assert_eq!(h.upstream(), 1);
    assert_eq!(h.calls(), 0);
}

#[tokio::test]
async fn unknown_methods_pass_or_are_denied_as_configured() {
    let body = r#"{"jsonrpc":"2.0","id":1,"method":"vendor/secret","params":{}}"#;
    let h = start(true, SEED004_SCOPES, |l| l).await;
    let (_, msgs) = messages(h.post(Some(&claims(&[])), body).await).await;
    assert_eq!(
        msgs[0]["error"]["code"], -32601,
        "forwarded: rmcp says method not found"
    );
    let ping = r#"{"jsonrpc":"2.0","id":2,"method":"ping"}"#;
    let (_, msgs) = messages(h.post(Some(&claims(&[])), ping).await).await;
    assert!(msgs[0]["result"].is_object(), "{msgs:?}");

    let h = start(true, SEED004_SCOPES, |l| {
        l.unknown_methods(UnknownMethods::Deny)
    })
    .await;
    let (_, msgs) = messages(h.post(Some(&claims(&[])), body).await).await;
    assert_eq!(msgs[0]["error"]["code"], FORBIDDEN);
    assert!(
        msgs[0]["error"]["message"]
            .as_str()
            .unwrap()
            .contains("vendor/secret")
    );
    let (_, msgs) = messages(h.post(Some(&claims(&[])), ping).await).await;
    assert!(
        msgs[0]["result"].is_object(),
        "known methods still pass: {msgs:?}"
    );
}

#[tokio::test]
async fn rules_can_govern_other_methods() {
    let policy = r#"
default: allow
rules:
  - name: no-listing-for-guests
    deny: "'guest' in claims.scp"
    methods: ["tools/list"]
"#;
    let h = start(true, policy, |l| l).await;
    let (_, msgs) = messages(h.post(Some(&claims(&["guest"])), &list(1)).await).await;
    assert_eq!(msgs[0]["error"]["code"], FORBIDDEN);
    let (_, msgs) = messages(h.post(Some(&claims(&["member"])), &list(2)).await).await;
    assert_eq!(
        tool_names(&msgs[0]).len(),
        4,
        "default allow: everything listed"
    );
}
