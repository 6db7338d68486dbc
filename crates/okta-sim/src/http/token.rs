//! `POST …/v1/token`: body and content-type checks, then [`crate::grants::dispatch`].

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use http::header::CONTENT_TYPE;
use http::{HeaderMap, StatusCode};

use super::MAX_BODY_BYTES;
use super::errors::{OAuthError, unknown_auth_server};
use crate::config::AuthServerId;
use crate::form::TokenForm;
use crate::grants;
use crate::state::{ServerState, SimState};

pub(crate) async fn org_token(
    State(state): State<Arc<SimState>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    token(&state, &state.org, &headers, body).await
}

pub(crate) async fn custom_token(
    State(state): State<Arc<SimState>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    match state.server(&AuthServerId::Custom(id.clone())) {
        Some(server) => token(&state, server, &headers, body).await,
        None => unknown_auth_server(&id),
    }
}

async fn token(
    state: &SimState,
    server: &ServerState,
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let result = match parse(headers, body) {
        Ok(form) => grants::dispatch(state, server, headers, &form).await,
        Err(error) => Err(error),
    };
    match result {
        Ok(response) => response,
        Err(error) => {
            tracing::debug!(error = error.code(), "okta-sim token request refused");
            error.into_response()
        }
    }
}

fn parse(
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<TokenForm, OAuthError> {
    let body = body.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            OAuthError::invalid_request(format!(
                "The request body is larger than {MAX_BODY_BYTES} bytes."
            ))
            .with_status(StatusCode::PAYLOAD_TOO_LARGE)
        } else {
            OAuthError::invalid_request(format!("The request body could not be read: {rejection}"))
        }
    })?;
    let is_form = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|mime| {
            mime.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        });
    if !is_form {
        return Err(OAuthError::invalid_request(
            "The token request must have Content-Type application/x-www-form-urlencoded.",
        ));
    }
    TokenForm::parse_token_request(&body).map_err(OAuthError::invalid_request)
}
