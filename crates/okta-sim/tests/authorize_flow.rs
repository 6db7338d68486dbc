//! Happy paths of the sign-in flow: authorization code + PKCE for public and confidential
//! clients, `login_hint` and the sign-in form, refresh after the code, discovery.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod authorize_support;

use authorize_support::{
    MCP_RESOURCE, PUBLIC_CLIENT, PUBLIC_REDIRECT, WEB_CLIENT, WEB_REDIRECT, WEB_SECRET, authorize,
    claims, code_for, http, location_query, pkce, redeem_public, request, sim, token, with,
};

#[tokio::test]
async fn public_client_signs_in_with_login_hint_and_refreshes() {
    let sim = sim().await;
    let (verifier, challenge) = pkce();
    let mut params = request(&challenge);
    params.push(("login_hint", "alice".to_owned()));
    let response = authorize(&sim, &params).await;
    assert_eq!(response.status(), 302);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let (base, query) = location_query(&response);
    assert_eq!(base, PUBLIC_REDIRECT);
    assert_eq!(query["state"], "st-123", "state is echoed");
    assert_eq!(query["iss"], sim.issuer("default"), "RFC 9207 iss");
    let code = &query["code"];

    let (status, body) = redeem_public(&sim, code, &verifier).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["scope"], "openid mcp:read offline_access");
    let access = claims(body["access_token"].as_str().unwrap());
    assert_eq!(access["aud"], MCP_RESOURCE, "resource becomes the audience");
    assert_eq!(access["sub"], "alice");
    assert_eq!(access["cid"], PUBLIC_CLIENT);
    assert_eq!(access["iss"], sim.issuer("default"));
    assert_eq!(access["groups"], serde_json::json!(["mcp-developers"]));
    let id_token = claims(body["id_token"].as_str().unwrap());
    assert_eq!(id_token["nonce"], "n-456");
    assert_eq!(id_token["aud"], PUBLIC_CLIENT);
    let refresh = body["refresh_token"]
        .as_str()
        .expect("offline_access gives a refresh token");

    // Refresh as a public client (client_id only), with the same resource: rotated.
    let (status, refreshed) = token(
        &sim,
        &[
            ("grant_type", "refresh_token"),
            ("client_id", PUBLIC_CLIENT),
            ("refresh_token", refresh),
            ("resource", MCP_RESOURCE),
        ],
        None,
    )
    .await;
    assert_eq!(status, 200, "{refreshed}");
    let rotated = refreshed["refresh_token"].as_str().unwrap();
    assert_ne!(rotated, refresh, "refresh tokens rotate");
    let access = claims(refreshed["access_token"].as_str().unwrap());
    assert_eq!(access["aud"], MCP_RESOURCE, "the audience survives refresh");

    // A refresh naming another resource is refused.
    let (status, body) = token(
        &sim,
        &[
            ("grant_type", "refresh_token"),
            ("client_id", PUBLIC_CLIENT),
            ("refresh_token", rotated),
            ("resource", "http://127.0.0.1:9999/other"),
        ],
        None,
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_target"))
    );
}

#[tokio::test]
async fn without_resource_the_audience_is_the_servers() {
    let sim = sim().await;
    let (verifier, challenge) = pkce();
    let params = with(request(&challenge), "resource", None);
    let code = code_for(&sim, &params).await;
    let (status, body) = redeem_public(&sim, &code, &verifier).await;
    assert_eq!(status, 200, "{body}");
    let access = claims(body["access_token"].as_str().unwrap());
    assert_eq!(access["aud"], "api://default");
}

