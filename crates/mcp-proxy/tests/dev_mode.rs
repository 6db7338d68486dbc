//! Seed 001's matrix end to end: dev identity provider (okta-sim), password
//! grant tokens for the dev users, the gateway with okta-auth + mcp-authz in
//! front of the four demo servers (real child processes), the rmcp client.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::collections::BTreeSet;

use mcp_proxy::dev;
use rmcp::model::CallToolRequestParams;
use rmcp::service::{RoleClient, RunningService};
use serde_json::json;
use support::{EXE, Running, args, raw_call};

async fn session(
    sim: &okta_sim::OktaSim,
    gw: &Running,
    user: &str,
) -> RunningService<RoleClient, ()> {
    let token = dev::fetch_token(sim.base_url(), user, "mcp:read mcp:write")
        .await
        .unwrap();
    gw.client_with_token(&token).await
}

async fn tools(client: &RunningService<RoleClient, ()>) -> BTreeSet<String> {
    client
        .list_all_tools()
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.name.to_string())
        .collect()
}

/// Ok(true) allowed and succeeded, Ok(false) denied by policy.
async fn call(
    client: &RunningService<RoleClient, ()>,
    tool: &str,
    arguments: serde_json::Value,
) -> bool {
    match client
        .call_tool(CallToolRequestParams::new(tool.to_owned()).with_arguments(args(arguments)))
        .await
    {
        Ok(result) => {
            assert_eq!(result.is_error, Some(false), "{tool}: {result:?}");
            true
        }
        Err(rmcp::ServiceError::McpError(e)) => {
            assert_eq!(e.code.0, mcp_proxy::FORBIDDEN, "{tool}: {e:?}");
            false
        }
        Err(other) => panic!("{tool}: {other}"),
    }
}

#[tokio::test]
async fn seed_001_matrix_per_role() {
    let (sim, gw) = support::dev_world(None).await;
    let repo = json!({"repo": "acme/web"});
    let push = |branch: &str| json!({"repo": "acme/web", "branch": branch, "message": "m"});

    // alice, Senior Engineers
    let alice = session(&sim, &gw, "alice").await;
    let listed = tools(&alice).await;
    for t in [
        "github_create_pull_request",
        "github_push_to_branch",
        "jira_create_issue",
        "confluence_create_page",
    ] {
        assert!(listed.contains(t), "alice should see {t}: {listed:?}");
    }
    for t in [
        "github_delete_branch",
        "github_get_repository_secrets",
        "jira_delete_issue",
        "confluence_delete_page",
        "salesforce_get_account",
        "github_update_webhook",
    ] {
        assert!(!listed.contains(t), "alice should not see {t}");
    }
    assert!(call(&alice, "github_list_repositories", json!({})).await);
    assert!(call(&alice, "github_push_to_branch", push("feature-1")).await);
    assert!(
        !call(&alice, "github_push_to_branch", push("main")).await,
        "no push to main"
    );
    assert!(
        !call(
            &alice,
            "github_delete_branch",
            json!({"repo": "acme/web", "branch": "x"})
        )
        .await
    );
    assert!(!call(&alice, "github_get_repository_secrets", repo.clone()).await);
    assert!(
        call(
            &alice,
            "confluence_create_page",
            json!({"space": "ENG", "title": "t"})
        )
        .await
    );

    // bob, Junior Engineers
    let bob = session(&sim, &gw, "bob").await;
    let listed = tools(&bob).await;
    assert!(listed.contains("github_create_branch") && listed.contains("jira_update_issue_status"));
    assert!(
        !listed.contains("github_push_to_branch") && !listed.contains("confluence_create_page")
    );
    assert!(
        !call(&bob, "github_push_to_branch", push("feature-1")).await,
        "juniors may not push"
    );
    assert!(
        call(
            &bob,
            "jira_create_issue",
            json!({"project": "OPS", "summary": "s"})
        )
        .await
    );
    assert!(
        !call(
            &bob,
            "confluence_create_page",
            json!({"space": "ENG", "title": "t"})
        )
        .await
    );

    // carol, Sales
    let carol = session(&sim, &gw, "carol").await;
    let listed = tools(&carol).await;
    assert_eq!(
        listed,
        [
            "salesforce_create_opportunity",
            "salesforce_get_account",
            "salesforce_search_accounts",
            "salesforce_update_record"
        ]
        .into_iter()
        .map(str::to_owned)
        .collect()
    );
    assert!(call(&carol, "salesforce_get_account", json!({"id": "001A"})).await);
    assert!(!call(&carol, "salesforce_bulk_export", json!({})).await);
    assert!(!call(&carol, "salesforce_delete_record", json!({"id": "001A"})).await);
    assert!(!call(&carol, "github_list_repositories", json!({})).await);

    for c in [alice, bob, carol] {
        c.cancel().await.unwrap();
    }
    gw.stop().await;
    sim.shutdown().await;
}

