//! RFC 7523 JWT-bearer grant at a custom server, accepting ID-JAGs from the org server.
//! Every check of the ID-JAG is `id_jag::IdJagValidator`'s (the simulator dogfoods it).

use axum::response::{IntoResponse, Response};
use id_jag::{Error as IdJagError, Rejection};

use super::{TokenResponse, scopes};
use crate::client_auth::AuthenticatedClient;
use crate::form::TokenForm;
use crate::http::errors::OAuthError;
use crate::state::{ServerState, SimState};
use crate::tokens::{IssueRequest, issue_tokens};

pub(super) async fn grant(
    state: &SimState,
    server: &ServerState,
    client: &AuthenticatedClient<'_>,
    form: &TokenForm,
) -> Result<Response, OAuthError> {
    let assertion = form
        .get("assertion")
        .ok_or_else(|| OAuthError::invalid_request("The JWT-bearer grant requires 'assertion'."))?;
    let verifiers = state.cross_app.verifiers(state).await?;
    let validator = verifiers.id_jags.get(&server.issuer).ok_or_else(|| {
        OAuthError::server_error("No ID-JAG validator for this authorization server.")
    })?;
    let claims = validator
        .validate(assertion, client.id())
        .await
        .map_err(|e| match e {
            IdJagError::Rejected(Rejection::KeysUnavailable(_) | Rejection::ReplayStoreFull) => {
                OAuthError::temporarily_unavailable(format!(
                    "The assertion cannot be checked now: {e}"
                ))
            }
            other => OAuthError::invalid_grant(format!("The assertion is invalid: {other}.")),
        })?;
    let user = state
        .users
        .values()
        .find(|u| u.user_id() == claims.sub)
        .and_then(|u| state.active_user(u.login()))
        .ok_or_else(|| OAuthError::invalid_grant("The assertion's user is not active."))?;
    // Granted: the requested scopes (each must be in the assertion), else the assertion's.
    let granted = match form.get("scope") {
        Some(requested) => {
            let requested = scopes::parse(requested)?;
            let beyond: Vec<&str> = requested
                .iter()
                .map(String::as_str)
                .filter(|s| !claims.scopes.iter().any(|c| c == s))
                .collect();
            if !beyond.is_empty() {
                return Err(OAuthError::invalid_scope(format!(
                    "The requested scopes exceed the assertion's: {}",
                    beyond.join(", ")
                )));
            }
            requested
        }
        None => claims.granted_scopes(&server.scopes),
    };
    let issued = issue_tokens(&IssueRequest {
        server,
        client_id: client.id(),
        user: Some(user),
        scopes: &granted,
        auth_time: claims
            .raw
            .get("auth_time")
            .and_then(serde_json::Value::as_i64)
            .unwrap_or_else(crate::tokens::unix_now),
        nonce: None,
    })
    .map_err(|e| OAuthError::server_error(e.to_string()))?;
    Ok(TokenResponse {
        token_type: "Bearer",
        expires_in: issued.expires_in,
        access_token: issued.access_token,
        scope: granted.join(" "),
        refresh_token: None,
        id_token: None,
    }
    .into_response())
}
