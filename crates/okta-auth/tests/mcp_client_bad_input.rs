//! `McpAuthClient` against resource and authorization servers that misbehave: every case ends
//! in a typed error that says what was wrong, and no token is requested for a resource that
//! failed its checks.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod mcp_client_support;

use http::StatusCode;
use mcp_client_support::{
    Mode, TOKEN_PATH, call, custom_authorization_server, custom_resource, resource_server,
    resource_server_with, sim,
};
use okta_auth::mcp_client::{ClientCredentials, McpAuthClient};
use okta_auth::{ClientAuth, Error, OAuthErrorCode, SigningKey};
use serde_json::json;

fn basic(id: &str, secret: &str) -> McpAuthClient {
    McpAuthClient::builder(ClientCredentials::new(ClientAuth::client_secret_basic(
        id, secret,
    )))
    .build()
    .unwrap()
}

/// A resource whose metadata names `issuer` as its authorization server.
async fn resource_for(issuer: &str) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let url = format!("{base}/mcp");
    let body = json!({"resource": url, "authorization_servers": [issuer]}).to_string();
    let challenge = format!(r#"Bearer resource_metadata="{base}/prm""#);
    let app = axum::Router::new()
        .route(
            "/mcp",
            axum::routing::post(move || async move {
                (
                    StatusCode::UNAUTHORIZED,
                    [(http::header::WWW_AUTHENTICATE, challenge)],
                )
            }),
        )
        .route(
            "/prm",
            axum::routing::get(move || async move {
                ([(http::header::CONTENT_TYPE, "application/json")], body)
            }),
        );
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    url
}

#[tokio::test]
async fn metadata_for_another_resource_is_refused_before_any_token_request() {
    let sim = sim().await;
    let url = resource_server_with(&sim, Mode::Normal, |_| {
        okta_auth::ProtectedResourceMetadata::new("https://evil.example.com/mcp")
            .authorization_server(sim.issuer("default"))
    })
    .await;
    let err = call(&basic("agent", "agent-secret"), &url, "read")
        .await
        .unwrap_err();
    match &err {
        Error::ResourceMismatch { called, found, .. } => {
            assert_eq!(called, &url);
            assert_eq!(found, "https://evil.example.com/mcp");
        }
        other => panic!("expected ResourceMismatch, got {other:?}"),
    }
    assert_eq!(sim.request_count(TOKEN_PATH), 0);
}

#[tokio::test]
async fn metadata_that_is_html_404_or_empty_is_a_clear_error() {
    let cases = [
        (
            StatusCode::OK,
            "text/html",
            "<!doctype html><html>login</html>".to_owned(),
            "HTML",
        ),
        (
            StatusCode::NOT_FOUND,
            "application/json",
            "{}".to_owned(),
            "HTTP 404",
        ),
        (
            StatusCode::OK,
            "application/json",
            r#"{"authorization_servers":[]}"#.to_owned(),
            "not RFC 9728 JSON",
        ),
    ];
    for (status, content_type, body, expect) in cases {
        let url = custom_resource(status, content_type, body).await;
        let err = call(&basic("a", "s"), &url, "read").await.unwrap_err();
        assert!(matches!(err, Error::ResourceMetadata { .. }), "{err:?}");
        assert!(
            err.to_string().contains(expect),
            "{err} should mention {expect}"
        );
    }
}

#[tokio::test]
async fn metadata_without_authorization_servers_is_refused() {
    let sim = sim().await;
    let url = resource_server_with(&sim, Mode::Normal, |m| {
        let mut m = m;
        m.authorization_servers.clear();
        m
    })
    .await;
    let err = call(&basic("agent", "agent-secret"), &url, "read")
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("no authorization_servers"),
        "{err}"
    );
}