#[tokio::test]
async fn no_token_is_401_with_resource_metadata_and_metadata_is_public() {
    let (sim, gw) = support::dev_world(None).await;
    let r = reqwest::Client::new()
        .post(&gw.mcp)
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .body(r#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let challenge = r.headers()["www-authenticate"].to_str().unwrap().to_owned();
    let metadata_url = format!("{}/.well-known/oauth-protected-resource/mcp", gw.base);
    assert_eq!(
        challenge,
        format!(
            "Bearer realm=\"mcp-proxy\", scope=\"mcp:read\", resource_metadata=\"{metadata_url}\""
        )
    );

    let answer = reqwest::Client::new()
        .get(&metadata_url)
        .header("origin", "http://localhost:6274")
        .send()
        .await
        .unwrap();
    assert_eq!(
        answer.headers()["access-control-allow-origin"],
        "*",
        "browser-based clients may read the public metadata"
    );
    let metadata: serde_json::Value = answer.json().await.unwrap();
    assert_eq!(metadata["resource"], gw.mcp);
    assert_eq!(metadata["authorization_servers"][0], sim.issuer("default"));

    // A token for another audience is refused too.
    let foreign = sim
        .mint_access_token(
            "default",
            okta_sim::AccessTokenSpec::for_user("alice").audience("api://other"),
        )
        .unwrap();
    let r = reqwest::Client::new()
        .post(&gw.mcp)
        .bearer_auth(foreign)
        .header("content-type", "application/json")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert!(
        r.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .contains("invalid_token")
    );
    gw.stop().await;
    sim.shutdown().await;
}

#[tokio::test]
async fn missing_scope_is_403_insufficient_scope_for_step_up() {
    let sim = dev::start_idp("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let file = mcp_proxy::config::GatewayConfig::from_yaml_str(
        &format!(
            "policy:\n  scopes:\n    mcp:read: [\"github:list_*\", \"github:get_*\"]\n    mcp:write: [\"github:create_*\"]\nbackends:\n{}",
            support::demo_stdio("github", "github")
        ),
        "scopes.yaml",
    )
    .unwrap();
    let config = dev::gateway_config(&sim, addr, EXE.as_ref(), Some(file)).unwrap();
    let gw = Running::start_on(listener, config).await;
    let token = dev::fetch_token(sim.base_url(), "bob", "mcp:read")
        .await
        .unwrap();
    let client = gw.client_with_token(&token).await;
    let listed = tools(&client).await;
    assert!(
        listed.contains("github_list_repositories") && !listed.contains("github_create_branch")
    );
    drop(client);

    // The same call over plain HTTP to see the status and challenge.
    let http = reqwest::Client::new();
    let post = |body: &'static str, sid: Option<String>| {
        let mut rb = http
            .post(&gw.mcp)
            .bearer_auth(&token)
            .header("content-type", "application/json")
            .header("accept", "application/json, text/event-stream")
            .body(body);
        if let Some(sid) = sid {
            rb = rb
                .header("mcp-session-id", sid)
                .header("mcp-protocol-version", "2025-11-25");
        }
        rb
    };
    let init = post(
        r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}"#,
        None,
    )
    .send()
    .await
    .unwrap();
    let sid = init.headers()["mcp-session-id"]
        .to_str()
        .unwrap()
        .to_owned();
    let r = post(
        r#"{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"github_create_branch","arguments":{"repo":"acme/web","branch":"b"}}}"#,
        Some(sid),
    )
    .send()
    .await
    .unwrap();
    assert_eq!(r.status(), 403);
    let challenge = r.headers()["www-authenticate"].to_str().unwrap().to_owned();
    assert!(
        challenge.contains("error=\"insufficient_scope\""),
        "{challenge}"
    );
    assert!(
        challenge.contains("scope=\"mcp:read mcp:write\""),
        "{challenge}"
    );
    assert!(challenge.contains("resource_metadata="), "{challenge}");
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["id"], 7);
    assert_eq!(body["error"]["data"]["missing_scope"], "mcp:write");
    gw.stop().await;
    sim.shutdown().await;
}

/// The shipped dev policy (seed 001's groups under `scope_mode: require`): a
/// read-only token sees what bob's group allows, reads, and gets a step-up 403
/// for a write his group allows; a token for the gateway's own URL as RFC 8707
/// resource (what signed-in clients get) is accepted.
#[tokio::test]
async fn dev_policy_steps_up_read_only_tokens_and_accepts_resource_tokens() {
    let (sim, gw) = support::dev_world(None).await;
    let read_only = dev::fetch_token(sim.base_url(), "bob", "mcp:read")
        .await
        .unwrap();
    let bob = gw.client_with_token(&read_only).await;
    let listed = tools(&bob).await;
    assert!(listed.contains("github_create_branch"), "{listed:?}");
    assert!(!listed.contains("github_push_to_branch"), "{listed:?}");
    assert!(call(&bob, "github_list_repositories", json!({})).await);
    bob.cancel().await.unwrap();

    let r = raw_call(
        &gw,
        &read_only,
        r#"{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"github_create_branch","arguments":{"repo":"acme/web","branch":"b"}}}"#,
    )
    .await;
    assert_eq!(r.status(), 403);
    let challenge = r.headers()["www-authenticate"].to_str().unwrap().to_owned();
    assert!(
        challenge.starts_with("Bearer error=\"insufficient_scope\", scope=\"mcp:read mcp:write\""),
        "{challenge}"
    );
    // A write bob's group forbids is not offered as a step-up.
    let r = raw_call(
        &gw,
        &read_only,
        r#"{"jsonrpc":"2.0","id":6,"method":"tools/call","params":{"name":"github_push_to_branch","arguments":{"repo":"acme/web","branch":"b"}}}"#,
    )
    .await;
    assert_ne!(r.status(), 403);

    let for_gateway = sim
        .mint_access_token(
            "default",
            okta_sim::AccessTokenSpec::for_user("alice")
                .scopes(["mcp:read"])
                .audience(gw.mcp.clone()),
        )
        .unwrap();
    let alice = gw.client_with_token(&for_gateway).await;
    assert!(call(&alice, "github_list_repositories", json!({})).await);
    alice.cancel().await.unwrap();
    gw.stop().await;
    sim.shutdown().await;
}
