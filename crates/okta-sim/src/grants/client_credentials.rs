//! `client_credentials` (RFC 6749 §4.4): a client acting as itself; custom servers only.

use super::{TokenResponse, scopes};
use crate::client_auth::AuthenticatedClient;
use crate::form::TokenForm;
use crate::http::errors::OAuthError;
use crate::tokens::{IssueRequest, issue_tokens, unix_now};

pub(super) fn grant(
    server: &crate::state::ServerState,
    client: &AuthenticatedClient<'_>,
    form: &TokenForm,
) -> Result<TokenResponse, OAuthError> {
    let scopes = scopes::resolve(server, client, form.get("scope"), false)?;
    let issued = issue_tokens(&IssueRequest {
        server,
        client_id: client.id(),
        user: None,
        scopes: &scopes,
        auth_time: unix_now(),
        nonce: None,
    })
    .map_err(|e| OAuthError::server_error(e.to_string()))?;
    Ok(TokenResponse {
        token_type: "Bearer",
        expires_in: issued.expires_in,
        access_token: issued.access_token,
        scope: scopes.join(" "),
        refresh_token: None,
        id_token: None,
    })
}
