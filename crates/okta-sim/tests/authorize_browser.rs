//! Headless Chromium (the Debian package; `scripts/install-browser`) drives the sign-in page
//! once, like a person with a keyboard: load the page, Tab to the first user, press Enter.
//! The browser must land on the client's redirect URI with a code that redeems for alice's
//! tokens, the page must log no JavaScript errors or CSP violations, and a screenshot is
//! saved to `artifacts/okta-sim-sign-in.png` (git-ignored) for a human to look at.
//!
//! The browser is driven over the Chrome DevTools Protocol on a pipe
//! (`--remote-debugging-pipe`: NUL-terminated JSON on fds 3 and 4), so no extra crate is
//! needed. Without Chromium the test fails and says how to install it; it never skips.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod authorize_support;
mod browser;

use std::path::Path;
use std::sync::mpsc;

use authorize_support::{claims, pkce, request, token, with};
use browser::{Browser, STEP, callback_query, callback_server, find_chromium};
use okta_sim::{AuthServer, OktaSim, SimClient, SimUser};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chromium_signs_in_through_the_page() {
    let binary = find_chromium();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let redirect = format!("http://{}/callback", listener.local_addr().unwrap());
    let (seen_tx, seen) = mpsc::channel();
    tokio::spawn(callback_server(listener, seen_tx));
    let sim = OktaSim::builder()
        .user(
            SimUser::new("alice", "pw")
                .name("Alice Example")
                .groups(["mcp-developers"]),
        )
        .user(SimUser::new("bob", "pw").name("Bob Example"))
        .client(
            SimClient::public("mcp-cli")
                .name("MCP CLI")
                .redirect_uris([redirect.clone()]),
        )
        .auth_server(
            AuthServer::new("default")
                .scopes(["mcp:read"])
                .resources([authorize_support::MCP_RESOURCE]),
        )
        .start()
        .await
        .unwrap();
    let (verifier, challenge) = pkce();
    let params = with(request(&challenge), "client_id", Some("mcp-cli"));
    let params = with(params, "redirect_uri", Some(&redirect));
    let mut url = url::Url::parse(&sim.authorization_endpoint("default")).unwrap();
    url.query_pairs_mut()
        .extend_pairs(params.iter().map(|(k, v)| (*k, v.as_str())));
    let artifacts = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../artifacts");
    std::fs::create_dir_all(&artifacts).unwrap();
    let screenshot = artifacts.join("okta-sim-sign-in.png");

    let page_url = url.to_string();
    let shot = screenshot.clone();
    let (callback, errors) = tokio::task::spawn_blocking(move || {
        let mut browser = Browser::launch(&binary);
        let session = browser.open(&page_url);
        let s = Some(session.as_str());
        let title = browser.call(
            s,
            "Runtime.evaluate",
            json!({ "expression": "document.title + '|' + document.querySelectorAll('button').length + '|' + getComputedStyle(document.querySelector('main')).maxWidth" }),
        );
        browser.screenshot(&session, &shot);
        // Keyboard only: Tab to the first user's button, Enter to submit.
        browser.press(&session, "Tab", 9, None);
        browser.press(&session, "Enter", 13, Some("\r"));
        let callback = seen.recv_timeout(STEP).expect("the browser reached the redirect URI");
        browser.wait_event("Page.loadEventFired");
        let errors = browser.errors();
        (callback, (errors, title["result"]["value"].as_str().unwrap_or_default().to_owned()))
    })
    .await
    .unwrap();
    let (errors, title) = errors;
    assert!(
        errors.is_empty(),
        "JavaScript or CSP errors on the sign-in page: {errors:#?}"
    );
    assert_eq!(
        title, "Sign in · okta-sim|2|512px",
        "page title, one button per user, and the hashed stylesheet applied (CSP allows it)"
    );
    assert!(std::fs::metadata(&screenshot).unwrap().len() > 1000);

    let query = callback_query(&callback);
    assert_eq!(query["state"], "st-123");
    let (status, body) = token(
        &sim,
        &[
            ("grant_type", "authorization_code"),
            ("client_id", "mcp-cli"),
            ("code", &query["code"]),
            ("redirect_uri", &redirect),
            ("code_verifier", &verifier),
        ],
        None,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let access = claims(body["access_token"].as_str().unwrap());
    assert_eq!(
        access["sub"], "alice",
        "the first button (alice) was pressed"
    );
}
