//! rmcp answers a POST whose JSON body is not a JSON-RPC message with `415
//! Unsupported Media Type`. The media type was fine; the body was not. This
//! module turns that answer into `400 Bad Request` with the JSON-RPC error
//! that fits: `-32700` (parse error) when the body is not JSON, `-32600`
//! (invalid request) when it is JSON but not a JSON-RPC message. A wrong
//! `Content-Type` keeps its `415`; a body over the limit is `413`. The
//! endpoint ([`McpEndpoint`](crate::endpoint::McpEndpoint)) applies these.

use axum::http::{HeaderMap, StatusCode, header};
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

/// Whether a request's `Content-Type` is JSON (the body is then read and
/// parsed by the endpoint; rmcp refuses any other type with `415`).
pub(crate) fn json_body(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.trim_start()
                .to_ascii_lowercase()
                .starts_with("application/json")
        })
}

/// rmcp's answer to a JSON `body`, with its `415` turned into `400` and the
/// JSON-RPC error that fits (see the module docs).
pub(crate) async fn bad_request_if_not_json_rpc(response: Response, body: &[u8]) -> Response {
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
    let (code, what) = if serde_json::from_slice::<serde::de::IgnoredAny>(body).is_ok() {
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

#[cfg(test)]
mod tests {
    use axum::http::{HeaderMap, StatusCode};
    use axum::response::{IntoResponse, Response};

    use super::{bad_request_if_not_json_rpc, json_body};

    fn refused() -> Response {
        (StatusCode::UNSUPPORTED_MEDIA_TYPE, "bad body").into_response()
    }

    async fn error_of(response: Response) -> (StatusCode, serde_json::Value) {
        let status = response.status();
        let body = axum::body::to_bytes(response.into_body(), 4096)
            .await
            .unwrap();
        (status, serde_json::from_slice(&body).unwrap_or_default())
    }

    #[tokio::test]
    async fn rmcps_415_for_a_json_body_becomes_400_with_the_fitting_code() {
        let (status, body) = error_of(bad_request_if_not_json_rpc(refused(), b"{").await).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(body["error"]["code"], -32700);
        assert!(
            body["error"]["message"]
                .as_str()
                .unwrap()
                .contains("bad body")
        );
        let (status, body) = error_of(bad_request_if_not_json_rpc(refused(), b"[1]").await).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(body["error"]["code"], -32600);
    }

    #[tokio::test]
    async fn other_answers_are_left_alone() {
        let ok = (StatusCode::ACCEPTED, "").into_response();
        let response = bad_request_if_not_json_rpc(ok, b"{").await;
        assert_eq!(response.status(), StatusCode::ACCEPTED);
    }

    #[test]
    fn only_json_content_types_are_read() {
        let with = |value: &'static str| {
            let mut headers = HeaderMap::new();
            headers.insert("content-type", value.parse().unwrap());
            json_body(&headers)
        };
        assert!(with("application/json"));
        assert!(with(" Application/JSON; charset=utf-8"));
        assert!(!with("text/plain"));
        assert!(!json_body(&HeaderMap::new()));
    }
}
