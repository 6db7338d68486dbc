//! A person signs in to `mcp-proxy --dev` in a real browser: headless Chromium
//! (Debian's; `scripts/install-browser`) opens the dev identity provider's
//! authorization URL for a dynamically registered public client, with PKCE and
//! the gateway as RFC 8707 resource, and signs in by keyboard on the sign-in
//! page. The code redeems for a token the gateway accepts: the rmcp client
//! lists alice's tools and calls one. The page logs no JavaScript or CSP
//! errors; a screenshot goes to `artifacts/mcp-proxy-dev-sign-in.png`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../../okta-sim/tests/browser/mod.rs"]
mod browser;
mod support;

use std::path::Path;
use std::sync::mpsc;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use browser::{Browser, STEP, callback_query, callback_server, find_chromium};
use mcp_proxy::dev;
use rmcp::model::CallToolRequestParams;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chromium_signs_in_to_dev_mode_and_the_token_opens_the_gateway() {
    let binary = find_chromium();
    let (sim, gw) = support::dev_world(None).await;

    // The client's redirect URI, and its dynamic registration (RFC 7591).
    let callback = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let redirect = format!("http://{}/callback", callback.local_addr().unwrap());
    let (seen_tx, seen) = mpsc::channel();
    tokio::spawn(callback_server(callback, seen_tx));
    let http = reqwest::Client::new();
    let registered: Value = http
        .post(sim.registration_endpoint())
        .json(&json!({
            "client_name": "Browser test",
            "redirect_uris": [redirect],
            "token_endpoint_auth_method": "none",
        }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let client_id = registered["client_id"].as_str().unwrap().to_owned();

    // RFC 7636 §4.1: 43 to 128 unreserved characters, whatever the process id.
    let verifier = format!(
        "browser-dev-verifier-{:010}-0123456789abcdefghijklmnop",
        std::process::id()
    );
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    let mut url = url::Url::parse(&sim.authorization_endpoint(dev::AUTH_SERVER)).unwrap();
    url.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", &client_id)
        .append_pair("redirect_uri", &redirect)
        .append_pair("scope", "mcp:read")
        .append_pair("state", "st-dev")
        .append_pair("code_challenge", &challenge)
        .append_pair("code_challenge_method", "S256")
        .append_pair("resource", &gw.mcp);
    let artifacts = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../artifacts");
    std::fs::create_dir_all(&artifacts).unwrap();
    let screenshot = artifacts.join("mcp-proxy-dev-sign-in.png");

    let page_url = url.to_string();
    let shot = screenshot.clone();
    let (line, errors, title) = tokio::task::spawn_blocking(move || {
        let mut browser = Browser::launch(&binary);
        let session = browser.open(&page_url);
        let s = Some(session.as_str());
        let title = browser.call(
            s,
            "Runtime.evaluate",
            json!({ "expression": "document.title + '|' + document.querySelectorAll('button').length + '|' + document.body.innerText.includes('Browser test')" }),
        );
        browser.screenshot(&session, &shot);
        // Keyboard only: Tab to the first dev user (alice), Enter to sign in.
        browser.press(&session, "Tab", 9, None);
        browser.press(&session, "Enter", 13, Some("\r"));
        let line = seen.recv_timeout(STEP).expect("the browser reached the redirect URI");
        browser.wait_event("Page.loadEventFired");
        let errors = browser.errors();
        let title = title["result"]["value"].as_str().unwrap_or_default().to_owned();
        (line, errors, title)
    })
    .await
    .unwrap();
    assert!(errors.is_empty(), "JavaScript or CSP errors: {errors:#?}");
    assert_eq!(
        title, "Sign in · okta-sim|3|true",
        "the page names the registered client and offers the three dev users"
    );
    assert!(std::fs::metadata(&screenshot).unwrap().len() > 1000);

    let query = callback_query(&line);
    assert_eq!(query["state"], "st-dev");
    assert_eq!(query["iss"], sim.issuer(dev::AUTH_SERVER), "RFC 9207");
    let tokens: Value = http
        .post(sim.token_endpoint(dev::AUTH_SERVER))
        .form(&[
            ("grant_type", "authorization_code"),
            ("client_id", client_id.as_str()),
            ("code", query["code"].as_str()),
            ("redirect_uri", redirect.as_str()),
            ("code_verifier", verifier.as_str()),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = tokens["access_token"]
        .as_str()
        .unwrap_or_else(|| panic!("{tokens}"));

    let alice = gw.client_with_token(token).await;
    let tools: Vec<String> = alice
        .list_all_tools()
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.name.to_string())
        .collect();
    assert!(
        tools.contains(&"github_push_to_branch".to_owned()),
        "{tools:?}"
    );
    assert!(
        !tools.contains(&"salesforce_get_account".to_owned()),
        "{tools:?}"
    );
    let listed = alice
        .call_tool(CallToolRequestParams::new("github_list_repositories"))
        .await
        .unwrap();
    assert_eq!(listed.is_error, Some(false));
    alice.cancel().await.unwrap();
    gw.stop().await;
    sim.shutdown().await;
}
