//! `TokenSource` and `TokenEndpointClient` against a tiny real HTTP server that answers the
//! way broken or hostile identity providers do: HTML, 500s, JSON without a token, wrong
//! token types, redirects, slowness.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use okta_auth::{ClientAuth, Error, OAuthErrorCode, TokenEndpointClient, TokenSource};
use tokio::sync::Mutex;

#[derive(Clone, Default)]
struct Seen {
    count: Arc<AtomicUsize>,
    bodies: Arc<Mutex<Vec<String>>>,
    headers: Arc<Mutex<Vec<Option<String>>>>,
}

fn json(status: StatusCode, body: &'static str) -> Response {
    (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

const GOOD: &str =
    r#"{"access_token":"tok-123","token_type":"Bearer","expires_in":3600,"scope":"a b"}"#;

async fn start() -> (String, Seen) {
    let seen = Seen::default();
    let record = |seen: Seen, answer: fn(usize) -> Response| {
        post(
            move |State(()): State<()>, headers: axum::http::HeaderMap, body: String| {
                let seen = seen.clone();
                async move {
                    let n = seen.count.fetch_add(1, Ordering::SeqCst);
                    seen.bodies.lock().await.push(body);
                    seen.headers.lock().await.push(
                        headers
                            .get(header::AUTHORIZATION)
                            .map(|v| v.to_str().unwrap().to_owned()),
                    );
                    answer(n)
                }
            },
        )
    };
    let app = Router::new()
        .route(
            "/html",
            record(seen.clone(), |_| {
                (
                    StatusCode::OK,
                    [(header::CONTENT_TYPE, "text/html")],
                    "<html><body>Sign in</body></html>",
                )
                    .into_response()
            }),
        )
        .route(
            "/500",
            record(seen.clone(), |_| {
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    [(header::CONTENT_TYPE, "text/html")],
                    "<h1>oops</h1>",
                )
                    .into_response()
            }),
        )
        .route(
            "/no-token",
            record(seen.clone(), |_| {
                json(StatusCode::OK, r#"{"token_type":"Bearer","expires_in":3600}"#)
            }),
        )
        .route(
            "/mac",
            record(seen.clone(), |_| {
                json(
                    StatusCode::OK,
                    r#"{"access_token":"t","token_type":"mac","expires_in":3600}"#,
                )
            }),
        )
        .route(
            "/lowercase-bearer",
            record(seen.clone(), |_| {
                json(
                    StatusCode::OK,
                    r#"{"access_token":"t","token_type":"bearer","expires_in":3600}"#,
                )
            }),
        )
        .route(
            "/invalid-scope",
            record(seen.clone(), |_| {
                json(
                    StatusCode::BAD_REQUEST,
                    r#"{"error":"invalid_scope","error_description":"The scope 'x' is not allowed.","error_uri":"https://idp/doc"}"#,
                )
            }),
        )
        .route(
            "/redirect",
            record(seen.clone(), |_| {
                (StatusCode::FOUND, [(header::LOCATION, "/good")]).into_response()
            }),
        )
        .route("/good", record(seen.clone(), |_| json(StatusCode::OK, GOOD)))
        .route(
            "/no-expiry",
            record(seen.clone(), |_| {
                json(StatusCode::OK, r#"{"access_token":"t","token_type":"Bearer"}"#)
            }),
        )
        .route(
            "/fail-then-ok",
            record(seen.clone(), |n| {
                if n == 0 {
                    json(
                        StatusCode::SERVICE_UNAVAILABLE,
                        r#"{"error":"temporarily_unavailable"}"#,
                    )
                } else {
                    json(StatusCode::OK, GOOD)
                }
            }),
        )
        .route(
            "/slow",
            post(|| async {
                tokio::time::sleep(Duration::from_secs(5)).await;
                json(StatusCode::OK, GOOD)
            }),
        )
        .route(
            "/slow-503",
            record(seen.clone(), |_| {
                (StatusCode::SERVICE_UNAVAILABLE, "down").into_response()
            })
            .layer(axum::middleware::from_fn(
                |req: axum::extract::Request, next: axum::middleware::Next| async move {
                    tokio::time::sleep(Duration::from_millis(150)).await;
                    next.run(req).await
                },
            )),
        )
        .with_state(());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (base, seen)
}

fn source(base: &str, path: &str) -> TokenSource {
    TokenSource::builder()
        .token_endpoint(format!("{base}{path}"))
        .client_auth(ClientAuth::client_secret_basic("agent", "agent-secret"))
        .scopes(["a", "b"])
        .build()
        .unwrap()
}

#[tokio::test]
async fn html_answer_is_a_typed_error() {
    let (base, _) = start().await;
    let err = source(&base, "/html").token().await.unwrap_err();
    match &err {
        Error::TokenEndpointNotJson {
            status,
            content_type,
            endpoint,
        } => {
            assert_eq!(*status, 200);
            assert_eq!(content_type.as_deref(), Some("text/html"));
            assert!(endpoint.ends_with("/html"));
        }
        other => panic!("unexpected {other:?}"),
    }
    assert!(
        err.to_string().contains("instead of a JSON object"),
        "{err}"
    );
}

#[tokio::test]
async fn server_error_is_a_typed_error() {
    let (base, _) = start().await;
    let err = source(&base, "/500").token().await.unwrap_err();
    assert!(
        matches!(err, Error::TokenEndpointStatus { status: 500, .. }),
        "{err:?}"
    );
}

#[tokio::test]
async fn json_without_access_token_is_rejected() {
    let (base, _) = start().await;
    let err = source(&base, "/no-token").token().await.unwrap_err();
    match err {
        Error::InvalidTokenResponse { reason, .. } => {
            assert_eq!(reason, "`access_token` is missing");
        }
        other => panic!("unexpected {other:?}"),
    }
}

#[tokio::test]
async fn non_bearer_token_type_is_rejected_but_bearer_is_case_insensitive() {
    let (base, _) = start().await;
    let err = source(&base, "/mac").token().await.unwrap_err();
    match err {
        Error::InvalidTokenResponse { reason, .. } => {
            assert_eq!(reason, "`token_type` is `mac`, expected `Bearer`");
        }
        other => panic!("unexpected {other:?}"),
    }
    let token = source(&base, "/lowercase-bearer").token().await.unwrap();
    assert_eq!(token.secret(), "t");
    // No `scope` in the answer: the requested scopes were granted (RFC 6749 §5.1).
    assert_eq!(token.scopes(), ["a", "b"]);
}

#[tokio::test]
async fn oauth_error_keeps_code_description_and_uri() {
    let (base, _) = start().await;
    let err = source(&base, "/invalid-scope").token().await.unwrap_err();
    match &err {
        Error::OAuth {
            error,
            description,
            uri,
            status,
            ..
        } => {
            assert_eq!(*error, OAuthErrorCode::InvalidScope);
            assert_eq!(
                description.as_deref(),
                Some("The scope 'x' is not allowed.")
            );
            assert_eq!(uri.as_deref(), Some("https://idp/doc"));
            assert_eq!(*status, 400);
        }
        other => panic!("unexpected {other:?}"),
    }
    assert!(err.to_string().contains("invalid_scope"), "{err}");
}

#[tokio::test]
async fn redirects_are_not_followed() {
    let (base, seen) = start().await;
    let err = source(&base, "/redirect").token().await.unwrap_err();
    assert!(
        matches!(err, Error::TokenEndpointStatus { status: 302, .. }),
        "{err:?}"
    );
    assert_eq!(
        seen.count.load(Ordering::SeqCst),
        1,
        "/good was never called"
    );
}

#[tokio::test]
async fn slow_endpoint_times_out_with_a_typed_error() {
    let (base, _) = start().await;
    let tokens = TokenSource::builder()
        .token_endpoint(format!("{base}/slow"))
        .client_auth(ClientAuth::client_secret_post("agent", "agent-secret"))
        .timeout(Duration::from_millis(200))
        .build()
        .unwrap();
    let err = tokens.token().await.unwrap_err();
    match &err {
        Error::TokenEndpointTimeout { timeout, endpoint } => {
            assert_eq!(*timeout, Duration::from_millis(200));
            assert!(endpoint.ends_with("/slow"));
        }
        other => panic!("unexpected {other:?}"),
    }
}

#[tokio::test]
async fn unreachable_endpoint_is_a_typed_error() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let err = source(&format!("http://{addr}"), "/token")
        .token()
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::TokenEndpointUnreachable { .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains(&addr.to_string()), "{err}");
}

#[tokio::test]
async fn request_carries_grant_scope_resource_audience_and_basic_auth() {
    let (base, seen) = start().await;
    let tokens = TokenSource::builder()
        .token_endpoint(format!("{base}/good"))
        .client_auth(ClientAuth::client_secret_basic("agent", "agent-secret"))
        .scope("mcp:read")
        .scope("mcp:write")
        .resource("https://mcp.example.com/mcp")
        .audience("api://default")
        .build()
        .unwrap();
    let token = tokens.token().await.unwrap();
    assert_eq!(token.secret(), "tok-123");
    assert_eq!(token.scopes(), ["a", "b"]);
    assert!(token.expires_at().is_some());
    let body = seen.bodies.lock().await[0].clone();
    assert_eq!(
        body,
        "grant_type=client_credentials&scope=mcp%3Aread+mcp%3Awrite&resource=https%3A%2F%2Fmcp.example.com%2Fmcp&audience=api%3A%2F%2Fdefault"
    );
    assert_eq!(
        seen.headers.lock().await[0].as_deref(),
        Some("Basic YWdlbnQ6YWdlbnQtc2VjcmV0")
    );
    assert_eq!(
        tokens.token_endpoint(),
        Some(format!("{base}/good").as_str())
    );
}

#[tokio::test]
async fn answers_without_expires_in_are_not_reused() {
    let (base, seen) = start().await;
    let tokens = source(&base, "/no-expiry");
    tokens.token().await.unwrap();
    tokens.token().await.unwrap();
    assert_eq!(seen.count.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn a_failed_request_is_not_cached() {
    let (base, seen) = start().await;
    let tokens = source(&base, "/fail-then-ok");
    let err = tokens.token().await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::OAuth {
                error: OAuthErrorCode::TemporarilyUnavailable,
                status: 503,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(tokens.token().await.unwrap().secret(), "tok-123");
    assert_eq!(tokens.token().await.unwrap().secret(), "tok-123");
    assert_eq!(seen.count.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn concurrent_callers_share_one_failed_flight() {
    let (base, seen) = start().await;
    let tokens = source(&base, "/slow-503");
    let calls = (0..30).map(|_| {
        let tokens = tokens.clone();
        tokio::spawn(async move { tokens.token().await })
    });
    for result in futures::future::join_all(calls).await {
        let err = result.unwrap().unwrap_err();
        assert!(
            matches!(err, Error::TokenEndpointStatus { status: 503, .. }),
            "{err:?}"
        );
    }
    assert_eq!(seen.count.load(Ordering::SeqCst), 1);
    // Not cached: the next call asks again.
    tokens.token().await.unwrap_err();
    assert_eq!(seen.count.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn token_endpoint_client_is_usable_alone() {
    let (base, seen) = start().await;
    let client = TokenEndpointClient::new(
        format!("{base}/good"),
        ClientAuth::client_secret_post("agent", "s"),
    )
    .unwrap();
    let answer = client
        .request(vec![("grant_type".into(), "password".into())])
        .await
        .unwrap();
    assert_eq!(answer.access_token(), "tok-123");
    assert_eq!(answer.expires_in, Some(3600));
    assert!(!format!("{answer:?}").contains("tok-123"));
    assert_eq!(
        seen.bodies.lock().await[0],
        "grant_type=password&client_id=agent&client_secret=s"
    );
}
