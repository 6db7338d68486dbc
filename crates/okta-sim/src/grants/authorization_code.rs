//! `authorization_code` (RFC 6749 §4.1.3) with PKCE S256 (RFC 7636 §4.6), custom servers.
//!
//! The code is single-use: the first redemption attempt burns it whatever its outcome, and
//! a second one answers `invalid_grant` and revokes the refresh tokens issued from it (RFC
//! 6749 §4.1.2; access tokens are self-contained JWTs and stay valid until they expire).
//! The code is bound to the server, client, `redirect_uri` and PKCE challenge.

use std::time::Instant;

use super::TokenResponse;
use super::refresh::{Lineage, respond_with_lineage};
use crate::client_auth::{AuthMethod, AuthenticatedClient};
use crate::codes::Redeemed;
use crate::config::{AuthServer, ClientCredential, GrantType, SimClient};
use crate::error::Error;
use crate::form::TokenForm;
use crate::http::errors::OAuthError;
use crate::redirect_uri::{check_redirect_uri, check_resource};
use crate::state::{ClientRecord, ServerState, SimState, lock};

const BAD_CODE: &str = "The authorization code is invalid or has expired.";

/// Longest code value looked up (ours are 43 characters).
const MAX_CODE_CHARS: usize = 512;

pub(super) fn grant(
    state: &SimState,
    server: &ServerState,
    client: &AuthenticatedClient<'_>,
    form: &TokenForm,
) -> Result<TokenResponse, OAuthError> {
    let code = form.get("code").ok_or_else(|| {
        OAuthError::invalid_request("The authorization_code grant requires 'code'.")
    })?;
    let verifier = form.get("code_verifier").ok_or_else(|| {
        OAuthError::invalid_request(
            "PKCE verification failed: the token request must include 'code_verifier'.",
        )
    })?;
    let redirect_uri = form.get("redirect_uri").ok_or_else(|| {
        OAuthError::invalid_request(
            "The 'redirect_uri' of the authorization request is required (RFC 6749 §4.1.3).",
        )
    })?;
    if code.len() > MAX_CODE_CHARS {
        return Err(OAuthError::invalid_grant(BAD_CODE));
    }
    let redeemed = lock(&state.codes).redeem(code, Instant::now());
    let grant = match redeemed {
        Redeemed::Fresh(grant) => grant,
        Redeemed::Invalid => return Err(OAuthError::invalid_grant(BAD_CODE)),
        Redeemed::Reused(grant_id) => {
            lock(&state.refresh_tokens).revoke_grant(&grant_id);
            tracing::warn!(
                client_id = client.id(),
                "okta-sim: authorization code reused; refresh tokens issued from it revoked"
            );
            return Err(OAuthError::invalid_grant(
                "The authorization code was already used; tokens issued from it are revoked.",
            ));
        }
    };
    if grant.server != server.id || grant.client_id != client.id() {
        return Err(OAuthError::invalid_grant(BAD_CODE));
    }
    if grant.redirect_uri != redirect_uri {
        return Err(OAuthError::invalid_grant(
            "The 'redirect_uri' does not match the one of the authorization request.",
        ));
    }
    if !crate::pkce::verify(&grant.challenge, verifier) {
        return Err(OAuthError::invalid_grant(
            "PKCE verification failed: the code_verifier does not match the code_challenge.",
        ));
    }
    if let Some(resource) = form.get("resource")
        && grant.resource.as_deref() != Some(resource)
    {
        return Err(OAuthError::invalid_target(
            "The resource differs from the one of the authorization request.",
        ));
    }
    let user = state
        .active_user(&grant.login)
        .ok_or_else(|| OAuthError::invalid_grant("The user is not active."))?;
    let lineage = Lineage {
        audience: grant.resource.clone(),
        grant_id: Some(grant.grant_id.clone()),
    };
    respond_with_lineage(
        state,
        server,
        client,
        user,
        (grant.scopes, grant.auth_time, grant.nonce.as_deref()),
        &lineage,
    )
}

/// The scopes an authorization request gets (same rules as at the token endpoint: known to
/// the server, allowed for the client, default scopes when none are named).
pub(crate) fn authorize_scopes(
    server: &ServerState,
    record: &ClientRecord,
    requested: Option<&str>,
) -> Result<Vec<String>, OAuthError> {
    // No client authentication happens at the authorization endpoint; only the record is read.
    let client = AuthenticatedClient {
        record,
        method: AuthMethod::None,
    };
    super::scopes::resolve(server, &client, requested, true)
}

/// Start-time checks of a configured client's authorization code settings.
pub(crate) fn check_client_config(client: &SimClient) -> Result<(), Error> {
    for uri in &client.redirect_uris {
        check_redirect_uri(uri)
            .map_err(|why| Error::Config(format!("client `{}`: {why}", client.id)))?;
    }
    if matches!(client.credential, ClientCredential::None) {
        let other: Vec<&str> = client
            .grants
            .iter()
            .filter(|g| !matches!(g, GrantType::AuthorizationCode | GrantType::RefreshToken))
            .map(|g| g.as_str())
            .collect();
        if !other.is_empty() {
            return Err(Error::Config(format!(
                "public client `{}` may only use authorization_code and refresh_token, not {}; \
                 give it a secret or a key for other grants",
                client.id,
                other.join(", ")
            )));
        }
    }
    Ok(())
}

/// Start-time checks of a server's RFC 8707 resources.
pub(crate) fn check_server_config(server: &AuthServer) -> Result<(), Error> {
    for resource in &server.resources {
        check_resource(resource).map_err(|why| {
            Error::Config(format!(
                "authorization server `{}`: resource `{resource}`: {why}",
                server.id
            ))
        })?;
    }
    Ok(())
}
