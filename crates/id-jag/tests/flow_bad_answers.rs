//! `IdJagFlow` against a tiny real HTTP server answering the way broken IdPs and
//! authorization servers do: HTML, 500s, the wrong token type, consent needed, slowness.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::extract::{Form, Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use id_jag::{Error, IdJagFlow, Step, TOKEN_TYPE_ID_JAG};
use okta_auth::{ClientAuth, OAuthErrorCode};
use serde_json::json;
use tokio::sync::Semaphore;

#[derive(Clone)]
struct Counts {
    idp: Arc<AtomicUsize>,
    as_: Arc<AtomicUsize>,
    /// Requests in `gated-*` modes wait here for a permit before answering.
    gate: Arc<Semaphore>,
}

impl Default for Counts {
    fn default() -> Self {
        Self {
            idp: Arc::default(),
            as_: Arc::default(),
            gate: Arc::new(Semaphore::new(0)),
        }
    }
}

fn json_answer(status: StatusCode, body: serde_json::Value) -> Response {
    (status, axum::Json(body)).into_response()
}

async fn idp(
    State(counts): State<Counts>,
    Path(mode): Path<String>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    counts.idp.fetch_add(1, Ordering::SeqCst);
    let mode = match mode.strip_prefix("gated-") {
        Some(rest) => {
            counts.gate.acquire().await.unwrap().forget();
            rest.to_owned()
        }
        None => mode,
    };
    let jag = |token_type: &str, issued: &str| {
        json_answer(
            StatusCode::OK,
            json!({"access_token": "the-id-jag", "token_type": token_type,
                   "issued_token_type": issued, "expires_in": 300}),
        )
    };
    match mode.as_str() {
        "good" => {
            assert_eq!(
                form["grant_type"],
                "urn:ietf:params:oauth:grant-type:token-exchange"
            );
            assert_eq!(form["requested_token_type"], TOKEN_TYPE_ID_JAG);
            jag("N_A", TOKEN_TYPE_ID_JAG)
        }
        "html" => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "text/html")],
            "<html>Sign in to Okta</html>",
        )
            .into_response(),
        "500" => (StatusCode::INTERNAL_SERVER_ERROR, "boom").into_response(),
        "access-token" => jag("Bearer", "urn:ietf:params:oauth:token-type:access_token"),
        "bearer-jag" => jag("Bearer", TOKEN_TYPE_ID_JAG),
        "expired-id-token" => json_answer(
            StatusCode::BAD_REQUEST,
            json!({"error": "invalid_grant", "error_description": "The subject token is expired."}),
        ),
        "consent" => json_answer(
            StatusCode::BAD_REQUEST,
            json!({"error": "interaction_required",
                   "error_description": "The user must consent.",
                   "interaction_uri": "https://idp.example.com/consent?id=42"}),
        ),
        "slow" => {
            tokio::time::sleep(Duration::from_secs(5)).await;
            jag("N_A", TOKEN_TYPE_ID_JAG)
        }
        other => panic!("unknown mode {other}"),
    }
}

async fn resource_as(
    State(counts): State<Counts>,
    Path(mode): Path<String>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    counts.as_.fetch_add(1, Ordering::SeqCst);
    assert_eq!(form["assertion"], "the-id-jag");
    match mode.as_str() {
        "good" => json_answer(
            StatusCode::OK,
            json!({"access_token": "at", "token_type": "Bearer", "expires_in": 3600,
                   "scope": form.get("scope").cloned().unwrap_or_default()}),
        ),
        "slow" => {
            tokio::time::sleep(Duration::from_secs(5)).await;
            json_answer(StatusCode::OK, json!({}))
        }
        "html" => (
            StatusCode::BAD_GATEWAY,
            [(header::CONTENT_TYPE, "text/html")],
            "<html>bad gateway</html>",
        )
            .into_response(),
        other => panic!("unknown mode {other}"),
    }
}

