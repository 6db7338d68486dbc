//! Discovery documents, key sets, minted tokens, rotation, outage and counters over real HTTP.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::{
    fetch_jwks, get_json, http, now, standard_builder, standard_sim, verify, verify_with,
};
use okta_sim::{AccessTokenSpec, AuthServer, AuthServerId, Error, KeyRotation, OktaSim};
use serde_json::json;

#[tokio::test]
async fn custom_server_discovery_documents_describe_the_server() {
    let sim = standard_sim().await;
    for doc in ["openid-configuration", "oauth-authorization-server"] {
        let url = format!("{}/.well-known/{doc}", sim.issuer("default"));
        let (status, _, body) = get_json(&url).await;
        assert_eq!(status, 200, "{url}");
        assert_eq!(body["issuer"], sim.issuer("default"));
        assert_eq!(body["token_endpoint"], sim.token_endpoint("default"));
        assert_eq!(body["jwks_uri"], sim.jwks_uri("default"));
        assert_eq!(
            body["authorization_endpoint"],
            format!("{}/v1/authorize", sim.issuer("default"))
        );
        let grants = body["grant_types_supported"].as_array().unwrap();
        for grant in ["client_credentials", "password", "refresh_token"] {
            assert!(grants.contains(&json!(grant)), "{grant} missing in {doc}");
        }
        let methods = body["token_endpoint_auth_methods_supported"]
            .as_array()
            .unwrap();
        for method in [
            "client_secret_basic",
            "client_secret_post",
            "private_key_jwt",
        ] {
            assert!(methods.contains(&json!(method)));
        }
        let algs = body["token_endpoint_auth_signing_alg_values_supported"]
            .as_array()
            .unwrap();
        assert!(algs.contains(&json!("RS256")) && algs.contains(&json!("ES256")));
        assert!(!algs.contains(&json!("HS256")) && !algs.contains(&json!("none")));
        let scopes = body["scopes_supported"].as_array().unwrap();
        for scope in [
            "mcp:read",
            "mcp:write",
            "mcp:admin",
            "openid",
            "offline_access",
        ] {
            assert!(scopes.contains(&json!(scope)), "{scope}");
        }
        assert_eq!(body["response_types_supported"], json!(["code"]));
        assert_eq!(body["code_challenge_methods_supported"], json!(["S256"]));
    }
    let (_, _, oidc) = get_json(&sim.openid_configuration_url("default")).await;
    assert_eq!(
        oidc["id_token_signing_alg_values_supported"],
        json!(["RS256"])
    );
    assert_eq!(oidc["subject_types_supported"], json!(["public"]));
}

#[tokio::test]
async fn org_server_discovery_uses_org_paths() {
    let sim = standard_sim().await;
    let (status, _, body) = get_json(&format!(
        "{}/.well-known/openid-configuration",
        sim.base_url()
    ))
    .await;
    assert_eq!(status, 200);
    assert_eq!(body["issuer"], sim.org_issuer());
    assert_eq!(body["issuer"], sim.base_url());
    assert_eq!(body["token_endpoint"], sim.org_token_endpoint());
    assert_eq!(body["jwks_uri"], sim.org_jwks_uri());
    let grants = body["grant_types_supported"].as_array().unwrap();
    assert!(grants.contains(&json!("password")));
    assert!(!grants.contains(&json!("client_credentials")));
    let (status, _, oauth) = get_json(&format!(
        "{}/.well-known/oauth-authorization-server",
        sim.base_url()
    ))
    .await;
    assert_eq!(status, 200);
    assert_eq!(oauth["issuer"], sim.base_url());
    assert!(!sim.base_url().ends_with('/'));
}

