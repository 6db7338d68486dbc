//! End-to-end behaviour of the gateway with real child-process backends (the
//! demo servers of the mcp-proxy binary) and the rmcp client over HTTP.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use mcp_proxy::{BACKEND_UNAVAILABLE, ProxyError};
use rmcp::model::CallToolRequestParams;
use serde_json::json;
use support::{Running, args, demo_stdio};

fn two_backends() -> String {
    format!(
        "backends:\n{}{}",
        demo_stdio("github", "github"),
        demo_stdio("jira", "jira")
    )
}

#[tokio::test]
async fn aggregates_and_routes_by_original_name() {
    let gw = Running::start(&two_backends()).await;
    let client = gw.client().await;
    let tools = client.list_all_tools().await.unwrap();
    let names: Vec<String> = tools.iter().map(|t| t.name.to_string()).collect();
    assert_eq!(names.len(), 13, "{names:?}");
    assert!(names.contains(&"github_push_to_branch".to_owned()));
    assert!(names.contains(&"jira_create_issue".to_owned()));
    assert!(!names.iter().any(|n| n == "push_to_branch"));

    let result = client
        .call_tool(
            CallToolRequestParams::new("github_create_branch")
                .with_arguments(args(json!({"repo": "acme/web", "branch": "feat-x"}))),
        )
        .await
        .unwrap();
    assert_eq!(result.is_error, Some(false));
    let out = result.structured_content.unwrap();
    assert_eq!(out["ref"], "refs/heads/feat-x");

    // A tool error of the backend stays a tool error (not a protocol error).
    let result = client
        .call_tool(
            CallToolRequestParams::new("jira_update_issue_status")
                .with_arguments(args(json!({"key": "OPS-1", "status": "Closed"}))),
        )
        .await
        .unwrap();
    assert_eq!(result.is_error, Some(true));

    let err = client
        .call_tool(CallToolRequestParams::new("gitlab_anything"))
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("unknown tool `gitlab_anything`"),
        "{err}"
    );
    client.cancel().await.unwrap();
    gw.stop().await;
}

#[tokio::test]
async fn killed_backend_vanishes_others_keep_working_and_it_returns() {
    // jira restarts only after a long backoff, so its "down" phase is observable.
    let yaml = format!(
        "backends:\n{}{}    backoff_initial: 1s\n",
        demo_stdio("github", "github"),
        demo_stdio("jira", "jira").replace("    backoff_initial: 50ms\n", "")
    );
    let gw = Running::start(&yaml).await;
    let client = gw.client().await;
    let jira_pid = gw.gateway.backend_status()[1].pid.unwrap();
    let killed = std::process::Command::new("kill")
        .args(["-9", &jira_pid.to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    gw.wait_for("jira down", |s| s[1].state == "down").await;

    let names: Vec<String> = client
        .list_all_tools()
        .await
        .unwrap()
        .iter()
        .map(|t| t.name.to_string())
        .collect();
    assert!(names.iter().all(|n| n.starts_with("github_")), "{names:?}");
    let err = client
        .call_tool(
            CallToolRequestParams::new("jira_get_issue")
                .with_arguments(args(json!({"key": "OPS-1"}))),
        )
        .await
        .unwrap_err();
    match err {
        rmcp::ServiceError::McpError(e) => {
            assert_eq!(e.code.0, BACKEND_UNAVAILABLE);
            assert!(e.message.contains("backend `jira`"), "{}", e.message);
        }
        other => panic!("unexpected {other:?}"),
    }
    let ok = client
        .call_tool(CallToolRequestParams::new("github_list_repositories"))
        .await
        .unwrap();
    assert_eq!(ok.is_error, Some(false));

    gw.wait_for("jira back", |s| s[1].state == "up" && s[1].restarts == 1)
        .await;
    let result = client
        .call_tool(
            CallToolRequestParams::new("jira_get_issue")
                .with_arguments(args(json!({"key": "OPS-1"}))),
        )
        .await
        .unwrap();
    assert_eq!(result.structured_content.unwrap()["key"], "OPS-1");
    client.cancel().await.unwrap();
    gw.stop().await;
}

#[tokio::test]
async fn name_collision_is_a_startup_error_naming_both() {
    let yaml = format!(
        "backends:\n{}    prefix: gh\n{}    prefix: gh\n",
        demo_stdio("one", "github"),
        demo_stdio("two", "github")
    );
    let config = mcp_proxy::config::GatewayConfig::from_yaml_str(&yaml, "c.yaml").unwrap();
    let err = mcp_proxy::Gateway::start(config).await.unwrap_err();
    assert!(matches!(err, ProxyError::NameCollision(_)), "{err}");
    let text = err.to_string();
    assert!(text.contains("`gh_list_repositories`"), "{text}");
    assert!(
        text.contains("backend `one`") && text.contains("backend `two`"),
        "{text}"
    );
}

#[tokio::test]
async fn a_backend_that_cannot_start_does_not_block_the_others() {
    let yaml = format!(
        "backends:\n{}  - name: broken\n    stdio:\n      command: /nonexistent/mcp-server\n",
        demo_stdio("github", "github")
    );
    let gw = Running::start(&yaml).await;
    let status = gw.gateway.backend_status();
    assert_eq!(status[0].state, "up");
    assert_eq!(status[1].state, "down");
    assert!(
        status[1]
            .reason
            .as_deref()
            .unwrap()
            .contains("cannot start"),
        "{status:?}"
    );
    let ready = reqwest::get(format!("{}/readyz", gw.base)).await.unwrap();
    assert_eq!(ready.status(), 200);
    let health = reqwest::get(format!("{}/healthz", gw.base)).await.unwrap();
    assert_eq!(health.status(), 200);
    gw.stop().await;
}

/// `/readyz` is `503` until the gateway can serve: no backend up, or (with
/// auth) no signing keys from the identity provider; `/healthz` stays `200`.
#[tokio::test]
async fn readyz_is_503_without_a_live_backend_or_without_keys() {
    let yaml = "backends:\n  - name: broken\n    stdio:\n      command: /nonexistent/mcp-server\n";
    let gw = Running::start(yaml).await;
    let ready = reqwest::get(format!("{}/readyz", gw.base)).await.unwrap();
    assert_eq!(ready.status(), 503);
    let body: serde_json::Value = ready.json().await.unwrap();
    assert_eq!(body["ready"], false);
    assert_eq!(body["backends"][0]["state"], "down");
    let health = reqwest::get(format!("{}/healthz", gw.base)).await.unwrap();
    assert_eq!(health.status(), 200);
    gw.stop().await;

    // A live backend, but the JWKS endpoint refuses connections.
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let dead = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let yaml = format!(
        "auth:\n  issuer: {dead}/oauth2/default\n  audiences: [api://default]\n  jwks_uri: {dead}/oauth2/default/v1/keys\nbackends:\n{}",
        demo_stdio("github", "github")
    );
    let gw = Running::start(&yaml).await;
    gw.wait_for("the backend", |s| s[0].state == "up").await;
    let ready = reqwest::get(format!("{}/readyz", gw.base)).await.unwrap();
    assert_eq!(ready.status(), 503);
    let body: serde_json::Value = ready.json().await.unwrap();
    assert_eq!(body["jwks"], "unavailable", "{body}");
    gw.stop().await;
}
