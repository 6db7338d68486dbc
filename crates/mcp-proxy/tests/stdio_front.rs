//! `mcp-proxy --stdio`: the real binary as the child process of an MCP
//! client (rmcp's `TokioChildProcess`, or raw pipes), its caller's identity
//! from `--dev-user` or from an Okta token in `MCP_PROXY_TOKEN`, and its exit
//! when stdin closes.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use mcp_proxy::dev;
use rmcp::ServiceExt;
use rmcp::model::CallToolRequestParams;
use rmcp::service::{RoleClient, RunningService};
use rmcp::transport::TokioChildProcess;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::process::Command;

use support::{EXE, args};

type Client = RunningService<RoleClient, ()>;

/// The binary with `args`, without any `MCP_PROXY_TOKEN` of the test's environment.
fn gateway(args: &[&str]) -> Command {
    let mut command = Command::new(EXE);
    command
        .args(args)
        .env_remove(mcp_proxy::TOKEN_ENV)
        .env("RUST_LOG", "info,rmcp=warn");
    command
}

/// Spawns `command` as an MCP server child and runs the client handshake;
/// its stderr is collected in the background.
async fn connect(command: Command) -> (Client, tokio::task::JoinHandle<String>) {
    let (transport, stderr) = TokioChildProcess::builder(command)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = stderr.unwrap();
    let log = tokio::spawn(async move {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text).await;
        text
    });
    let client = tokio::time::timeout(Duration::from_secs(60), ().serve(transport))
        .await
        .expect("handshake in time")
        .expect("the MCP handshake on the gateway's stdin/stdout");
    (client, log)
}

async fn tools(client: &Client) -> BTreeSet<String> {
    client
        .list_all_tools()
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.name.to_string())
        .collect()
}

/// `Ok(())` for a successful call, the JSON-RPC error otherwise.
async fn call(client: &Client, tool: &str, arguments: Value) -> Result<(), rmcp::ErrorData> {
    match client
        .call_tool(CallToolRequestParams::new(tool.to_owned()).with_arguments(args(arguments)))
        .await
    {
        Ok(result) => {
            assert_eq!(result.is_error, Some(false), "{tool}: {result:?}");
            Ok(())
        }
        Err(rmcp::ServiceError::McpError(e)) => Err(e),
        Err(other) => panic!("{tool}: {other}"),
    }
}