#[tokio::test]
async fn jwks_carries_max_age_and_one_key_set_per_server() {
    let sim = standard_builder()
        .jwks_max_age(Duration::from_secs(123))
        .auth_server(AuthServer::new("other"))
        .start()
        .await
        .unwrap();
    let (status, headers, body) = get_json(&sim.jwks_uri("default")).await;
    assert_eq!(status, 200);
    let cache = headers["cache-control"].to_str().unwrap();
    assert!(cache.contains("max-age=123"), "{cache}");
    let keys = body["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 1);
    assert_eq!(keys[0]["kid"], sim.current_kid("default").unwrap());
    assert_eq!(keys[0]["kty"], "RSA");
    assert_eq!(keys[0]["alg"], "RS256");
    assert!(keys[0].get("d").is_none());

    let (_, org_headers, org) = get_json(&sim.org_jwks_uri()).await;
    assert!(
        org_headers["cache-control"]
            .to_str()
            .unwrap()
            .contains("max-age=123")
    );
    let (_, _, other) = get_json(&sim.jwks_uri("other")).await;
    let kids = [
        &keys[0]["kid"],
        &org["keys"][0]["kid"],
        &other["keys"][0]["kid"],
    ];
    assert_ne!(kids[0], kids[1]);
    assert_ne!(kids[0], kids[2]);
    assert_ne!(kids[1], kids[2]);
    assert_eq!(org["keys"][0]["kid"], sim.current_org_kid());
}

#[tokio::test]
async fn minted_user_token_has_okta_claims_and_verifies_against_served_jwks() {
    let sim = standard_sim().await;
    let token = sim
        .mint_access_token(
            "default",
            AccessTokenSpec::for_user("alice").scopes(["mcp:read"]),
        )
        .unwrap();
    let header = jsonwebtoken::decode_header(&token).unwrap();
    assert_eq!(header.alg, jsonwebtoken::Algorithm::RS256);
    assert_eq!(header.kid.as_deref(), sim.current_kid("default").as_deref());
    let claims = verify(&sim.jwks_uri("default"), &token).await;
    assert_eq!(claims["ver"], 1);
    assert!(claims["jti"].as_str().unwrap().starts_with("AT."));
    assert_eq!(claims["iss"], sim.issuer("default"));
    assert_eq!(claims["aud"], "api://default");
    assert_eq!(claims["sub"], "alice");
    assert_eq!(claims["uid"], sim.user("alice").unwrap().user_id());
    assert_eq!(claims["cid"], okta_sim::MINTED_CLIENT_ID);
    assert_eq!(claims["scp"], json!(["mcp:read"]));
    assert_eq!(
        claims["groups"],
        json!(["mcp-developers"]),
        "filtered by the mcp- prefix"
    );
    let exp = claims["exp"].as_i64().unwrap();
    let iat = claims["iat"].as_i64().unwrap();
    assert_eq!(exp - iat, 3600);
    assert!((iat - now()).abs() <= 5);

    // Signed by the default server's key, so the org key set must not verify it.
    let org_jwks = fetch_jwks(&sim.org_jwks_uri()).await;
    assert!(verify_with(&org_jwks, &token).is_err());
}

#[tokio::test]
async fn minted_tokens_follow_the_spec() {
    let sim = standard_sim().await;
    let jwks = fetch_jwks(&sim.jwks_uri("default")).await;

    let expired = sim
        .mint_access_token(
            "default",
            AccessTokenSpec::for_user("alice").expired_since(Duration::from_secs(120)),
        )
        .unwrap();
    let claims = verify_with(&jwks, &expired).unwrap();
    let exp = claims["exp"].as_i64().unwrap();
    assert!(exp <= now() - 115 && exp >= now() - 125, "exp {exp}");
    assert!(claims["iat"].as_i64().unwrap() < exp);

    let future = sim
        .mint_access_token(
            "default",
            AccessTokenSpec::for_client("agent").not_before_in(Duration::from_secs(120)),
        )
        .unwrap();
    let claims = verify_with(&jwks, &future).unwrap();
    assert!(claims["nbf"].as_i64().unwrap() >= now() + 115);
    assert_eq!(claims["sub"], "agent");
    assert_eq!(claims["cid"], "agent");
    assert!(claims.get("uid").is_none());
    assert!(claims.get("groups").is_none());

    let custom = sim
        .mint_access_token(
            "default",
            AccessTokenSpec::for_user("alice")
                .client_id("agent")
                .audiences(["api://a", "api://b"])
                .issuer("https://elsewhere.example")
                .expires_in(Duration::from_secs(60))
                .groups(["g1"])
                .claim("custom", json!({"n": 1}))
                .claim("sub", json!("override"))
                .remove_claim("jti")
                .typ("at+jwt"),
        )
        .unwrap();
    let header = jsonwebtoken::decode_header(&custom).unwrap();
    assert_eq!(header.typ.as_deref(), Some("at+jwt"));
    let claims = verify_with(&jwks, &custom).unwrap();
    assert_eq!(claims["aud"], json!(["api://a", "api://b"]));
    assert_eq!(claims["iss"], "https://elsewhere.example");
    assert_eq!(claims["cid"], "agent");
    assert_eq!(claims["groups"], json!(["g1"]));
    assert_eq!(claims["custom"], json!({"n": 1}));
    assert_eq!(claims["sub"], "override");
    assert!(claims.get("jti").is_none());
    let ttl = claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap();
    assert_eq!(ttl, 60);

    let odd_kid = sim
        .mint_access_token("default", AccessTokenSpec::for_client("agent").kid("nope"))
        .unwrap();
    assert_eq!(
        jsonwebtoken::decode_header(&odd_kid)
            .unwrap()
            .kid
            .as_deref(),
        Some("nope")
    );
    let no_kid = sim
        .mint_access_token(
            "default",
            AccessTokenSpec::for_client("agent").without_kid(),
        )
        .unwrap();
    assert!(jsonwebtoken::decode_header(&no_kid).unwrap().kid.is_none());

    let org = sim
        .mint_access_token(AuthServerId::Org, AccessTokenSpec::for_user("bob"))
        .unwrap();
    let claims = verify(&sim.org_jwks_uri(), &org).await;
    assert_eq!(claims["iss"], sim.base_url());
    assert_eq!(claims["aud"], sim.base_url());
    assert!(
        claims.get("groups").is_none(),
        "org access tokens carry no groups"
    );
}

#[tokio::test]
async fn minting_for_unknown_server_or_user_is_an_error() {
    let sim = standard_sim().await;
    let err = sim
        .mint_access_token("nope", AccessTokenSpec::for_client("x"))
        .unwrap_err();
    assert!(
        matches!(err, Error::UnknownAuthServer(ref id) if id == "nope"),
        "{err}"
    );
    let err = sim
        .mint_access_token("default", AccessTokenSpec::for_user("carol"))
        .unwrap_err();
    assert!(
        matches!(err, Error::UnknownUser(ref l) if l == "carol"),
        "{err}"
    );
    assert!(matches!(
        sim.rotate_signing_key("nope", KeyRotation::DropOld),
        Err(Error::UnknownAuthServer(_))
    ));
    assert!(sim.current_kid("nope").is_none());
}

#[tokio::test]
async fn rotation_with_grace_keeps_old_tokens_verifiable() {
    let sim = standard_sim().await;
    let old_kid = sim.current_kid("default").unwrap();
    let old_token = sim
        .mint_access_token("default", AccessTokenSpec::for_client("agent"))
        .unwrap();
    let new_kid = sim
        .rotate_signing_key("default", KeyRotation::KeepOldFor(Duration::from_secs(60)))
        .unwrap();
    assert_ne!(new_kid, old_kid);
    assert_eq!(sim.current_kid("default").unwrap(), new_kid);
    let jwks = fetch_jwks(&sim.jwks_uri("default")).await;
    let kids: Vec<_> = jwks
        .keys
        .iter()
        .map(|k| k.common.key_id.clone().unwrap())
        .collect();
    assert_eq!(kids, vec![new_kid.clone(), old_kid]);
    assert!(verify_with(&jwks, &old_token).is_ok());
    let new_token = sim
        .mint_access_token("default", AccessTokenSpec::for_client("agent"))
        .unwrap();
    assert_eq!(
        jsonwebtoken::decode_header(&new_token).unwrap().kid,
        Some(new_kid)
    );
    assert!(verify_with(&jwks, &new_token).is_ok());
    // Other servers are untouched.
    assert_eq!(fetch_jwks(&sim.org_jwks_uri()).await.keys.len(), 1);
}

#[tokio::test]
async fn rotation_without_grace_drops_the_old_key() {
    let sim = standard_sim().await;
    let old_token = sim
        .mint_access_token("default", AccessTokenSpec::for_client("agent"))
        .unwrap();
    let new_kid = sim
        .rotate_signing_key("default", KeyRotation::DropOld)
        .unwrap();
    let jwks = fetch_jwks(&sim.jwks_uri("default")).await;
    assert_eq!(jwks.keys.len(), 1);
    assert_eq!(
        jwks.keys[0].common.key_id.as_deref(),
        Some(new_kid.as_str())
    );
    let err = verify_with(&jwks, &old_token).unwrap_err();
    assert!(err.contains("not in JWKS"), "{err}");

    let org_kid = sim
        .rotate_signing_key(AuthServerId::Org, KeyRotation::DropOld)
        .unwrap();
    assert_eq!(sim.current_org_kid(), org_kid);
}

#[tokio::test]
async fn outage_answers_503_everywhere_and_is_counted() {
    let sim = standard_sim().await;
    sim.set_outage(true);
    for url in [
        sim.jwks_uri("default"),
        sim.openid_configuration_url("default"),
        format!("{}/no/such/path", sim.base_url()),
    ] {
        let response = http().get(&url).send().await.unwrap();
        assert_eq!(response.status(), 503, "{url}");
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(body["error"], "temporarily_unavailable");
    }
    let response = http()
        .post(sim.token_endpoint("default"))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 503);
    assert_eq!(sim.request_count("/oauth2/default/v1/keys"), 1);
    sim.set_outage(false);
    let (status, _, _) = get_json(&sim.jwks_uri("default")).await;
    assert_eq!(status, 200);
    assert_eq!(sim.request_count("/oauth2/default/v1/keys"), 2);
}