async fn start() -> (String, Counts) {
    let counts = Counts::default();
    let app = Router::new()
        .route("/idp/{mode}", post(idp))
        .route("/as/{mode}", post(resource_as))
        .with_state(counts.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (base, counts)
}

fn flow(base: &str, idp_mode: &str, as_mode: &str) -> IdJagFlow {
    IdJagFlow::builder()
        .idp_token_endpoint(format!("{base}/idp/{idp_mode}"))
        .resource_token_endpoint(format!("{base}/as/{as_mode}"))
        .audience("https://as.example.com")
        .client_auth(ClientAuth::client_secret_basic("agent", "agent-secret"))
        .timeout(Duration::from_millis(300))
        .build()
        .unwrap()
}

async fn fail(base: &str, idp_mode: &str, as_mode: &str) -> Error {
    flow(base, idp_mode, as_mode)
        .access_token("id-token", &["mcp:connect"])
        .await
        .unwrap_err()
}

#[tokio::test]
async fn the_happy_path_works_against_this_server() {
    let (base, counts) = start().await;
    let token = flow(&base, "good", "good")
        .access_token("id-token", &["mcp:connect"])
        .await
        .unwrap();
    assert_eq!(token.secret(), "at");
    assert_eq!(token.scopes(), ["mcp:connect"]);
    assert_eq!(counts.idp.load(Ordering::SeqCst), 1);
    assert_eq!(counts.as_.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn idp_answering_html_is_a_typed_step_one_error() {
    let (base, counts) = start().await;
    let err = fail(&base, "html", "good").await;
    assert_eq!(err.step(), Some(Step::TokenExchange));
    match &err {
        Error::TokenEndpoint { source, .. } => assert!(
            matches!(**source, okta_auth::Error::TokenEndpointNotJson { .. }),
            "{source:?}"
        ),
        other => panic!("unexpected {other:?}"),
    }
    assert!(
        err.to_string().contains("token exchange at the IdP"),
        "{err}"
    );
    assert_eq!(counts.as_.load(Ordering::SeqCst), 0, "step 2 never ran");
}

#[tokio::test]
async fn idp_answering_500_is_a_typed_step_one_error() {
    let (base, _) = start().await;
    let err = fail(&base, "500", "good").await;
    match &err {
        Error::TokenEndpoint {
            step: Step::TokenExchange,
            source,
        } => assert!(
            matches!(
                **source,
                okta_auth::Error::TokenEndpointStatus { status: 500, .. }
            ),
            "{source:?}"
        ),
        other => panic!("unexpected {other:?}"),
    }
}

#[tokio::test]
async fn issued_token_type_other_than_id_jag_is_rejected() {
    let (base, counts) = start().await;
    match fail(&base, "access-token", "good").await {
        Error::UnexpectedIssuedTokenType {
            step: Step::TokenExchange,
            expected,
            found,
        } => {
            assert_eq!(expected, TOKEN_TYPE_ID_JAG);
            assert_eq!(
                found.as_deref(),
                Some("urn:ietf:params:oauth:token-type:access_token")
            );
        }
        other => panic!("unexpected {other:?}"),
    }
    assert_eq!(counts.as_.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn id_jag_with_token_type_other_than_n_a_is_rejected() {
    let (base, _) = start().await;
    match fail(&base, "bearer-jag", "good").await {
        Error::UnexpectedTokenType {
            step: Step::TokenExchange,
            expected: "N_A",
            found,
        } => assert_eq!(found, "Bearer"),
        other => panic!("unexpected {other:?}"),
    }
}

#[tokio::test]
async fn expired_id_token_is_invalid_grant() {
    let (base, _) = start().await;
    let err = fail(&base, "expired-id-token", "good").await;
    assert_eq!(err.oauth_error(), Some(&OAuthErrorCode::InvalidGrant));
    assert!(err.to_string().contains("expired"), "{err}");
}

#[tokio::test]
async fn interaction_required_carries_the_consent_url() {
    let (base, _) = start().await;
    match fail(&base, "consent", "good").await {
        Error::InteractionRequired {
            step: Step::TokenExchange,
            error,
            interaction_uri,
            description,
            ..
        } => {
            assert_eq!(error, OAuthErrorCode::InteractionRequired);
            assert_eq!(
                interaction_uri.as_deref(),
                Some("https://idp.example.com/consent?id=42")
            );
            assert_eq!(description.as_deref(), Some("The user must consent."));
        }
        other => panic!("unexpected {other:?}"),
    }
}

#[tokio::test]
async fn a_timeout_says_which_step_timed_out() {
    let (base, _) = start().await;
    let err = fail(&base, "slow", "good").await;
    assert!(
        matches!(
            err,
            Error::Timeout {
                step: Step::TokenExchange,
                ..
            }
        ),
        "{err:?}"
    );
    let err = fail(&base, "good", "slow").await;
    match &err {
        Error::Timeout { step, timeout, .. } => {
            assert_eq!(*step, Step::JwtBearer);
            assert_eq!(*timeout, Duration::from_millis(300));
        }
        other => panic!("unexpected {other:?}"),
    }
    assert!(err.to_string().contains("JWT-bearer grant"), "{err}");
}

#[tokio::test]
async fn resource_as_answering_html_is_a_typed_step_two_error() {
    let (base, _) = start().await;
    let err = fail(&base, "good", "html").await;
    assert_eq!(err.step(), Some(Step::JwtBearer));
    assert!(matches!(err, Error::TokenEndpoint { .. }), "{err:?}");
}

/// Polls `done` (yielding to the other tasks in between) until it holds; panics after 10 s.
async fn wait_for(what: &str, done: impl Fn() -> bool) {
    tokio::time::timeout(Duration::from_secs(10), async {
        while !done() {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    })
    .await
    .unwrap_or_else(|_| panic!("timed out waiting for {what}"));
}

// The test runs on tokio's single-threaded runtime, so a spawned caller is only ever paused
// at an `.await`: once it has counted itself in `joined` and been polled, it has already
// looked up (or started) the in-flight request inside `access_token` and is waiting on it.
#[tokio::test(flavor = "current_thread")]
async fn failures_are_shared_by_concurrent_callers_and_not_cached() {
    let (base, counts) = start().await;
    // A generous timeout: the gated IdP holds the request until every caller waits on it.
    let flow = IdJagFlow::builder()
        .idp_token_endpoint(format!("{base}/idp/gated-consent"))
        .resource_token_endpoint(format!("{base}/as/good"))
        .audience("https://as.example.com")
        .client_auth(ClientAuth::client_secret_basic("agent", "agent-secret"))
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let joined = Arc::new(AtomicUsize::new(0));
    let calls: Vec<_> = (0..20)
        .map(|_| {
            let (flow, joined) = (flow.clone(), Arc::clone(&joined));
            tokio::spawn(async move {
                joined.fetch_add(1, Ordering::SeqCst);
                flow.access_token("id-token", &["mcp:connect"]).await
            })
        })
        .collect();
    // All 20 callers are waiting and the IdP holds a request: only now may it answer.
    wait_for("20 waiting callers", || joined.load(Ordering::SeqCst) == 20).await;
    wait_for("the IdP request", || counts.idp.load(Ordering::SeqCst) >= 1).await;
    counts.gate.add_permits(100);
    for r in futures::future::join_all(calls).await {
        match r.unwrap() {
            Err(Error::InteractionRequired {
                step: Step::TokenExchange,
                interaction_uri,
                ..
            }) => assert_eq!(
                interaction_uri.as_deref(),
                Some("https://idp.example.com/consent?id=42")
            ),
            other => panic!("unexpected {other:?}"),
        }
    }
    // One request answered all 20 callers: the failure was shared, not fetched per caller.
    assert_eq!(counts.idp.load(Ordering::SeqCst), 1);
    // Not cached: the next call asks again.
    flow.access_token("id-token", &["mcp:connect"])
        .await
        .unwrap_err();
    assert_eq!(counts.idp.load(Ordering::SeqCst), 2);
    assert_eq!(counts.as_.load(Ordering::SeqCst), 0);
}
