//! rmcp answers a POST whose JSON body does not parse with `415 Unsupported
//! Media Type`. The media type was fine; the body was not. This middleware
//! turns that answer into `400 Bad Request` with a JSON-RPC parse error
//! (`-32700`), as JSON-RPC over HTTP expects. A wrong `Content-Type` keeps
//! its `415`.

use axum::extract::Request;
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// Largest rmcp error text kept in the rewritten message.
const MAX_DETAIL: usize = 512;

pub(crate) async fn parse_error_is_bad_request(request: Request, next: Next) -> Response {
    let json_body = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.trim_start()
                .to_ascii_lowercase()
                .starts_with("application/json")
        });
    let response = next.run(request).await;
    if !json_body || response.status() != StatusCode::UNSUPPORTED_MEDIA_TYPE {
        return response;
    }
    let detail = match axum::body::to_bytes(response.into_body(), MAX_DETAIL * 2).await {
        Ok(bytes) => String::from_utf8_lossy(&bytes)
            .chars()
            .take(MAX_DETAIL)
            .collect(),
        Err(_) => String::new(),
    };
    let body = json!({
        "jsonrpc": "2.0",
        "id": null,
        "error": { "code": -32700, "message": format!("Parse error: the body is not a JSON-RPC message ({detail})") },
    });
    (StatusCode::BAD_REQUEST, axum::Json(body)).into_response()
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
            .layer(axum::middleware::from_fn(super::parse_error_is_bad_request))
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
    async fn other_content_types_keep_415() {
        let request = Request::post("/")
            .header("content-type", "text/plain")
            .body(Body::from("{"))
            .unwrap();
        let response = app().oneshot(request).await.unwrap();
        assert_eq!(response.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    }
}