#[tokio::test]
async fn counters_count_per_path_and_reset() {
    let sim = standard_sim().await;
    for _ in 0..3 {
        get_json(&sim.jwks_uri("default")).await;
    }
    get_json(&sim.org_jwks_uri()).await;
    http()
        .get(format!("{}?x=1", sim.jwks_uri("default")))
        .send()
        .await
        .unwrap();
    assert_eq!(
        sim.request_count("/oauth2/default/v1/keys"),
        4,
        "query string ignored"
    );
    assert_eq!(sim.request_count("/oauth2/v1/keys"), 1);
    assert_eq!(sim.request_count("/oauth2/default/v1/token"), 0);
    assert_eq!(sim.request_counts().len(), 2);
    sim.reset_counters();
    assert_eq!(sim.request_count("/oauth2/default/v1/keys"), 0);
}

#[tokio::test]
async fn latency_is_applied_without_breaking_responses() {
    let sim = standard_sim().await;
    sim.set_latency(Duration::from_millis(50));
    let started = std::time::Instant::now();
    let (status, _, _) = get_json(&sim.jwks_uri("default")).await;
    assert_eq!(status, 200);
    // A lower bound only: the delay is added before the response, so it cannot be faster.
    assert!(started.elapsed() >= Duration::from_millis(50));
    sim.set_latency(Duration::ZERO);
}

