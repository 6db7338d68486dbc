//! Real peers from other SDKs (installed by `scripts/install-peers` into
//! `.tools/`): the reference `server-everything` (TypeScript SDK) behind the
//! gateway over stdio and over streamable HTTP, and the Python `mcp` SDK as a
//! client of the gateway. A missing peer fails with a message; never skipped.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::collections::BTreeSet;
use std::path::PathBuf;

use mcp_proxy::dev;
use rmcp::model::{CallToolRequestParams, GetPromptRequestParams, ReadResourceRequestParams};
use serde_json::json;
use support::{Running, args, everything, everything_http, installed_peer as peer};

fn everything_stdio(extra: &str) -> String {
    format!(
        "backends:\n  - name: everything\n    stdio:\n      command: \"{}\"\n      args: [stdio]\n{extra}",
        everything().display()
    )
}

#[tokio::test]
async fn server_everything_over_stdio_tools_prompts_resources() {
    let gw = Running::start(&everything_stdio("")).await;
    let client = gw.client().await;
    let tools: Vec<String> = client
        .list_all_tools()
        .await
        .unwrap()
        .iter()
        .map(|t| t.name.to_string())
        .collect();
    assert!(tools.contains(&"everything_echo".to_owned()), "{tools:?}");
    assert!(tools.iter().all(|t| t.starts_with("everything_")));
    let echo = client
        .call_tool(
            CallToolRequestParams::new("everything_echo")
                .with_arguments(args(json!({"message": "hi"}))),
        )
        .await
        .unwrap();
    assert!(format!("{:?}", echo.content).contains("hi"), "{echo:?}");
    let sum = client
        .call_tool(
            CallToolRequestParams::new("everything_get-sum")
                .with_arguments(args(json!({"a": 2, "b": 3}))),
        )
        .await
        .unwrap();
    assert!(format!("{:?}", sum.content).contains('5'), "{sum:?}");

    let prompts = client.list_all_prompts().await.unwrap();
    assert!(
        prompts.iter().any(|p| p.name == "everything_simple-prompt"),
        "{prompts:?}"
    );
    let prompt = client
        .get_prompt(GetPromptRequestParams::new("everything_simple-prompt"))
        .await
        .unwrap();
    assert!(!prompt.messages.is_empty());

    let resources = client.list_all_resources().await.unwrap();
    let first = resources
        .first()
        .expect("server-everything lists resources");
    assert!(first.name.starts_with("everything_"), "{first:?}");
    let read = client
        .read_resource(ReadResourceRequestParams::new(first.uri.clone()))
        .await
        .unwrap();
    assert!(!read.contents.is_empty());
    client.cancel().await.unwrap();
    gw.stop().await;
}

#[tokio::test]
async fn slow_call_times_out_with_a_clear_error_and_the_backend_stays_usable() {
    let gw = Running::start(&everything_stdio("    timeout: 300ms\n")).await;
    let client = gw.client().await;
    let err = client
        .call_tool(
            CallToolRequestParams::new("everything_trigger-long-running-operation")
                .with_arguments(args(json!({"duration": 5, "steps": 5}))),
        )
        .await
        .unwrap_err();
    match err {
        rmcp::ServiceError::McpError(e) => {
            assert_eq!(e.code.0, mcp_proxy::BACKEND_TIMEOUT, "{e:?}");
            assert!(e.message.contains("did not answer"), "{}", e.message);
        }
        other => panic!("{other:?}"),
    }
    let echo = client
        .call_tool(
            CallToolRequestParams::new("everything_echo")
                .with_arguments(args(json!({"message": "still here"}))),
        )
        .await
        .unwrap();
    assert!(format!("{:?}", echo.content).contains("still here"));
    client.cancel().await.unwrap();
    gw.stop().await;
}

#[tokio::test]
async fn server_everything_over_streamable_http() {
    let (_child, url) = everything_http().await;
    let yaml = format!("backends:\n  - name: remote\n    http:\n      url: {url}\n");
    let gw = Running::start(&yaml).await;
    assert_eq!(gw.gateway.backend_status()[0].state, "up");
    let client = gw.client().await;
    let echo = client
        .call_tool(
            CallToolRequestParams::new("remote_echo")
                .with_arguments(args(json!({"message": "over http"}))),
        )
        .await
        .unwrap();
    assert!(format!("{:?}", echo.content).contains("over http"));
    client.cancel().await.unwrap();
    gw.stop().await;
}