/// Runs the binary to its end (stdin closed at once): exit status, stdout, stderr.
async fn run_to_end(mut command: Command) -> (std::process::ExitStatus, String, String) {
    command.stdin(Stdio::null()).kill_on_drop(true);
    let out = tokio::time::timeout(Duration::from_secs(60), command.output())
        .await
        .expect("the gateway ended in time")
        .unwrap();
    (
        out.status,
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A config file trusting `sim`'s custom server `default`, in front of the
/// github demo server under the dev policy (seed 001's group tables). The
/// demo runs under a shell that first tells on stderr (which the gateway
/// logs) whether it sees `MCP_PROXY_TOKEN`.
fn write_config(dir: &Path, sim: &okta_sim::OktaSim, extra: &str) -> std::path::PathBuf {
    let policy = dir.join("policy.yaml");
    std::fs::write(&policy, dev::POLICY_YAML).unwrap();
    let yaml = format!(
        "auth:\n  issuer: {}\n  audiences: [\"{}\"]\n  jwks_uri: {}\npolicy_file: policy.yaml\n{extra}backends:\n  - name: github\n    stdio:\n      command: sh\n      args: [\"-c\", 'echo \"child sees MCP_PROXY_TOKEN: [$${{MCP_PROXY_TOKEN:-unset}}]\" >&2; exec \"$0\" demo-server github', \"{EXE}\"]\n",
        sim.issuer(dev::AUTH_SERVER),
        dev::AUDIENCE,
        sim.jwks_uri(dev::AUTH_SERVER),
    );
    let path = dir.join("gw.yaml");
    std::fs::write(&path, yaml).unwrap();
    path
}

fn temp_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("mcp-proxy-stdio-{name}-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[tokio::test]
async fn dev_user_bob_over_stdio_sees_and_may_do_what_seed_001_gives_juniors() {
    let (bob, stderr) = connect({
        let mut command = gateway(&["--dev", "--stdio", "--dev-user", "bob"]);
        command.env("MCP_PROXY_TOKEN", "ignored: --dev-user wins");
        command
    })
    .await;
    let listed = tools(&bob).await;
    for t in [
        "github_create_branch",
        "jira_update_issue_status",
        "jira_create_issue",
    ] {
        assert!(listed.contains(t), "bob should see {t}: {listed:?}");
    }
    for t in [
        "github_push_to_branch",
        "confluence_create_page",
        "github_delete_branch",
        "salesforce_get_account",
    ] {
        assert!(!listed.contains(t), "bob should not see {t}: {listed:?}");
    }
    let denied = call(
        &bob,
        "github_push_to_branch",
        json!({"repo": "acme/web", "branch": "feature-1", "message": "m"}),
    )
    .await
    .unwrap_err();
    assert_eq!(denied.code.0, mcp_proxy::FORBIDDEN, "{denied:?}");
    call(
        &bob,
        "jira_create_issue",
        json!({"project": "OPS", "summary": "s"}),
    )
    .await
    .expect("juniors may create issues");
    bob.cancel().await.unwrap();
    let stderr = tokio::time::timeout(Duration::from_secs(30), stderr)
        .await
        .expect("the gateway exits when its stdin closes")
        .unwrap();
    assert!(
        stderr.contains("mcp-proxy --dev --stdio is serving MCP on stdin/stdout")
            && stderr.contains("caller:   bob (Junior Engineers)"),
        "the dev banner goes to stderr: {stderr}"
    );
}

#[tokio::test]
async fn a_token_in_mcp_proxy_token_is_the_identity_until_it_expires() {
    let sim = dev::start_idp("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let dir = temp_dir("token");
    let config = write_config(&dir, &sim, "");
    let config = config.to_str().unwrap();

    // alice (Senior Engineers), a password-grant token as a user would get it.
    let token = dev::fetch_token(sim.base_url(), "alice", "mcp:read mcp:write")
        .await
        .unwrap();
    let mut command = gateway(&["--config", config, "--stdio"]);
    command.env(mcp_proxy::TOKEN_ENV, &token);
    let (alice, stderr) = connect(command).await;
    let listed = tools(&alice).await;
    assert!(listed.contains("github_push_to_branch"), "{listed:?}");
    assert!(!listed.contains("github_delete_branch"), "{listed:?}");
    call(&alice, "github_list_repositories", json!({}))
        .await
        .expect("alice may list repositories");
    let denied = call(
        &alice,
        "github_push_to_branch",
        json!({"repo": "acme/web", "branch": "main", "message": "m"}),
    )
    .await
    .unwrap_err();
    assert_eq!(denied.code.0, mcp_proxy::FORBIDDEN, "no push to main");
    alice.cancel().await.unwrap();
    let stderr = stderr.await.unwrap();
    assert!(!stderr.contains(&token), "the token is never logged");
    assert!(stderr.contains("stdio session as `alice`"), "{stderr}");
    assert!(
        stderr.contains("child sees MCP_PROXY_TOKEN: [unset]"),
        "the caller's token is not passed to backends: {stderr}"
    );

    // A token that expires during the session: lists and calls fail closed.
    // (Long enough for a start on a busy machine: the gateway refuses to
    // start with an expired token.)
    let started = std::time::Instant::now();
    let short = sim
        .mint_access_token(
            dev::AUTH_SERVER,
            okta_sim::AccessTokenSpec::for_user("alice")
                .scopes(["mcp:read", "mcp:write"])
                .expires_in(Duration::from_secs(6)),
        )
        .unwrap();
    let mut command = gateway(&["--config", config, "--stdio"]);
    command.env(mcp_proxy::TOKEN_ENV, &short);
    let (client, _stderr) = connect(command).await;
    if started.elapsed() < Duration::from_secs(4) {
        assert!(tools(&client).await.contains("github_list_repositories"));
    }
    tokio::time::sleep(Duration::from_secs(7).saturating_sub(started.elapsed())).await;
    let expired = client.list_tools(None).await.unwrap_err();
    let rmcp::ServiceError::McpError(expired) = expired else {
        panic!("{expired}")
    };
    assert_eq!(expired.code.0, mcp_proxy::TOKEN_EXPIRED, "{expired:?}");
    assert!(
        expired.message.contains("expired") && expired.message.contains("fresh token"),
        "{expired:?}"
    );
    let expired = call(&client, "github_list_repositories", json!({}))
        .await
        .unwrap_err();
    assert_eq!(expired.code.0, mcp_proxy::TOKEN_EXPIRED, "{expired:?}");
    client.cancel().await.unwrap();

    // Already expired: the gateway refuses to start.
    let old = sim
        .mint_access_token(
            dev::AUTH_SERVER,
            okta_sim::AccessTokenSpec::for_user("alice").expired_since(Duration::from_secs(600)),
        )
        .unwrap();
    let mut command = gateway(&["--config", config, "--stdio"]);
    command.env(mcp_proxy::TOKEN_ENV, &old);
    let (status, stdout, stderr) = run_to_end(command).await;
    assert!(!status.success());
    assert!(stdout.is_empty(), "nothing but MCP on stdout: {stdout}");
    assert!(
        stderr.contains("the token in MCP_PROXY_TOKEN has expired"),
        "{stderr}"
    );
    assert!(!stderr.contains(&old), "the token is never printed");

    let _ = std::fs::remove_dir_all(&dir);
    sim.shutdown().await;
}

#[tokio::test]
async fn a_missing_or_bad_token_or_stdout_audit_refuses_to_start() {
    let sim = dev::start_idp("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let dir = temp_dir("refused");
    let config = write_config(&dir, &sim, "");
    let config = config.to_str().unwrap();

    let (status, stdout, stderr) = run_to_end(gateway(&["--config", config, "--stdio"])).await;
    assert!(!status.success());
    assert!(stdout.is_empty(), "{stdout}");
    assert!(
        stderr.contains("mcp-proxy: --stdio:")
            && stderr.contains("environment variable MCP_PROXY_TOKEN")
            && stderr.contains("not set"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("demo-server"),
        "no backend started: {stderr}"
    );

    let garbage = "not-a-token.at-all";
    let mut command = gateway(&["--config", config, "--stdio"]);
    command.env(mcp_proxy::TOKEN_ENV, garbage);
    let (status, stdout, stderr) = run_to_end(command).await;
    assert!(!status.success());
    assert!(stdout.is_empty(), "{stdout}");
    assert!(
        stderr.contains("the token in MCP_PROXY_TOKEN was refused: malformed token"),
        "{stderr}"
    );
    assert!(!stderr.contains(garbage), "the token is never printed");

    // A well-formed token of another audience.
    let foreign = sim
        .mint_access_token(
            dev::AUTH_SERVER,
            okta_sim::AccessTokenSpec::for_user("alice").audience("api://other"),
        )
        .unwrap();
    let mut command = gateway(&["--config", config, "--stdio"]);
    command.env(mcp_proxy::TOKEN_ENV, &foreign);
    let (status, _, stderr) = run_to_end(command).await;
    assert!(!status.success());
    assert!(
        stderr.contains("was refused") && stderr.contains("api://default"),
        "{stderr}"
    );

    // Audit lines on stdout would corrupt the MCP channel.
    let audited = write_config(&dir, &sim, "audit:\n  stdout: true\n");
    let mut command = gateway(&["--config", audited.to_str().unwrap(), "--stdio"]);
    command.env(mcp_proxy::TOKEN_ENV, &foreign);
    let (status, stdout, stderr) = run_to_end(command).await;
    assert!(!status.success());
    assert!(stdout.is_empty(), "{stdout}");
    assert!(
        stderr.contains("audit.stdout: --stdio speaks MCP on stdout"),
        "{stderr}"
    );

    // --listen means nothing over stdio; --dev --stdio needs a dev user.
    let (status, _, stderr) = run_to_end(gateway(&[
        "--config",
        config,
        "--stdio",
        "--listen",
        "127.0.0.1:0",
    ]))
    .await;
    assert_eq!(status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("cannot be used with"), "{stderr}");
    let (status, _, stderr) = run_to_end(gateway(&["--dev", "--stdio"])).await;
    assert!(!status.success());
    assert!(stderr.contains("--dev-user"), "{stderr}");

    let _ = std::fs::remove_dir_all(&dir);
    sim.shutdown().await;
}

#[tokio::test]
async fn without_auth_the_session_is_anonymous_and_a_group_policy_fails_closed() {
    let dir = temp_dir("anonymous");
    std::fs::write(dir.join("policy.yaml"), dev::POLICY_YAML).unwrap();
    let path = dir.join("gw.yaml");
    std::fs::write(
        &path,
        format!(
            "policy_file: policy.yaml\nbackends:\n{}",
            support::demo_stdio("github", "github")
        ),
    )
    .unwrap();
    let (client, _stderr) =
        connect(gateway(&["--config", path.to_str().unwrap(), "--stdio"])).await;
    assert_eq!(tools(&client).await, BTreeSet::new(), "no groups, no tools");
    let denied = call(&client, "github_list_repositories", json!({}))
        .await
        .unwrap_err();
    assert_eq!(denied.code.0, mcp_proxy::FORBIDDEN, "{denied:?}");
    client.cancel().await.unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}

/// Raw pipes, no MCP library: every line on stdout is a JSON-RPC message, and
/// closing stdin ends the gateway (exit 0) and its demo children.
#[tokio::test]
async fn stdout_is_only_json_rpc_and_closing_stdin_ends_everything() {
    let mut child = gateway(&["--dev", "--stdio", "--dev-user", "alice"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let messages = [
        json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": "2025-11-25", "capabilities": {},
            "clientInfo": {"name": "raw", "version": "1"}}}),
        json!({"jsonrpc": "2.0", "method": "notifications/initialized"}),
        json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"}),
    ];
    for message in &messages {
        stdin
            .write_all(format!("{message}\n").as_bytes())
            .await
            .unwrap();
    }
    stdin.flush().await.unwrap();
    let mut answered = BTreeSet::new();
    while !answered.contains(&2) {
        let line = tokio::time::timeout(Duration::from_secs(60), lines.next_line())
            .await
            .expect("answers in time")
            .unwrap()
            .expect("stdout open until the answers");
        let message: Value = serde_json::from_str(&line)
            .unwrap_or_else(|e| panic!("not JSON on stdout ({e}): {line}"));
        assert_eq!(message["jsonrpc"], "2.0", "{line}");
        if let Some(id) = message["id"].as_i64() {
            assert!(message.get("result").is_some(), "{line}");
            answered.insert(id);
        }
        if message["id"] == 2 {
            let names: Vec<&str> = message["result"]["tools"]
                .as_array()
                .unwrap()
                .iter()
                .filter_map(|t| t["name"].as_str())
                .collect();
            assert!(names.contains(&"github_push_to_branch"), "{names:?}");
        }
    }

    let pid = child.id().unwrap();
    let children = std::process::Command::new("pgrep")
        .args(["-P", &pid.to_string()])
        .output()
        .unwrap();
    let children: Vec<String> = String::from_utf8(children.stdout)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect();
    assert_eq!(children.len(), 4, "four demo servers: {children:?}");

    drop(stdin);
    let status = tokio::time::timeout(Duration::from_secs(30), child.wait())
        .await
        .expect("the gateway exits when stdin closes")
        .unwrap();
    assert!(status.success(), "{status:?}");
    // Nothing more was written after the last answer.
    let rest = lines.next_line().await.unwrap();
    assert_eq!(rest, None, "stdout after the session: {rest:?}");
    for c in children {
        let alive = std::process::Command::new("kill")
            .args(["-0", &c])
            .stderr(Stdio::null())
            .status()
            .unwrap();
        assert!(!alive.success(), "demo child {c} outlived the gateway");
    }
}
