//! Bad input to the sign-in flow, each answered with the RFC 6749 error: requests that cannot
//! be redirected get an error page (§4.1.2.1), the rest redirect back with `error` and
//! `state`; token requests get §5.2 JSON.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod authorize_support;

use std::time::Duration;

use authorize_support::{
    MCP_RESOURCE, PUBLIC_CLIENT, PUBLIC_REDIRECT, SERVICE_CLIENT, WEB_CLIENT, WEB_REDIRECT,
    WEB_SECRET, authorize, builder, code_for, location_query, pkce, redeem_public, request, sim,
    token, with,
};

/// Asserts an error page: the given status, HTML, and no redirect.
async fn assert_error_page(response: reqwest::Response, code: &str) {
    assert_eq!(response.status(), 400);
    assert!(
        response.headers().get("location").is_none(),
        "must never redirect"
    );
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let html = response.text().await.unwrap();
    assert!(html.contains(code), "{html}");
}

/// Asserts a redirect to the client with `error` = `code` and the state echoed.
fn assert_redirected_error(response: &reqwest::Response, code: &str) {
    assert_eq!(response.status(), 302, "{response:?}");
    let (base, query) = location_query(response);
    assert_eq!(base, PUBLIC_REDIRECT);
    assert_eq!(
        query.get("error").map(String::as_str),
        Some(code),
        "{query:?}"
    );
    assert_eq!(query["state"], "st-123");
    assert!(!query.contains_key("code"));
}

#[tokio::test]
async fn wrong_or_missing_redirect_uri_shows_an_error_page() {
    let sim = sim().await;
    let (_, challenge) = pkce();
    for redirect in [
        Some("http://127.0.0.1:33418/other"),
        Some("http://127.0.0.1:33419/callback"),
        Some("https://evil.example/callback"),
        Some(WEB_REDIRECT),
        None,
    ] {
        let params = with(request(&challenge), "redirect_uri", redirect);
        assert_error_page(authorize(&sim, &params).await, "invalid_request").await;
    }
}

#[tokio::test]
async fn unknown_or_missing_client_shows_an_error_page() {
    let sim = sim().await;
    let (_, challenge) = pkce();
    let unknown = with(request(&challenge), "client_id", Some("no-such-client"));
    assert_error_page(authorize(&sim, &unknown).await, "invalid_client").await;
    let missing = with(request(&challenge), "client_id", None);
    assert_error_page(authorize(&sim, &missing).await, "invalid_request").await;
    // Repeated parameters cannot be trusted either.
    let mut repeated = request(&challenge);
    repeated.push(("redirect_uri", "https://evil.example/cb".to_owned()));
    assert_error_page(authorize(&sim, &repeated).await, "invalid_request").await;
}