#[tokio::test]
async fn authorization_server_metadata_html_or_404_fails_discovery() {
    for (status, content_type, body) in [
        (StatusCode::OK, "text/html", "<html>portal</html>"),
        (StatusCode::NOT_FOUND, "text/plain", "nope"),
    ] {
        let issuer =
            custom_authorization_server(move |_| (status, content_type, body.to_owned())).await;
        let url = resource_for(&issuer).await;
        let err = call(&basic("a", "s"), &url, "read").await.unwrap_err();
        assert!(matches!(err, Error::Discovery { .. }), "{err:?}");
    }
}

#[tokio::test]
async fn authorization_server_without_token_endpoint_is_refused() {
    let issuer = custom_authorization_server(|issuer| {
        (
            StatusCode::OK,
            "application/json",
            json!({"issuer": issuer}).to_string(),
        )
    })
    .await;
    let url = resource_for(&issuer).await;
    let err = call(&basic("a", "s"), &url, "read").await.unwrap_err();
    assert!(
        matches!(
            &err,
            Error::MissingEndpoint {
                field: "token_endpoint",
                ..
            }
        ),
        "{err:?}"
    );
}

#[tokio::test]
async fn authorization_server_that_does_not_list_our_method_is_refused() {
    let issuer = custom_authorization_server(|issuer| {
        let doc = json!({
            "issuer": issuer,
            "token_endpoint": format!("{issuer}/token"),
            "token_endpoint_auth_methods_supported": ["private_key_jwt"],
            "token_endpoint_auth_signing_alg_values_supported": ["RS256"],
        });
        (StatusCode::OK, "application/json", doc.to_string())
    })
    .await;
    let url = resource_for(&issuer).await;
    let err = call(&basic("a", "s"), &url, "read").await.unwrap_err();
    match &err {
        Error::AuthMethodNotSupported {
            method, supported, ..
        } => {
            assert_eq!(method, "client_secret_basic");
            assert_eq!(supported, &["private_key_jwt"]);
        }
        other => panic!("expected AuthMethodNotSupported, got {other:?}"),
    }
    // private_key_jwt is listed, but only with RS256: an ES256 key is refused too.
    let es = McpAuthClient::builder(ClientCredentials::new(ClientAuth::private_key_jwt(
        "svc",
        SigningKey::generate_es256().unwrap(),
    )))
    .build()
    .unwrap();
    let err = call(&es, &url, "read").await.unwrap_err();
    assert!(
        matches!(&err, Error::AuthMethodNotSupported { method, .. } if method == "private_key_jwt with ES256"),
        "{err:?}"
    );
}

#[tokio::test]
async fn token_endpoint_errors_are_typed() {
    let sim = sim().await;
    let url = resource_server(&sim, Mode::Normal).await;
    let err = call(&basic("agent", "wrong-secret"), &url, "read")
        .await
        .unwrap_err();
    assert!(
        matches!(
            &err,
            Error::OAuth {
                error: OAuthErrorCode::InvalidClient,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(!err.to_string().contains("wrong-secret"));
    let narrow = McpAuthClient::builder(ClientCredentials::new(ClientAuth::client_secret_basic(
        "reader",
        "reader-secret",
    )))
    .scopes(["mcp:admin"])
    .build()
    .unwrap();
    let err = call(&narrow, &url, "read").await.unwrap_err();
    assert!(
        matches!(
            &err,
            Error::OAuth {
                error: OAuthErrorCode::InvalidScope,
                ..
            }
        ),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_fresh_token_refused_with_401_is_an_error_not_a_loop() {
    let sim = sim().await;
    let other = mcp_client_support::sim().await;
    // The resource verifies tokens of `sim` but its metadata names `other`'s server: every
    // token the client gets is refused.
    let url = resource_server_with(&sim, Mode::Normal, |m| {
        let mut m = m;
        m.authorization_servers = vec![other.issuer("default")];
        m
    })
    .await;
    let err = call(&basic("agent", "agent-secret"), &url, "read")
        .await
        .unwrap_err();
    assert!(matches!(err, Error::TokenRejected { .. }), "{err:?}");
    assert!(err.to_string().contains("invalid_token"), "{err}");
    assert_eq!(
        other.request_count(TOKEN_PATH),
        1,
        "exactly one token, one retry"
    );
}
