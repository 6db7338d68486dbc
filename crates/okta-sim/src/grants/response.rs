//! The successful token response (RFC 6749 §5.1).

use axum::Json;
use axum::response::{IntoResponse, Response};
use http::HeaderValue;
use http::header::{CACHE_CONTROL, PRAGMA};
use serde::Serialize;

/// JSON body of a successful token response.
#[derive(Debug, Serialize)]
pub(crate) struct TokenResponse {
    pub(crate) token_type: &'static str,
    pub(crate) expires_in: u64,
    pub(crate) access_token: String,
    pub(crate) scope: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) refresh_token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) id_token: Option<String>,
}

impl IntoResponse for TokenResponse {
    fn into_response(self) -> Response {
        let mut response = Json(self).into_response();
        let headers = response.headers_mut();
        headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
        headers.insert(PRAGMA, HeaderValue::from_static("no-cache"));
        response
    }
}