/// The issue's "small Python `mcp` SDK server" (`tests/peers/mcp_server.py`,
/// MCPServer over stdio) behind the gateway: the rmcp client and the Python
/// SDK client list its tools under `py_` and call them.
#[tokio::test]
async fn python_sdk_server_behind_the_gateway() {
    let python = peer("venv/bin/python");
    let server = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/peers/mcp_server.py");
    let yaml = format!(
        "backends:\n  - name: py\n    stdio:\n      command: \"{}\"\n      args: [\"{}\"]\n",
        python.display(),
        server.display()
    );
    let gw = Running::start(&yaml).await;
    assert_eq!(gw.gateway.backend_status()[0].state, "up");
    let client = gw.client().await;
    let tools: BTreeSet<String> = client
        .list_all_tools()
        .await
        .unwrap()
        .iter()
        .map(|t| t.name.to_string())
        .collect();
    for tool in ["py_echo", "py_add", "py_add_tool", "py_progress", "py_log"] {
        assert!(tools.contains(tool), "{tool} missing: {tools:?}");
    }
    let sum = client
        .call_tool(
            CallToolRequestParams::new("py_add").with_arguments(args(json!({"a": 2, "b": 40}))),
        )
        .await
        .unwrap();
    assert_eq!(
        sum.structured_content,
        Some(json!({"result": 42})),
        "{sum:?}"
    );
    let echo = client
        .call_tool(
            CallToolRequestParams::new("py_echo")
                .with_arguments(args(json!({"message": "from rmcp"}))),
        )
        .await
        .unwrap();
    assert_eq!(
        echo.content[0].as_text().map(|t| t.text.as_str()),
        Some("py echo: from rmcp")
    );
    client.cancel().await.unwrap();

    // Python on both sides of the gateway.
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/peers/mcp_client.py");
    let out = tokio::process::Command::new(&python)
        .arg(&script)
        .args([gw.mcp.as_str(), "-", "py_echo"])
        .arg(r#"{"message": "from python"}"#)
        .output()
        .await
        .unwrap();
    assert!(
        out.status.success(),
        "python client failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let seen: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        seen["tools"].as_array().unwrap().contains(&json!("py_add")),
        "{seen}"
    );
    assert_eq!(seen["is_error"], false, "{seen}");
    assert_eq!(seen["text"], json!(["py echo: from python"]), "{seen}");
    gw.stop().await;
}

#[tokio::test]
async fn python_sdk_client_lists_and_calls_through_the_gateway_with_a_sim_token() {
    let python = peer("venv/bin/python");
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/peers/mcp_client.py");
    let (sim, gw) = support::dev_world(None).await;
    let token = dev::fetch_token(sim.base_url(), "alice", "mcp:read mcp:write")
        .await
        .unwrap();
    let out = tokio::process::Command::new(&python)
        .arg(&script)
        .args([gw.mcp.as_str(), token.as_str(), "github_create_branch"])
        .arg(r#"{"repo": "acme/api", "branch": "py"}"#)
        .output()
        .await
        .unwrap();
    assert!(
        out.status.success(),
        "python client failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let seen: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let tools = seen["tools"].as_array().unwrap();
    assert!(tools.contains(&json!("github_push_to_branch")), "{seen}");
    assert!(
        !tools.contains(&json!("github_delete_branch")),
        "filtered for alice: {seen}"
    );
    assert_eq!(seen["is_error"], false);
    assert_eq!(seen["structured"]["ref"], "refs/heads/py");

    // Without a token the SDK gets the 401 and fails.
    let out = tokio::process::Command::new(&python)
        .arg(&script)
        .args([gw.mcp.as_str(), "-", "github_list_repositories", "{}"])
        .output()
        .await
        .unwrap();
    assert!(!out.status.success());
    gw.stop().await;
    sim.shutdown().await;
}

/// Issue 8's sign-in with a real client: the Python SDK's `OAuthClientProvider`
/// against `--dev` (okta-sim + gateway) discovers everything from the 401,
/// registers itself (RFC 7591), signs bob in with authorization code + PKCE and
/// the gateway as RFC 8707 resource, asking for the hinted `mcp:read`; lists and
/// reads; then steps up to `mcp:read mcp:write` on its own after the gateway's
/// `403 insufficient_scope` and creates a branch.
#[tokio::test]
async fn python_sdk_oauth_client_signs_in_to_dev_mode_and_steps_up() {
    let python = peer("venv/bin/python");
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/peers/oauth_client.py");
    let (sim, gw) = support::dev_world(None).await;
    let out = tokio::process::Command::new(&python)
        .arg(&script)
        .args([
            gw.mcp.as_str(),
            "bob",
            "github_list_repositories",
            "github_create_branch",
        ])
        .arg(r#"{"repo": "acme/api", "branch": "signed-in"}"#)
        .output()
        .await
        .unwrap();
    assert!(
        out.status.success(),
        "python OAuth client failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let seen: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let authorizations = seen["authorizations"].as_array().unwrap();
    assert_eq!(authorizations.len(), 2, "sign-in, then one step-up: {seen}");
    // The SDK adds offline_access (the AS offers it and the client refreshes).
    let scopes = |v: &serde_json::Value| -> BTreeSet<String> {
        v.as_str().unwrap().split(' ').map(str::to_owned).collect()
    };
    let set = |s: &[&str]| -> BTreeSet<String> { s.iter().map(|s| (*s).to_owned()).collect() };
    assert_eq!(
        scopes(&authorizations[0]["scope"]),
        set(&["mcp:read", "offline_access"]),
        "the 401's scope hint: {seen}"
    );
    assert_eq!(
        scopes(&authorizations[1]["scope"]),
        set(&["mcp:read", "mcp:write", "offline_access"]),
        "the 403's scope, with what was held: {seen}"
    );
    for a in authorizations {
        assert_eq!(a["resource"], gw.mcp.as_str());
        assert_eq!(a["code_challenge_method"], "S256");
    }
    assert_eq!(
        scopes(&seen["final_scope"]),
        set(&["mcp:read", "mcp:write", "offline_access"])
    );
    assert!(seen["client_id"].as_str().is_some_and(|id| !id.is_empty()));
    // bob (Junior Engineers) sees his group's tools, the write one included.
    let tools = seen["tools"].as_array().unwrap();
    assert!(tools.contains(&json!("github_create_branch")), "{seen}");
    assert!(!tools.contains(&json!("github_push_to_branch")), "{seen}");
    assert_eq!(seen["read_is_error"], false);
    assert_eq!(seen["write_is_error"], false, "{seen}");
    // Registration, two sign-ins and two code redemptions reached okta-sim.
    assert_eq!(sim.request_count("/oauth2/v1/clients"), 1);
    assert_eq!(sim.request_count("/oauth2/default/v1/authorize"), 2);
    assert_eq!(sim.request_count("/oauth2/default/v1/token"), 2);
    gw.stop().await;
    sim.shutdown().await;
}
