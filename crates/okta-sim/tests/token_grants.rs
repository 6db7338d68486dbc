//! Token endpoint grants with secret clients: happy paths and every OAuth error.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::{assert_oauth_error, post_token, standard_builder, standard_sim, verify};
use okta_sim::{AuthServer, GrantType, OktaSim, RefreshTokenRotation, SimClient, SimUser};
use serde_json::json;

fn cc(scope: &str) -> Vec<(&'static str, String)> {
    vec![
        ("grant_type", "client_credentials".into()),
        ("scope", scope.into()),
    ]
}

fn as_refs<'a>(v: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    v.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

#[tokio::test]
async fn client_credentials_with_basic_auth_issues_an_okta_shaped_token() {
    let sim = standard_sim().await;
    let form = cc("mcp:read mcp:write");
    let (status, headers, body) = post_token(
        &sim.token_endpoint("default"),
        &as_refs(&form),
        Some(("agent", "agent-secret")),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(headers["cache-control"], "no-store");
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 3600);
    assert_eq!(body["scope"], "mcp:read mcp:write");
    assert!(body.get("refresh_token").is_none() && body.get("id_token").is_none());
    let claims = verify(
        &sim.jwks_uri("default"),
        body["access_token"].as_str().unwrap(),
    )
    .await;
    assert_eq!(claims["sub"], "agent");
    assert_eq!(claims["cid"], "agent");
    assert_eq!(claims["aud"], "api://default");
    assert_eq!(claims["iss"], sim.issuer("default"));
    assert_eq!(claims["scp"], json!(["mcp:read", "mcp:write"]));
    assert_eq!(claims["ver"], 1);
    assert!(claims["jti"].as_str().unwrap().starts_with("AT."));
    assert!(claims.get("uid").is_none() && claims.get("groups").is_none());
    assert_eq!(sim.request_count("/oauth2/default/v1/token"), 1);
}

