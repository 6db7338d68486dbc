//! The binary as a user runs it: `mcp-proxy --dev` prints its commands,
//! `mcp-proxy dev token` gets a token from it, and SIGTERM shuts everything
//! down (demo children included) with exit status 0.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};

#[tokio::test]
async fn dev_mode_prints_commands_serves_tokens_and_shuts_down_on_sigterm() {
    let mut child = tokio::process::Command::new(support::EXE)
        .args([
            "--dev",
            "--listen",
            "127.0.0.1:0",
            "--dev-idp-listen",
            "127.0.0.1:0",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let (mut gateway, mut idp, mut banner) = (None, None, String::new());
    while gateway.is_none() || idp.is_none() || !banner.contains("tools/call") {
        let line = tokio::time::timeout(Duration::from_secs(30), lines.next_line())
            .await
            .expect("banner in time")
            .unwrap()
            .expect("banner before EOF");
        if let Some(url) = line.trim().strip_prefix("gateway:") {
            gateway = Some(url.trim().to_owned());
        }
        if let Some(rest) = line.trim().strip_prefix("idp:") {
            idp = Some(rest.split_whitespace().next().unwrap().to_owned());
        }
        banner.push_str(&line);
        banner.push('\n');
    }
    let (gateway, idp) = (gateway.unwrap(), idp.unwrap());
    assert!(
        banner.contains("grant_type=password")
            && banner.contains("mcp-proxy dev token --user alice")
    );

    let out = tokio::process::Command::new(support::EXE)
        .args(["dev", "token", "--user", "bob", "--idp", &idp])
        .output()
        .await
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let token = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    assert_eq!(token.split('.').count(), 3);

    let config =
        rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig::with_uri(
            gateway.as_str(),
        )
        .auth_header(token);
    let client = rmcp::ServiceExt::serve(
        (),
        rmcp::transport::StreamableHttpClientTransport::from_config(config),
    )
    .await
    .unwrap();
    let tools = client.list_all_tools().await.unwrap();
    assert!(tools.iter().any(|t| t.name == "github_create_branch"));
    assert!(
        !tools.iter().any(|t| t.name == "github_push_to_branch"),
        "bob may not push"
    );
    client.cancel().await.unwrap();

    // Wrong password: a clear error, non-zero exit.
    let out = tokio::process::Command::new(support::EXE)
        .args(["dev", "token", "--user", "mallory", "--idp", &idp])
        .output()
        .await
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("token request for `mallory` failed"));

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
    std::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .unwrap();
    let status = tokio::time::timeout(Duration::from_secs(20), child.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(status.success(), "{status:?}");
    for c in children {
        let alive = std::process::Command::new("kill")
            .args(["-0", &c])
            .status()
            .unwrap();
        assert!(!alive.success(), "demo child {c} outlived the gateway");
    }
}
