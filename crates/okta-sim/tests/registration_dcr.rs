//! Dynamic client registration (RFC 7591) at `/oauth2/v1/clients`, then signing in with the
//! registered client; bad metadata answers `invalid_redirect_uri` / `invalid_client_metadata`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod authorize_support;

use authorize_support::{
    authorize, builder, claims, http, location_query, pkce, request, sim, token, with,
};
use serde_json::{Value, json};

async fn register(sim: &okta_sim::OktaSim, metadata: &Value) -> (u16, Value) {
    let response = http()
        .post(sim.registration_endpoint())
        .json(metadata)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    assert_eq!(response.headers()["cache-control"], "no-store");
    (status, response.json().await.unwrap())
}

/// Signs in alice with a registered client; returns the token response.
async fn sign_in(
    sim: &okta_sim::OktaSim,
    client_id: &str,
    redirect: &str,
    secret: Option<&str>,
) -> (u16, Value) {
    sign_in_with_scope(sim, client_id, redirect, secret, None).await
}

/// [`sign_in`], asking for `scope` instead of the default request's.
async fn sign_in_with_scope(
    sim: &okta_sim::OktaSim,
    client_id: &str,
    redirect: &str,
    secret: Option<&str>,
    scope: Option<&str>,
) -> (u16, Value) {
    let (verifier, challenge) = pkce();
    let mut params = with(
        with(request(&challenge), "client_id", Some(client_id)),
        "redirect_uri",
        Some(redirect),
    );
    if scope.is_some() {
        params = with(params, "scope", scope);
    }
    params.push(("login_hint", "alice".to_owned()));
    let response = authorize(sim, &params).await;
    assert_eq!(response.status(), 302);
    let (base, query) = location_query(&response);
    assert_eq!(base, redirect);
    let code = query.get("code").unwrap_or_else(|| panic!("{query:?}"));
    let mut form = vec![
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", redirect),
        ("code_verifier", verifier.as_str()),
    ];
    match secret {
        Some(secret) => token(sim, &form, Some((client_id, secret))).await,
        None => {
            form.push(("client_id", client_id));
            token(sim, &form, None).await
        }
    }
}

#[tokio::test]
async fn public_client_registers_and_signs_in() {
    let sim = sim().await;
    let redirect = "http://127.0.0.1:41234/callback";
    let (status, body) = register(
        &sim,
        &json!({
            "client_name": "Python MCP client",
            "redirect_uris": [redirect],
            "grant_types": ["authorization_code", "refresh_token"],
            "response_types": ["code"],
            "token_endpoint_auth_method": "none",
            "scope": "openid mcp:read offline_access",
            "unknown_extension": true,
        }),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let client_id = body["client_id"].as_str().unwrap();
    assert!(
        client_id.starts_with("0oa") && client_id.len() == 19,
        "{client_id}"
    );
    assert!(
        body.get("client_secret").is_none(),
        "public clients get no secret"
    );
    assert_eq!(body["token_endpoint_auth_method"], "none");
    assert_eq!(body["redirect_uris"], json!([redirect]));
    assert_eq!(body["client_name"], "Python MCP client");
    assert!(body["client_id_issued_at"].is_i64());

    let (status, tokens) = sign_in(&sim, client_id, redirect, None).await;
    assert_eq!(status, 200, "{tokens}");
    assert_eq!(
        claims(tokens["access_token"].as_str().unwrap())["cid"],
        client_id
    );
    assert!(tokens["refresh_token"].is_string());

    // The sign-in page shows the registered name.
    let (_, challenge) = pkce();
    let params = with(
        with(request(&challenge), "client_id", Some(client_id)),
        "redirect_uri",
        Some(redirect),
    );
    let html = authorize(&sim, &params).await.text().await.unwrap();
    assert!(html.contains("Python MCP client"));
}

#[tokio::test]
async fn confidential_client_gets_a_secret_and_must_use_it() {
    let sim = sim().await;
    let redirect = "https://app.example.com/cb";
    let (status, body) = register(
        &sim,
        &json!({ "redirect_uris": [redirect], "grant_types": ["authorization_code"] }),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(
        body["token_endpoint_auth_method"], "client_secret_basic",
        "RFC 7591 default"
    );
    let client_id = body["client_id"].as_str().unwrap();
    let secret = body["client_secret"].as_str().unwrap();
    assert!(secret.len() >= 43);
    assert_eq!(body["client_secret_expires_at"], 0);

    let (status, tokens) = sign_in(&sim, client_id, redirect, Some(secret)).await;
    assert_eq!(status, 200, "{tokens}");
    assert!(
        tokens.get("refresh_token").is_none(),
        "refresh_token grant was not registered"
    );
    let (status, body) = sign_in(&sim, client_id, redirect, Some("wrong")).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("invalid_client"))
    );
    let (status, body) = sign_in(&sim, client_id, redirect, None).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("invalid_client"))
    );
}

