//! rmcp answers a POST whose JSON body is not a JSON-RPC message with `415
//! Unsupported Media Type`. The media type was fine; the body was not. This
//! middleware turns that answer into `400 Bad Request` with the JSON-RPC error
//! that fits: `-32700` (parse error) when the body is not JSON, `-32600`
//! (invalid request) when it is JSON but not a JSON-RPC message. A wrong
//! `Content-Type` keeps its `415`; a body over the limit is `413`. Also the
//! status of a session `DELETE`.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// Largest rmcp error text kept in the rewritten message.
const MAX_DETAIL: usize = 512;

/// JSON-RPC "Parse error".
const PARSE_ERROR: i32 = -32700;
/// JSON-RPC "Invalid Request".
const INVALID_REQUEST: i32 = -32600;

/// `413` with a JSON-RPC error naming the limit.
pub(crate) fn too_large(limit: usize) -> Response {
    let error = json!({"jsonrpc": "2.0", "id": null, "error": {"code": INVALID_REQUEST,
        "message": format!("request body larger than {limit} bytes")}});
    (StatusCode::PAYLOAD_TOO_LARGE, axum::Json(error)).into_response()
}

/// The middleware; its state is the body limit in bytes.
pub(crate) async fn parse_error_is_bad_request(
    State(limit): State<usize>,
    request: Request,
    next: Next,
) -> Response {
    let json_body = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.trim_start()
                .to_ascii_lowercase()
                .starts_with("application/json")
        });
    if !json_body {
        return next.run(request).await;
    }
    let (parts, body) = request.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, limit).await else {
        return too_large(limit);
    };
    let response = next
        .run(Request::from_parts(parts, Body::from(bytes.clone())))
        .await;
    if response.status() != StatusCode::UNSUPPORTED_MEDIA_TYPE {
        return response;
    }
    let detail: String = match axum::body::to_bytes(response.into_body(), MAX_DETAIL * 2).await {
        Ok(bytes) => String::from_utf8_lossy(&bytes)
            .chars()
            .take(MAX_DETAIL)
            .collect(),
        Err(_) => String::new(),
    };
    let (code, what) = if serde_json::from_slice::<serde::de::IgnoredAny>(&bytes).is_ok() {
        (
            INVALID_REQUEST,
            "Invalid Request: the body is JSON but not a JSON-RPC message",
        )
    } else {
        (PARSE_ERROR, "Parse error: the body is not JSON")
    };
    let body = json!({
        "jsonrpc": "2.0",
        "id": null,
        "error": { "code": code, "message": format!("{what} ({detail})") },
    });
    (StatusCode::BAD_REQUEST, axum::Json(body)).into_response()
}

/// rmcp answers a session's `DELETE` with `202 Accepted`; the session is gone
/// by then, and clients (the Python SDK among them) expect `200`/`204` for a
/// done termination, so the gateway says `204 No Content`.
pub(crate) async fn session_delete_is_no_content(request: Request, next: Next) -> Response {
    let delete = request.method() == axum::http::Method::DELETE;
    let response = next.run(request).await;
    if delete && response.status() == StatusCode::ACCEPTED {
        return StatusCode::NO_CONTENT.into_response();
    }
    response
}

#[cfg(test)]
mod tests {
    use axum::Router;
    use axum::body::Body;
    use axum::http::{Request, StatusCode};
    use axum::routing::post;
    use tower::ServiceExt;

    fn app() -> Router {
        Router::new()
            .route(
                "/",
                post(|| async { (StatusCode::UNSUPPORTED_MEDIA_TYPE, "bad body") }),
            )
            .layer(axum::middleware::from_fn_with_state(
                1024,
                super::parse_error_is_bad_request,
            ))
    }

    #[tokio::test]
    async fn json_content_type_turns_415_into_400() {
        let request = Request::post("/")
            .header("content-type", "application/json")
            .body(Body::from("{"))
            .unwrap();
        let response = app().oneshot(request).await.unwrap();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    }

    #[tokio::test]
    async fn bodies_over_the_limit_are_413() {
        let request = Request::post("/")
            .header("content-type", "application/json")
            .body(Body::from(vec![b' '; 2048]))
            .unwrap();
        let response = app().oneshot(request).await.unwrap();
        assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    }

    #[tokio::test]
    async fn other_content_types_keep_415() {
        let request = Request::post("/")
            .header("content-type", "text/plain")
            .body(Body::from("{"))
            .unwrap();
        let response = app().oneshot(request).await.unwrap();
        assert_eq!(response.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    }
}