#[tokio::test]
async fn client_credentials_with_post_auth_and_form_encoded_basic_secrets() {
    let sim = standard_builder()
        .client(SimClient::secret("odd id", "s:e+c%ret&x"))
        .start()
        .await
        .unwrap();
    let (status, _, body) = post_token(
        &sim.token_endpoint("default"),
        &[
            ("grant_type", "client_credentials"),
            ("scope", "mcp:read"),
            ("client_id", "agent"),
            ("client_secret", "agent-secret"),
        ],
        None,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    // RFC 6749 §2.3.1: id and secret are form-urlencoded inside the Basic credentials.
    let form = cc("mcp:admin");
    let (status, _, body) = post_token(
        &sim.token_endpoint("default"),
        &as_refs(&form),
        Some(("odd id", "s:e+c%ret&x")),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let claims = verify(
        &sim.jwks_uri("default"),
        body["access_token"].as_str().unwrap(),
    )
    .await;
    assert_eq!(claims["cid"], "odd id");
}

#[tokio::test]
async fn wrong_or_missing_client_credentials_are_invalid_client() {
    let sim = standard_sim().await;
    let url = sim.token_endpoint("default");
    let form = cc("mcp:read");
    let wrong_basic = post_token(&url, &as_refs(&form), Some(("agent", "nope"))).await;
    assert_oauth_error(&wrong_basic, 401, "invalid_client");
    let challenge = wrong_basic.1["www-authenticate"].to_str().unwrap();
    assert!(challenge.starts_with("Basic "), "{challenge}");

    let unknown_basic = post_token(&url, &as_refs(&form), Some(("ghost", "x"))).await;
    assert_oauth_error(&unknown_basic, 401, "invalid_client");
    assert!(unknown_basic.1.contains_key("www-authenticate"));

    let wrong_post = post_token(
        &url,
        &[
            ("grant_type", "client_credentials"),
            ("scope", "mcp:read"),
            ("client_id", "agent"),
            ("client_secret", "nope"),
        ],
        None,
    )
    .await;
    assert_oauth_error(&wrong_post, 401, "invalid_client");
    assert!(
        !wrong_post.1.contains_key("www-authenticate"),
        "no Basic challenge for post auth"
    );

    let none = post_token(
        &url,
        &[("grant_type", "client_credentials"), ("client_id", "agent")],
        None,
    )
    .await;
    assert_oauth_error(&none, 401, "invalid_client");

    let secret_without_id = post_token(
        &url,
        &[
            ("grant_type", "client_credentials"),
            ("client_secret", "agent-secret"),
        ],
        None,
    )
    .await;
    assert_oauth_error(&secret_without_id, 401, "invalid_client");

    let mismatched_id = post_token(
        &url,
        &[
            ("grant_type", "client_credentials"),
            ("scope", "mcp:read"),
            ("client_id", "reader"),
        ],
        Some(("agent", "agent-secret")),
    )
    .await;
    assert_oauth_error(&mismatched_id, 401, "invalid_client");

    let bearer = common::http()
        .post(&url)
        .header("authorization", "Bearer abc")
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(bearer.status(), 401);
}

#[tokio::test]
async fn two_client_authentication_methods_are_invalid_request() {
    let sim = standard_sim().await;
    let response = post_token(
        &sim.token_endpoint("default"),
        &[
            ("grant_type", "client_credentials"),
            ("client_id", "agent"),
            ("client_secret", "agent-secret"),
        ],
        Some(("agent", "agent-secret")),
    )
    .await;
    assert_oauth_error(&response, 400, "invalid_request");
    assert!(
        response.2["error_description"]
            .as_str()
            .unwrap()
            .contains("multiple client credentials")
    );
    let response = post_token(
        &sim.token_endpoint("default"),
        &[
            ("grant_type", "client_credentials"),
            ("client_id", "agent"),
            ("client_secret", "agent-secret"),
            ("client_assertion_type", common::assertion::ASSERTION_TYPE),
            ("client_assertion", "a.b.c"),
        ],
        None,
    )
    .await;
    assert_oauth_error(&response, 400, "invalid_request");
}

#[tokio::test]
async fn unknown_missing_and_unsupported_grants() {
    let sim = standard_sim().await;
    let basic = Some(("agent", "agent-secret"));
    let unknown = post_token(
        &sim.token_endpoint("default"),
        &[("grant_type", "urn:example:magic")],
        basic,
    )
    .await;
    assert_oauth_error(&unknown, 400, "unsupported_grant_type");
    let missing = post_token(
        &sim.token_endpoint("default"),
        &[("scope", "mcp:read")],
        basic,
    )
    .await;
    assert_oauth_error(&missing, 400, "invalid_request");
    assert!(
        missing.2["error_description"]
            .as_str()
            .unwrap()
            .contains("grant_type")
    );
    // The org server does not do client credentials.
    let org = post_token(
        &sim.org_token_endpoint(),
        &[("grant_type", "client_credentials")],
        basic,
    )
    .await;
    assert_oauth_error(&org, 400, "unsupported_grant_type");
}

#[tokio::test]
async fn grants_not_allowed_for_the_client_are_unauthorized_client() {
    let sim = standard_sim().await;
    let response = post_token(
        &sim.token_endpoint("default"),
        &[
            ("grant_type", "password"),
            ("username", "alice"),
            ("password", "pw-alice"),
            ("scope", "mcp:read"),
        ],
        Some(("reader", "reader-secret")),
    )
    .await;
    assert_oauth_error(&response, 400, "unauthorized_client");
    assert!(
        response.2["error_description"]
            .as_str()
            .unwrap()
            .contains("client_credentials")
    );
}

#[tokio::test]
async fn scope_errors_are_invalid_scope() {
    let sim = standard_sim().await;
    let url = sim.token_endpoint("default");
    let agent = Some(("agent", "agent-secret"));
    for (client, scope, hint) in [
        (agent, "mcp:unknown", "not configured"),
        (
            Some(("reader", "reader-secret")),
            "mcp:write",
            "not allowed",
        ),
        (
            Some(("reader", "reader-secret")),
            "mcp:read mcp:admin",
            "mcp:admin",
        ),
        (agent, "openid mcp:read", "OpenID Connect"),
        (agent, "bad\"scope", "RFC 6749"),
    ] {
        let form = cc(scope);
        let response = post_token(&url, &as_refs(&form), client).await;
        assert_oauth_error(&response, 400, "invalid_scope");
        let description = response.2["error_description"].as_str().unwrap();
        assert!(description.contains(hint), "{scope}: {description}");
    }
    let no_scope = post_token(&url, &[("grant_type", "client_credentials")], agent).await;
    assert_oauth_error(&no_scope, 400, "invalid_scope");
    assert!(
        no_scope.2["error_description"]
            .as_str()
            .unwrap()
            .contains("default scopes")
    );
}

#[tokio::test]
async fn default_scopes_apply_when_no_scope_is_requested() {
    let sim = OktaSim::builder()
        .client(SimClient::secret("svc", "svc-secret"))
        .auth_server(
            AuthServer::new("tools")
                .scopes(["t:read", "t:write"])
                .default_scopes(["t:read"]),
        )
        .start()
        .await
        .unwrap();
    let (status, _, body) = post_token(
        &sim.token_endpoint("tools"),
        &[("grant_type", "client_credentials")],
        Some(("svc", "svc-secret")),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["scope"], "t:read");
    let claims = verify(
        &sim.jwks_uri("tools"),
        body["access_token"].as_str().unwrap(),
    )
    .await;
    assert_eq!(claims["aud"], "api://tools");
    assert_eq!(claims["iss"], sim.issuer("tools"));
}

fn password_form<'a>(
    user: &'a str,
    password: &'a str,
    scope: &'a str,
) -> Vec<(&'static str, &'a str)> {
    vec![
        ("grant_type", "password"),
        ("username", user),
        ("password", password),
        ("scope", scope),
    ]
}

#[tokio::test]
async fn password_grant_on_custom_server_issues_access_id_and_refresh_tokens() {
    let sim = standard_sim().await;
    let mut form = password_form(
        "alice",
        "pw-alice",
        "openid profile email offline_access mcp:read",
    );
    form.push(("nonce", "n-123"));
    let (status, _, body) = post_token(
        &sim.token_endpoint("default"),
        &form,
        Some(("agent", "agent-secret")),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["scope"],
        "openid profile email offline_access mcp:read"
    );
    assert!(body["refresh_token"].as_str().unwrap().len() >= 32);
    let access = verify(
        &sim.jwks_uri("default"),
        body["access_token"].as_str().unwrap(),
    )
    .await;
    let alice = sim.user("alice").unwrap();
    assert_eq!(access["sub"], "alice");
    assert_eq!(access["uid"], alice.user_id());
    assert_eq!(access["cid"], "agent");
    assert_eq!(access["groups"], json!(["mcp-developers"]));
    assert_eq!(
        access["scp"],
        json!(["openid", "profile", "email", "offline_access", "mcp:read"])
    );
    assert!(access["auth_time"].is_i64());
    let id = verify(&sim.jwks_uri("default"), body["id_token"].as_str().unwrap()).await;
    assert_eq!(id["sub"], alice.user_id());
    assert_eq!(id["aud"], "agent");
    assert_eq!(id["iss"], sim.issuer("default"));
    assert_eq!(id["email"], "alice@example.com");
    assert_eq!(id["name"], "alice");
    assert_eq!(id["preferred_username"], "alice");
    assert_eq!(id["nonce"], "n-123");
    assert_eq!(id["amr"], json!(["pwd"]));
    assert!(id["jti"].as_str().unwrap().starts_with("ID."));
    assert!(id["at_hash"].is_string() && id["auth_time"].is_i64());
}

#[tokio::test]
async fn org_password_grant_returns_id_token_with_groups() {
    let sim = standard_sim().await;
    let form = password_form("alice", "pw-alice", "openid");
    let (status, _, body) = post_token(
        &sim.org_token_endpoint(),
        &form,
        Some(("agent", "agent-secret")),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert!(
        body.get("refresh_token").is_none(),
        "no offline_access requested"
    );
    let id = verify(&sim.org_jwks_uri(), body["id_token"].as_str().unwrap()).await;
    assert_eq!(id["iss"], sim.base_url());
    assert_eq!(id["aud"], "agent");
    assert_eq!(
        id["groups"],
        json!(["mcp-developers", "Everyone", "admins"])
    );
    let access = verify(&sim.org_jwks_uri(), body["access_token"].as_str().unwrap()).await;
    assert_eq!(access["aud"], sim.base_url());
    assert!(access.get("groups").is_none());
    let not_at_default = common::fetch_jwks(&sim.jwks_uri("default")).await;
    assert!(common::verify_with(&not_at_default, body["id_token"].as_str().unwrap()).is_err());
}

#[tokio::test]
async fn bad_user_credentials_and_deactivated_users_are_invalid_grant() {
    let sim = standard_sim().await;
    let url = sim.token_endpoint("default");
    let agent = Some(("agent", "agent-secret"));
    for (user, password) in [("alice", "wrong"), ("nobody", "pw-alice"), ("alice", "")] {
        let form = password_form(user, password, "mcp:read");
        let response = post_token(&url, &form, agent).await;
        if password.is_empty() {
            assert_oauth_error(&response, 400, "invalid_request");
        } else {
            assert_oauth_error(&response, 400, "invalid_grant");
        }
    }
    sim.deactivate_user("alice").unwrap();
    let form = password_form("alice", "pw-alice", "mcp:read");
    assert_oauth_error(&post_token(&url, &form, agent).await, 400, "invalid_grant");
    sim.activate_user("alice").unwrap();
    assert_eq!(post_token(&url, &form, agent).await.0, 200);
    assert!(sim.deactivate_user("nobody").is_err());
}

async fn refresh(
    sim: &OktaSim,
    client: (&str, &str),
    token: &str,
    scope: Option<&str>,
) -> (
    reqwest::StatusCode,
    reqwest::header::HeaderMap,
    serde_json::Value,
) {
    let mut form = vec![("grant_type", "refresh_token"), ("refresh_token", token)];
    if let Some(scope) = scope {
        form.push(("scope", scope));
    }
    post_token(&sim.token_endpoint("default"), &form, Some(client)).await
}

async fn first_refresh_token(sim: &OktaSim, client: (&str, &str), scope: &str) -> String {
    let form = password_form("alice", "pw-alice", scope);
    let (status, _, body) = post_token(&sim.token_endpoint("default"), &form, Some(client)).await;
    assert_eq!(status, 200, "{body}");
    body["refresh_token"]
        .as_str()
        .expect("refresh token")
        .to_owned()
}

fn refresh_client(id: &str, rotation: RefreshTokenRotation) -> SimClient {
    SimClient::secret(id, "secret")
        .grants([GrantType::Password, GrantType::RefreshToken])
        .refresh_token_rotation(rotation)
}

#[tokio::test]
async fn refresh_with_rotation_invalidates_the_used_token() {
    let sim = standard_builder()
        .client(refresh_client(
            "rot",
            RefreshTokenRotation::Rotate {
                grace_period: Duration::ZERO,
            },
        ))
        .start()
        .await
        .unwrap();
    let client = ("rot", "secret");
    let first = first_refresh_token(&sim, client, "openid offline_access mcp:read").await;
    let (status, _, body) = refresh(&sim, client, &first, None).await;
    assert_eq!(status, 200, "{body}");
    let second = body["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(second, first);
    assert!(body["id_token"].is_string(), "openid scope carries over");
    let access = verify(
        &sim.jwks_uri("default"),
        body["access_token"].as_str().unwrap(),
    )
    .await;
    assert_eq!(access["sub"], "alice");
    assert_eq!(
        access["scp"],
        json!(["openid", "offline_access", "mcp:read"])
    );
    assert_oauth_error(
        &refresh(&sim, client, &first, None).await,
        400,
        "invalid_grant",
    );
    assert_eq!(refresh(&sim, client, &second, None).await.0, 200);
}

#[tokio::test]
async fn refresh_rotation_grace_period_and_persistent_tokens() {
    let sim = standard_builder()
        .client(refresh_client("graceful", RefreshTokenRotation::default()))
        .client(refresh_client(
            "persistent",
            RefreshTokenRotation::Persistent,
        ))
        .start()
        .await
        .unwrap();
    let graceful = ("graceful", "secret");
    let first = first_refresh_token(&sim, graceful, "offline_access mcp:read").await;
    let (_, _, body) = refresh(&sim, graceful, &first, None).await;
    assert_ne!(body["refresh_token"], first.as_str());
    assert_eq!(
        refresh(&sim, graceful, &first, None).await.0,
        200,
        "within the 30 s grace"
    );

    let persistent = ("persistent", "secret");
    let token = first_refresh_token(&sim, persistent, "offline_access mcp:read").await;
    for _ in 0..2 {
        let (status, _, body) = refresh(&sim, persistent, &token, None).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["refresh_token"], token.as_str());
    }
}

#[tokio::test]
async fn refresh_errors() {
    let sim = standard_sim().await;
    let agent = ("agent", "agent-secret");
    let token = first_refresh_token(&sim, agent, "offline_access mcp:read").await;

    let narrowed = refresh(&sim, agent, &token, Some("mcp:read")).await;
    assert_eq!(narrowed.0, 200, "{}", narrowed.2);
    assert_eq!(narrowed.2["scope"], "mcp:read");
    let current = narrowed.2["refresh_token"].as_str().unwrap().to_owned();

    assert_oauth_error(
        &refresh(&sim, agent, &current, Some("mcp:write")).await,
        400,
        "invalid_scope",
    );
    assert_oauth_error(
        &refresh(&sim, agent, "not-a-token", None).await,
        400,
        "invalid_grant",
    );
    let missing = post_token(
        &sim.token_endpoint("default"),
        &[("grant_type", "refresh_token")],
        Some(agent),
    )
    .await;
    assert_oauth_error(&missing, 400, "invalid_request");

    // A client without the refresh grant is refused before the token is looked at.
    let reader = refresh(&sim, ("reader", "reader-secret"), &current, None).await;
    assert_oauth_error(&reader, 400, "unauthorized_client");

    // Deactivation revokes refresh tokens.
    sim.deactivate_user("alice").unwrap();
    assert_oauth_error(
        &refresh(&sim, agent, &current, None).await,
        400,
        "invalid_grant",
    );
    sim.activate_user("alice").unwrap();
    assert_oauth_error(
        &refresh(&sim, agent, &current, None).await,
        400,
        "invalid_grant",
    );
}

#[tokio::test]
async fn refresh_tokens_are_bound_to_client_and_server() {
    let sim = standard_builder()
        .client(refresh_client("other", RefreshTokenRotation::Persistent))
        .user(SimUser::new("carol", "pw-carol"))
        .auth_server(AuthServer::new("second").scopes(["mcp:read"]))
        .start()
        .await
        .unwrap();
    let token =
        first_refresh_token(&sim, ("agent", "agent-secret"), "offline_access mcp:read").await;
    assert_oauth_error(
        &refresh(&sim, ("other", "secret"), &token, None).await,
        400,
        "invalid_grant",
    );
    let at_second = post_token(
        &sim.token_endpoint("second"),
        &[("grant_type", "refresh_token"), ("refresh_token", &token)],
        Some(("agent", "agent-secret")),
    )
    .await;
    assert_oauth_error(&at_second, 400, "invalid_grant");
    // Still usable by its own client at its own server.
    assert_eq!(
        refresh(&sim, ("agent", "agent-secret"), &token, None)
            .await
            .0,
        200
    );
}

#[tokio::test]
async fn no_refresh_token_without_offline_access_or_refresh_grant() {
    let sim = standard_builder()
        .client(SimClient::secret("norefresh", "secret").grants([GrantType::Password]))
        .start()
        .await
        .unwrap();
    let form = password_form("alice", "pw-alice", "mcp:read");
    let (_, _, body) = post_token(
        &sim.token_endpoint("default"),
        &form,
        Some(("agent", "agent-secret")),
    )
    .await;
    assert!(body.get("refresh_token").is_none());
    let form = password_form("alice", "pw-alice", "offline_access mcp:read");
    let (status, _, body) = post_token(
        &sim.token_endpoint("default"),
        &form,
        Some(("norefresh", "secret")),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert!(body.get("refresh_token").is_none());
}