#[tokio::test]
async fn bad_metadata_is_refused() {
    let sim = sim().await;
    let cases = [
        (
            json!({ "redirect_uris": ["/relative/cb"] }),
            "invalid_redirect_uri",
        ),
        (
            json!({ "redirect_uris": ["https://a.example/cb#frag"] }),
            "invalid_redirect_uri",
        ),
        (
            json!({ "redirect_uris": ["http://a.example/cb"] }),
            "invalid_redirect_uri",
        ),
        (
            json!({ "redirect_uris": ["javascript:alert(1)"] }),
            "invalid_redirect_uri",
        ),
        (json!({}), "invalid_redirect_uri"),
        (json!({ "redirect_uris": [] }), "invalid_redirect_uri"),
        (
            json!({ "redirect_uris": "https://a.example/cb" }),
            "invalid_client_metadata",
        ),
        (
            json!({ "redirect_uris": ["https://a.example/cb"], "token_endpoint_auth_method": "private_key_jwt" }),
            "invalid_client_metadata",
        ),
        (
            json!({ "redirect_uris": ["https://a.example/cb"], "token_endpoint_auth_method": "none", "grant_types": ["authorization_code", "client_credentials"] }),
            "invalid_client_metadata",
        ),
        (
            json!({ "redirect_uris": ["https://a.example/cb"], "grant_types": ["implicit"] }),
            "invalid_client_metadata",
        ),
        (
            json!({ "redirect_uris": ["https://a.example/cb"], "response_types": ["token"] }),
            "invalid_client_metadata",
        ),
        (
            json!({ "redirect_uris": ["https://a.example/cb"], "client_name": 7 }),
            "invalid_client_metadata",
        ),
        (
            json!({ "redirect_uris": ["https://a.example/cb"], "scope": "bad\"scope" }),
            "invalid_client_metadata",
        ),
        (json!(["not", "an", "object"]), "invalid_client_metadata"),
    ];
    for (metadata, code) in cases {
        let (status, body) = register(&sim, &metadata).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (400, Some(code)),
            "{metadata}: {body}"
        );
        assert!(body["error_description"].is_string());
    }
    // Not JSON at all.
    let response = http()
        .post(sim.registration_endpoint())
        .header("content-type", "application/x-www-form-urlencoded")
        .body("redirect_uris=https://a.example/cb")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "invalid_client_metadata");
}

#[tokio::test]
async fn registrations_are_bounded() {
    let sim = builder().max_registered_clients(1).start().await.unwrap();
    let metadata =
        json!({ "redirect_uris": ["http://localhost:1/cb"], "token_endpoint_auth_method": "none" });
    let (status, _) = register(&sim, &metadata).await;
    assert_eq!(status, 201);
    let (status, body) = register(&sim, &metadata).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (503, Some("temporarily_unavailable"))
    );
}

/// MCP clients register with the scope of their first 401 challenge and later
/// step up (MCP authorization, scope challenge handling): the registered scope
/// must not cap them, as on Okta, where the authorization server's policies do.
#[tokio::test]
async fn registered_scope_does_not_cap_later_requests() {
    let sim = sim().await;
    let redirect = "http://127.0.0.1:41235/callback";
    let (status, body) = register(
        &sim,
        &json!({
            "redirect_uris": [redirect],
            "token_endpoint_auth_method": "none",
            "scope": "mcp:read",
        }),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["scope"], "mcp:read");
    let client_id = body["client_id"].as_str().unwrap();
    let (status, tokens) =
        sign_in_with_scope(&sim, client_id, redirect, None, Some("mcp:read mcp:write")).await;
    assert_eq!(status, 200, "{tokens}");
    assert_eq!(
        claims(tokens["access_token"].as_str().unwrap())["scp"],
        json!(["mcp:read", "mcp:write"])
    );
}
