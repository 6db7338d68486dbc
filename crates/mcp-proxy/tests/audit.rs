//! The audit trail: one JSON line per routed request (step-up `403`s
//! included), redacted, filterable by user and time.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use mcp_proxy::dev;
use rmcp::model::CallToolRequestParams;
use serde_json::{Value, json};
use support::{EXE, Running, args, raw_post, raw_session};

#[tokio::test]
async fn audit_lines_are_written_redacted_and_filterable() {
    let dir = std::env::temp_dir().join(format!("mcp-proxy-audit-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("audit.jsonl");
    let yaml = format!(
        "audit:\n  file: \"{}\"\n  redact_keys: [message]\npolicy:\n  groups:\n    Senior Engineers:\n      allow: [\"github:*\"]\nbackends:\n{}",
        file.display(),
        support::demo_stdio("github", "github")
    );
    let sim = dev::start_idp("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let config = mcp_proxy::config::GatewayConfig::from_yaml_str(&yaml, "audit.yaml").unwrap();
    let config = dev::gateway_config(&sim, addr, EXE.as_ref(), Some(config)).unwrap();
    let gw = Running::start_on(listener, config).await;

    let alice = gw
        .client_with_token(
            &dev::fetch_token(sim.base_url(), "alice", "mcp:read")
                .await
                .unwrap(),
        )
        .await;
    let secret_push = json!({"repo": "acme/web", "branch": "f", "message": "token eyJhbGciOi.eyJzdWIiOi.c2ln here"});
    alice
        .call_tool(
            CallToolRequestParams::new("github_push_to_branch").with_arguments(args(secret_push)),
        )
        .await
        .unwrap();
    let bob = gw
        .client_with_token(
            &dev::fetch_token(sim.base_url(), "bob", "mcp:read")
                .await
                .unwrap(),
        )
        .await;
    let denied = bob
        .call_tool(CallToolRequestParams::new("github_list_repositories"))
        .await
        .unwrap_err();
    assert!(denied.to_string().contains("not allowed"), "{denied}");

    // The writer is asynchronous: wait (bounded) for both lines.
    let mut lines = Vec::new();
    for _ in 0..100 {
        lines = std::fs::read_to_string(&file)
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str::<Value>(l).unwrap())
            .collect::<Vec<_>>();
        if lines.len() >= 2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(lines.len(), 2, "{lines:?}");
    let ok = &lines[0];
    assert_eq!(ok["sub"], "alice");
    assert_eq!(ok["backend"], "github");
    assert_eq!(ok["tool"], "push_to_branch");
    assert_eq!(ok["exposed"], "github_push_to_branch");
    assert_eq!(ok["decision"], "allow");
    assert_eq!(ok["rule"], "group:Senior Engineers");
    assert_eq!(ok["outcome"], "ok");
    assert_eq!(ok["cid"], "dev-agent");
    assert_eq!(ok["groups"], json!(["Senior Engineers", "Everyone"]));
    assert!(ok["uid"].as_str().unwrap().starts_with("00u"));
    assert!(ok["session"].as_str().is_some());
    assert!(ok["latency_ms"].as_f64().unwrap() >= 0.0);
    assert_eq!(ok["arguments"]["message"], "[REDACTED]", "configured key");
    assert_eq!(ok["arguments"]["branch"], "f");
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(
        !text.contains("eyJhbGciOi"),
        "no token-looking text in the log"
    );

    let denied = &lines[1];
    assert_eq!(denied["sub"], "bob");
    assert_eq!(denied["decision"], "deny");
    assert_eq!(denied["outcome"], "denied");

    // `mcp-proxy audit --user alice` over the same file.
    let out = std::process::Command::new(EXE)
        .args(["audit", "--user", "alice", "--since", "1h", "--file"])
        .arg(&file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let printed = String::from_utf8(out.stdout).unwrap();
    assert_eq!(printed.lines().count(), 1, "{printed}");
    assert!(printed.contains("\"sub\":\"alice\""));
    let future =
        mcp_proxy::audit::filter_file(&file, "alice", Some("2999-01-01T00:00:00.000Z")).unwrap();
    assert!(future.is_empty());

    alice.cancel().await.unwrap();
    bob.cancel().await.unwrap();
    gw.stop().await;
    sim.shutdown().await;
    let _ = std::fs::remove_dir_all(&dir);
}

/// Waits (bounded) until the audit file has `n` lines.
async fn audit_lines(file: &std::path::Path, n: usize) -> Vec<Value> {
    let mut lines = Vec::new();
    for _ in 0..100 {
        lines = std::fs::read_to_string(file)
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str::<Value>(l).unwrap())
            .collect::<Vec<_>>();
        if lines.len() >= n {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    lines
}

/// A step-up `403 insufficient_scope`, answered before the MCP session, is
/// audited like a denial inside it: decision `deny`, the missing scope as
/// rule, outcome `denied`.
#[tokio::test]
async fn step_up_403_is_audited_as_a_denial() {
    let dir = std::env::temp_dir().join(format!("mcp-proxy-audit-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("audit.jsonl");
    let yaml = format!(
        "audit:\n  file: \"{}\"\npolicy:\n  scopes:\n    mcp:read: [\"github:list_*\"]\n    mcp:write: [\"github:create_*\"]\nbackends:\n{}",
        file.display(),
        support::demo_stdio("github", "github")
    );
    let sim = dev::start_idp("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let config = mcp_proxy::config::GatewayConfig::from_yaml_str(&yaml, "audit.yaml").unwrap();
    let config = dev::gateway_config(&sim, addr, EXE.as_ref(), Some(config)).unwrap();
    let gw = Running::start_on(listener, config).await;
    let token = dev::fetch_token(sim.base_url(), "bob", "mcp:read")
        .await
        .unwrap();

    let sid = raw_session(&gw, &token).await;
    let r = raw_post(
        &gw,
        &token,
        Some(&sid),
        r#"{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"github_create_branch","arguments":{"repo":"acme/web","branch":"b","token":"s3cret"}}}"#,
    )
    .await;
    assert_eq!(r.status(), 403);

    let lines = audit_lines(&file, 1).await;
    assert_eq!(lines.len(), 1, "{lines:?}");
    let line = &lines[0];
    assert_eq!(line["sub"], "bob");
    assert_eq!(line["request_id"], 7);
    assert_eq!(line["session"], sid.as_str());
    assert_eq!(line["method"], "tools/call");
    assert_eq!(line["backend"], "github");
    assert_eq!(line["tool"], "create_branch");
    assert_eq!(line["exposed"], "github_create_branch");
    assert_eq!(line["decision"], "deny");
    assert_eq!(line["rule"], "scope:mcp:write");
    assert_eq!(line["outcome"], "denied");
    assert_eq!(line["cid"], "dev-agent");
    assert_eq!(
        line["arguments"],
        json!({"repo": "acme/web", "branch": "b", "token": "[REDACTED]"})
    );
    assert!(line["latency_ms"].as_f64().unwrap() >= 0.0);

    gw.stop().await;
    sim.shutdown().await;
    let _ = std::fs::remove_dir_all(&dir);
}

/// `--since` compares instants: a bound at a whole second keeps the lines
/// written later in that second, and offsets mean what they say.
#[test]
fn since_compares_times_as_instants_not_as_text() {
    let dir = std::env::temp_dir().join(format!("mcp-proxy-since-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("audit.jsonl");
    let line = |ts: &str| format!(r#"{{"sub":"alice","ts":"{ts}"}}"#);
    let text = [
        line("2026-11-25T07:59:59.999Z"),  // before
        line("2026-11-25T08:00:00.000Z"),  // at the bound
        line("2026-11-25T08:00:00.250Z"),  // same second, later
        line("2026-11-25T09:30:00+02:00"), // 07:30Z: before
        line("2026-11-25T08:30:00+02:00"), // 06:30Z: before, though it sorts after as text
        line("2026-11-25T03:00:01-05:00"), // 08:00:01Z: after, though it sorts before as text
        line("not a time"),
        r#"{"sub":"alice"}"#.to_owned(),
        r#"{"sub":"bob","ts":"2026-11-25T09:00:00.000Z"}"#.to_owned(),
    ]
    .join("\n");
    std::fs::write(&file, text).unwrap();
    let expected = [
        line("2026-11-25T08:00:00.000Z"),
        line("2026-11-25T08:00:00.250Z"),
        line("2026-11-25T03:00:01-05:00"),
    ];
    for since in [
        "2026-11-25T08:00:00Z",
        "2026-11-25T10:00:00+02:00",
        "2026-11-25T08:00:00.000Z",
    ] {
        let kept = mcp_proxy::audit::filter_file(&file, "alice", Some(since)).unwrap();
        assert_eq!(kept, expected, "--since {since}");
    }
    assert_eq!(
        mcp_proxy::audit::filter_file(&file, "alice", None)
            .unwrap()
            .len(),
        8,
        "without --since every line of alice, with or without ts"
    );

    let out = std::process::Command::new(EXE)
        .args([
            "audit",
            "--user",
            "alice",
            "--since",
            "2026-11-25T08:00:00Z",
            "--file",
        ])
        .arg(&file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        format!("{}\n", expected.join("\n"))
    );

    let out = std::process::Command::new(EXE)
        .args([
            "audit",
            "--user",
            "alice",
            "--since",
            "2026-11-25T08:00",
            "--file",
        ])
        .arg(&file)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert_eq!(
        String::from_utf8(out.stderr).unwrap(),
        "mcp-proxy: <command line>: --since: `2026-11-25T08:00` is not an RFC 3339 time like 2026-11-25T08:00:00Z (`:` after the minutes)\n"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