#[tokio::test]
async fn unknown_servers_and_paths_are_json_404s() {
    let sim = standard_sim().await;
    for url in [sim.jwks_uri("nope"), sim.openid_configuration_url("nope")] {
        let (status, _, body) = get_json(&url).await;
        assert_eq!(status, 404);
        assert_eq!(body["errorCode"], "E0000007");
        assert!(body["errorSummary"].as_str().unwrap().contains("nope"));
    }
    let response = http()
        .post(sim.token_endpoint("nope"))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    let (status, _, body) =
        get_json(&format!("{}/oauth2/default/v1/nothing", sim.base_url())).await;
    assert_eq!(status, 404);
    assert!(body["errorSummary"].is_string());
    // Okta does not serve RFC 8414 path-inserted metadata for custom servers.
    let (status, _, _) = get_json(&format!(
        "{}/.well-known/oauth-authorization-server/oauth2/default",
        sim.base_url()
    ))
    .await;
    assert_eq!(status, 404);
    let response = http().post(sim.jwks_uri("default")).send().await.unwrap();
    assert_eq!(response.status(), 405);
}

#[tokio::test]
async fn bind_conflict_and_bad_config_are_errors() {
    let sim = standard_sim().await;
    let err = OktaSim::builder()
        .listen(sim.local_addr())
        .start()
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Bind { .. }), "{err}");
    assert!(err.to_string().contains(&sim.local_addr().to_string()));

    let err = OktaSim::builder()
        .auth_server(AuthServer::new("bad/id"))
        .start()
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Config(_)), "{err}");
    let err = OktaSim::builder()
        .auth_server(AuthServer::new("a").groups_claim(okta_sim::GroupsClaim::regex("(")))
        .start()
        .await
        .unwrap_err();
    assert!(err.to_string().contains("regex"), "{err}");
    let err = OktaSim::builder()
        .user(okta_sim::SimUser::new("a", "x"))
        .user(okta_sim::SimUser::new("a", "y"))
        .start()
        .await
        .unwrap_err();
    assert!(err.to_string().contains("twice"), "{err}");
}

#[tokio::test]
async fn default_server_always_exists_and_shutdown_stops_serving() {
    let sim = OktaSim::builder().start().await.unwrap();
    assert_eq!(sim.audience("default").as_deref(), Some("api://default"));
    let url = sim.jwks_uri("default");
    let (status, _, _) = get_json(&url).await;
    assert_eq!(status, 200);
    sim.shutdown().await;
    let fresh = reqwest::Client::new();
    assert!(
        fresh.get(&url).send().await.is_err(),
        "server still answering after shutdown"
    );
}

#[tokio::test]
async fn public_base_url_is_advertised_and_listen_is_honoured() {
    let sim = OktaSim::builder()
        .listen("0.0.0.0:0".parse().unwrap())
        .start()
        .await
        .unwrap();
    assert!(
        sim.base_url().starts_with("http://127.0.0.1:"),
        "{}",
        sim.base_url()
    );
    assert!(sim.local_addr().ip().is_unspecified());

    let proxied = OktaSim::builder()
        .public_base_url("https://okta.example.test/")
        .start()
        .await
        .unwrap();
    assert_eq!(proxied.base_url(), "https://okta.example.test");
    let url = format!(
        "http://{}/oauth2/default/.well-known/openid-configuration",
        proxied.local_addr()
    );
    let (status, _, body) = get_json(&url).await;
    assert_eq!(status, 200);
    assert_eq!(body["issuer"], "https://okta.example.test/oauth2/default");
    assert_eq!(
        body["jwks_uri"],
        "https://okta.example.test/oauth2/default/v1/keys"
    );
}
