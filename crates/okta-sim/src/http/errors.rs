//! Error responses: RFC 6749 §5.2 OAuth errors and Okta's API error body for 404/405.

use axum::Json;
use axum::response::{IntoResponse, Response};
use http::header::{CACHE_CONTROL, PRAGMA, WWW_AUTHENTICATE};
use http::{HeaderValue, StatusCode};
use serde_json::json;

/// An OAuth 2.0 error response (RFC 6749 §5.2).
#[derive(Debug, Clone)]
pub(crate) struct OAuthError {
    status: StatusCode,
    code: &'static str,
    description: String,
    basic_challenge: bool,
    /// Sent as `interaction_uri` (cross-app access consent).
    interaction_uri: Option<String>,
}

impl OAuthError {
    fn new(status: StatusCode, code: &'static str, description: impl Into<String>) -> Self {
        Self {
            status,
            code,
            description: description.into(),
            basic_challenge: false,
            interaction_uri: None,
        }
    }

    /// `invalid_target` (RFC 8693 §2.2.2): the audience or resource is not acceptable.
    pub(crate) fn invalid_target(description: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_target", description)
    }

    /// `interaction_required`: the user must visit `interaction_uri` (e.g. to consent).
    pub(crate) fn interaction_required(
        description: impl Into<String>,
        interaction_uri: impl Into<String>,
    ) -> Self {
        let mut error = Self::new(StatusCode::BAD_REQUEST, "interaction_required", description);
        error.interaction_uri = Some(interaction_uri.into());
        error
    }

    pub(crate) fn invalid_request(description: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_request", description)
    }

    /// `invalid_client`: always 401 (RFC 6749 §5.2 allows 400, Okta answers 401).
    pub(crate) fn invalid_client(description: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "invalid_client", description)
    }

    pub(crate) fn invalid_grant(description: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_grant", description)
    }

    pub(crate) fn invalid_scope(description: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_scope", description)
    }

    pub(crate) fn unauthorized_client(description: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "unauthorized_client", description)
    }

    pub(crate) fn unsupported_grant_type(description: impl Into<String>) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            description,
        )
    }

    pub(crate) fn temporarily_unavailable(description: impl Into<String>) -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "temporarily_unavailable",
            description,
        )
    }

    pub(crate) fn server_error(description: impl Into<String>) -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "server_error",
            description,
        )
    }

    /// Overrides the HTTP status (e.g. 413 for an oversized `invalid_request`).
    pub(crate) fn with_status(mut self, status: StatusCode) -> Self {
        self.status = status;
        self
    }

    /// Adds `WWW-Authenticate: Basic` (RFC 6749 §5.2: required when the client tried
    /// HTTP Basic authentication and failed).
    pub(crate) fn with_basic_challenge(mut self) -> Self {
        self.basic_challenge = true;
        self
    }

    pub(crate) fn code(&self) -> &'static str {
        self.code
    }

    /// The `error_description`.
    pub(crate) fn description(&self) -> &str {
        &self.description
    }
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        let mut body = json!({ "error": self.code, "error_description": self.description });
        if let Some(uri) = &self.interaction_uri {
            body["interaction_uri"] = json!(uri);
        }
        let mut response = (self.status, Json(body)).into_response();
        let headers = response.headers_mut();
        headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
        headers.insert(PRAGMA, HeaderValue::from_static("no-cache"));
        if self.basic_challenge {
            headers.insert(
                WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"okta-sim\", charset=\"UTF-8\""),
            );
        }
        response
    }
}

/// Okta's API error body (`errorCode`, `errorSummary`, ...), used for unknown resources.
pub(crate) fn okta_api_error(status: StatusCode, code: &str, summary: String) -> Response {
    let body = json!({
        "errorCode": code,
        "errorSummary": summary,
        "errorLink": code,
        "errorId": "oaeokta-sim",
        "errorCauses": [],
    });
    (status, Json(body)).into_response()
}

/// 404 for an authorization server id that is not configured.
pub(crate) fn unknown_auth_server(id: &str) -> Response {
    let shown: String = id.chars().take(64).collect();
    okta_api_error(
        StatusCode::NOT_FOUND,
        "E0000007",
        format!("Not found: Resource not found: {shown} (AuthorizationServer)"),
    )
}

/// 404 for any path the simulator does not serve.
pub(crate) async fn not_found() -> Response {
    okta_api_error(
        StatusCode::NOT_FOUND,
        "E0000022",
        "The endpoint does not exist in okta-sim.".to_owned(),
    )
}

/// 405 for a known path with the wrong method.
pub(crate) async fn method_not_allowed() -> Response {
    okta_api_error(
        StatusCode::METHOD_NOT_ALLOWED,
        "E0000022",
        "The endpoint does not support the provided HTTP method.".to_owned(),
    )
}