#[tokio::test]
async fn confidential_client_signs_in_through_the_form() {
    let sim = sim().await;
    let (verifier, challenge) = pkce();
    let params = with(
        with(request(&challenge), "client_id", Some(WEB_CLIENT)),
        "redirect_uri",
        Some(WEB_REDIRECT),
    );
    let page = authorize(&sim, &params).await;
    assert_eq!(page.status(), 200);
    let headers = page.headers().clone();
    assert!(
        headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let csp = headers["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("default-src 'none'"), "{csp}");
    assert!(
        csp.contains("form-action 'self' https://app.example.com"),
        "{csp}"
    );
    assert_eq!(headers["x-frame-options"], "DENY");
    let html = page.text().await.unwrap();
    assert!(html.contains("<button type=\"submit\" name=\"login\" value=\"alice\">"));
    assert!(html.contains("Sign in as Bob Builder"));
    assert!(!html.contains("<script"), "no JavaScript");
    assert!(
        html.contains("name=\"code_challenge\""),
        "request is carried in the form"
    );

    // Submit the form as the browser would: the hidden fields plus the chosen user.
    let mut form: Vec<(&str, String)> = params.clone();
    form.push(("login", "alice".to_owned()));
    let response = http()
        .post(sim.authorization_endpoint("default"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 303);
    let (base, query) = location_query(&response);
    assert_eq!(base, WEB_REDIRECT);
    let code = query["code"].clone();

    let redeem = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", WEB_REDIRECT),
        ("code_verifier", verifier.as_str()),
    ];
    // A confidential client must authenticate: client_id alone is not enough.
    let mut unauthenticated = redeem.to_vec();
    unauthenticated.push(("client_id", WEB_CLIENT));
    let (status, body) = token(&sim, &unauthenticated, None).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("invalid_client"))
    );
    // That attempt did not reach the grant, so the code is still good.
    let (status, body) = token(&sim, &redeem, Some((WEB_CLIENT, WEB_SECRET))).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        claims(body["access_token"].as_str().unwrap())["cid"],
        WEB_CLIENT
    );
    assert!(body["refresh_token"].is_string());
}

#[tokio::test]
async fn discovery_advertises_the_flow() {
    let sim = sim().await;
    for url in [
        sim.openid_configuration_url("default"),
        format!(
            "{}/.well-known/oauth-authorization-server",
            sim.issuer("default")
        ),
    ] {
        let doc: serde_json::Value = http().get(&url).send().await.unwrap().json().await.unwrap();
        assert_eq!(
            doc["authorization_endpoint"],
            sim.authorization_endpoint("default")
        );
        assert_eq!(doc["registration_endpoint"], sim.registration_endpoint());
        assert_eq!(
            doc["code_challenge_methods_supported"],
            serde_json::json!(["S256"])
        );
        assert_eq!(doc["response_types_supported"], serde_json::json!(["code"]));
        let grants = doc["grant_types_supported"].as_array().unwrap();
        assert!(grants.iter().any(|g| g == "authorization_code"));
        let methods = doc["token_endpoint_auth_methods_supported"]
            .as_array()
            .unwrap();
        assert!(methods.iter().any(|m| m == "none"));
        assert!(
            doc.get("client_id_metadata_document_supported").is_none(),
            "CIMD is not supported, so it is not advertised"
        );
    }
}

#[tokio::test]
async fn resources_can_be_allowed_after_start() {
    let sim = sim().await;
    let late = "http://127.0.0.1:45678/mcp";
    let (verifier, challenge) = pkce();
    let params = with(request(&challenge), "resource", Some(late));
    let mut hinted = params.clone();
    hinted.push(("login_hint", "alice".to_owned()));
    let (_, query) = location_query(&authorize(&sim, &hinted).await);
    assert_eq!(query["error"], "invalid_target", "not served yet");

    sim.allow_resource("default", late).unwrap();
    sim.allow_resource("default", late).unwrap();
    assert!(sim.allow_resource("nope", late).is_err());
    assert!(sim.allow_resource("default", "relative/mcp").is_err());
    let code = code_for(&sim, &params).await;
    let (status, body) = redeem_public(&sim, &code, &verifier).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(claims(body["access_token"].as_str().unwrap())["aud"], late);
}