#[tokio::test]
async fn unknown_server_is_404() {
    let sim = sim().await;
    let response = authorize_support::http()
        .get(format!("{}/oauth2/nope/v1/authorize", sim.base_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
}

#[tokio::test]
async fn missing_or_plain_pkce_is_invalid_request() {
    let sim = sim().await;
    let (verifier, challenge) = pkce();
    let no_challenge = with(request(&challenge), "code_challenge", None);
    let plain = with(
        with(request(&challenge), "code_challenge_method", Some("plain")),
        "code_challenge",
        Some(&verifier),
    );
    let no_method = with(request(&challenge), "code_challenge_method", None);
    let bad_challenge = with(request(&challenge), "code_challenge", Some("too-short"));
    for params in [no_challenge, plain, no_method, bad_challenge] {
        let mut params = params;
        params.push(("login_hint", "alice".to_owned()));
        assert_redirected_error(&authorize(&sim, &params).await, "invalid_request");
    }
}

#[tokio::test]
async fn other_authorization_errors_redirect_with_the_rfc_code() {
    let sim = sim().await;
    let (_, challenge) = pkce();
    let cases = [
        (
            with(request(&challenge), "response_type", Some("token")),
            "unsupported_response_type",
        ),
        (
            with(request(&challenge), "response_type", None),
            "invalid_request",
        ),
        (
            with(request(&challenge), "scope", Some("openid mcp:admin")),
            "invalid_scope",
        ),
        (with(request(&challenge), "scope", None), "invalid_scope"),
        (
            with(
                request(&challenge),
                "resource",
                Some("http://127.0.0.1:9999/not-served"),
            ),
            "invalid_target",
        ),
        (
            with(request(&challenge), "resource", Some("/relative")),
            "invalid_target",
        ),
        (
            with(request(&challenge), "response_mode", Some("fragment")),
            "invalid_request",
        ),
        (
            with(request(&challenge), "prompt", Some("none")),
            "login_required",
        ),
    ];
    for (params, code) in cases {
        assert_redirected_error(&authorize(&sim, &params).await, code);
    }
}

#[tokio::test]
async fn client_without_the_grant_is_unauthorized_client() {
    let sim = sim().await;
    let (_, challenge) = pkce();
    let params = with(
        with(request(&challenge), "client_id", Some(SERVICE_CLIENT)),
        "redirect_uri",
        Some(WEB_REDIRECT),
    );
    let response = authorize(&sim, &params).await;
    assert_eq!(response.status(), 302);
    let (base, query) = location_query(&response);
    assert_eq!(base, WEB_REDIRECT);
    assert_eq!(query["error"], "unauthorized_client");
}

#[tokio::test]
async fn reused_code_is_invalid_grant_and_revokes_its_refresh_token() {
    let sim = sim().await;
    let (verifier, challenge) = pkce();
    let code = code_for(&sim, &request(&challenge)).await;
    let (status, first) = redeem_public(&sim, &code, &verifier).await;
    assert_eq!(status, 200, "{first}");
    let refresh = first["refresh_token"].as_str().unwrap().to_owned();

    let (status, again) = redeem_public(&sim, &code, &verifier).await;
    assert_eq!(
        (status, again["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    assert!(
        again["error_description"]
            .as_str()
            .unwrap()
            .contains("already used")
    );

    let (status, body) = token(
        &sim,
        &[
            ("grant_type", "refresh_token"),
            ("client_id", PUBLIC_CLIENT),
            ("refresh_token", &refresh),
        ],
        None,
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant")),
        "the refresh token issued from a replayed code is revoked"
    );
}

#[tokio::test]
async fn expired_code_is_invalid_grant() {
    let sim = builder()
        .authorization_code_ttl(Duration::ZERO)
        .start()
        .await
        .unwrap();
    let (verifier, challenge) = pkce();
    let code = code_for(&sim, &request(&challenge)).await;
    let (status, body) = redeem_public(&sim, &code, &verifier).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
}

#[tokio::test]
async fn wrong_code_verifier_is_invalid_grant_and_burns_the_code() {
    let sim = sim().await;
    let (verifier, challenge) = pkce();
    let (other_verifier, _) = pkce();
    let code = code_for(&sim, &request(&challenge)).await;
    let (status, body) = redeem_public(&sim, &code, &other_verifier).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    assert!(body["error_description"].as_str().unwrap().contains("PKCE"));
    let (status, body) = redeem_public(&sim, &code, &verifier).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant")),
        "a code is single-use even when the first attempt failed"
    );
}

#[tokio::test]
async fn token_request_binding_errors() {
    let sim = sim().await;
    let (verifier, challenge) = pkce();
    let base = |code: &str| {
        vec![
            ("grant_type", "authorization_code".to_owned()),
            ("client_id", PUBLIC_CLIENT.to_owned()),
            ("code", code.to_owned()),
            ("redirect_uri", PUBLIC_REDIRECT.to_owned()),
            ("code_verifier", verifier.clone()),
        ]
    };
    let send = |form: Vec<(&'static str, String)>| {
        let sim = &sim;
        async move {
            let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
            token(sim, &form, None).await
        }
    };
    let expect = |(status, body): (u16, serde_json::Value), code: &str| {
        assert_eq!(
            (status, body["error"].as_str()),
            (400, Some(code)),
            "{body}"
        );
    };

    // Missing code_verifier.
    let code = code_for(&sim, &request(&challenge)).await;
    expect(
        send(with_str(base(&code), "code_verifier", None)).await,
        "invalid_request",
    );
    // Wrong redirect_uri.
    let code = code_for(&sim, &request(&challenge)).await;
    expect(
        send(with_str(
            base(&code),
            "redirect_uri",
            Some("http://127.0.0.1:33418/other"),
        ))
        .await,
        "invalid_grant",
    );
    // Another resource than authorized.
    let code = code_for(&sim, &request(&challenge)).await;
    expect(
        send(with_str(
            base(&code),
            "resource",
            Some("http://127.0.0.1:1/x"),
        ))
        .await,
        "invalid_target",
    );
    // The same resource is fine.
    let code = code_for(&sim, &request(&challenge)).await;
    let (status, body) = send(with_str(base(&code), "resource", Some(MCP_RESOURCE))).await;
    assert_eq!(status, 200, "{body}");
    // A garbage code.
    expect(send(base("not-a-code")).await, "invalid_grant");
    // A code issued to the public client redeemed by the confidential one.
    let code = code_for(&sim, &request(&challenge)).await;
    let (status, body) = token(
        &sim,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", PUBLIC_REDIRECT),
            ("code_verifier", &verifier),
        ],
        Some((WEB_CLIENT, WEB_SECRET)),
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    // A public client presenting a secret is refused.
    let (status, body) = token(
        &sim,
        &[("grant_type", "authorization_code"), ("code", "x")],
        Some((PUBLIC_CLIENT, "guess")),
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("invalid_client"))
    );
    // An unknown client with no credentials.
    let (status, body) = token(
        &sim,
        &[
            ("grant_type", "authorization_code"),
            ("client_id", "nobody"),
            ("code", "x"),
        ],
        None,
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("invalid_client"))
    );
}

fn with_str(
    mut form: Vec<(&'static str, String)>,
    name: &'static str,
    value: Option<&str>,
) -> Vec<(&'static str, String)> {
    form.retain(|(n, _)| *n != name);
    if let Some(value) = value {
        form.push((name, value.to_owned()));
    }
    form
}

#[tokio::test]
async fn inactive_users_cannot_sign_in() {
    let sim = sim().await;
    sim.deactivate_user("bob").unwrap();
    let (_, challenge) = pkce();
    // login_hint naming an inactive or unknown user: the page is shown, no code issued.
    for hint in ["bob", "mallory"] {
        let mut params = request(&challenge);
        params.push(("login_hint", hint.to_owned()));
        let response = authorize(&sim, &params).await;
        assert_eq!(response.status(), 200);
        let html = response.text().await.unwrap();
        assert!(
            !html.contains("value=\"bob\""),
            "inactive users are not listed"
        );
    }
    // Posting an inactive user from the form: the page again, with an alert.
    let mut form = request(&challenge);
    form.push(("login", "bob".to_owned()));
    let response = authorize_support::http()
        .post(sim.authorization_endpoint("default"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.text().await.unwrap().contains("role=\"alert\""));
}

#[tokio::test]
async fn deactivation_after_sign_in_fails_the_redemption() {
    let sim = sim().await;
    let (verifier, challenge) = pkce();
    let code = code_for(&sim, &request(&challenge)).await;
    sim.deactivate_user("alice").unwrap();
    let (status, body) = redeem_public(&sim, &code, &verifier).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
}
