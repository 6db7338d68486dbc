//! `refresh_token` (RFC 6749 §6), and issuing refresh tokens for user grants.
//!
//! Refresh tokens are opaque random strings (as Okta's are), issued only when the granted
//! scopes include `offline_access` and the client may use the `refresh_token` grant. On use,
//! the client's [`crate::RefreshTokenRotation`] decides: `Persistent` returns the same token;
//! `Rotate` returns a new one (with a fresh lifetime) and the used one keeps working for the
//! grace period only. Deactivating a user revokes their refresh tokens.

use std::time::Instant;

use super::{TokenResponse, scopes};
use crate::client_auth::AuthenticatedClient;
use crate::config::{GrantType, RefreshTokenRotation, SimUser};
use crate::form::TokenForm;
use crate::http::errors::OAuthError;
use crate::state::{ServerState, SimState, lock};
use crate::tokens::{IssueRequest, RefreshRecord, issue_tokens_for, random_id};

const BAD_REFRESH_TOKEN: &str = "The refresh token is invalid or expired.";

/// Longest refresh token value looked up (ours are 43 characters).
const MAX_REFRESH_TOKEN_CHARS: usize = 512;

pub(super) fn grant(
    state: &SimState,
    server: &ServerState,
    client: &AuthenticatedClient<'_>,
    form: &TokenForm,
) -> Result<TokenResponse, OAuthError> {
    let token = form.get("refresh_token").ok_or_else(|| {
        OAuthError::invalid_request("The refresh_token grant requires 'refresh_token'.")
    })?;
    if token.len() > MAX_REFRESH_TOKEN_CHARS {
        return Err(OAuthError::invalid_grant(BAD_REFRESH_TOKEN));
    }
    let now = Instant::now();
    let record = lock(&state.refresh_tokens)
        .get(token, now)
        .cloned()
        .ok_or_else(|| OAuthError::invalid_grant(BAD_REFRESH_TOKEN))?;
    if record.server != server.id || record.client_id != client.id() {
        return Err(OAuthError::invalid_grant(BAD_REFRESH_TOKEN));
    }
    if let Some(resource) = form.get("resource") {
        let granted = record.audience.as_deref().unwrap_or(&server.audience);
        if resource != granted {
            return Err(OAuthError::invalid_target(
                "The resource differs from the one this refresh token was issued for.",
            ));
        }
    }
    let lineage = Lineage {
        audience: record.audience.clone(),
        grant_id: record.grant_id.clone(),
    };
    let user = state.active_user(&record.login).ok_or_else(|| {
        OAuthError::invalid_grant("The user of this refresh token is not active.")
    })?;
    let scopes = match form.get("scope") {
        None => record.scopes.clone(),
        Some(requested) => {
            let requested = scopes::parse(requested)?;
            let extra: Vec<&str> = requested
                .iter()
                .map(String::as_str)
                .filter(|s| !record.scopes.iter().any(|r| r == s))
                .collect();
            if !extra.is_empty() {
                return Err(OAuthError::invalid_scope(format!(
                    "The requested scopes exceed those of the refresh token: {}",
                    extra.join(", ")
                )));
            }
            requested
        }
    };
    let mut response = issue(
        server,
        client,
        user,
        &scopes,
        record.auth_time,
        None,
        &lineage,
    )?;
    let refresh_token = match client.record.refresh_rotation() {
        RefreshTokenRotation::Persistent => token.to_owned(),
        RefreshTokenRotation::Rotate { grace_period } => {
            let next = new_refresh_token(
                state,
                server,
                client,
                user,
                &record.scopes,
                record.auth_time,
                &lineage,
            )?;
            let until = now.checked_add(grace_period).unwrap_or(now);
            lock(&state.refresh_tokens).retire(token, until);
            next
        }
    };
    response.refresh_token = Some(refresh_token);
    Ok(response)
}

/// Where a user grant's tokens come from: the access token audience override (an RFC 8707
/// resource) and the authorization code they descend from. Refresh tokens inherit both.
#[derive(Debug, Clone, Default)]
pub(super) struct Lineage {
    pub(super) audience: Option<String>,
    pub(super) grant_id: Option<String>,
}

/// The token response of a user grant: access token, ID token with `openid`, refresh
/// token with `offline_access` (when the client may refresh).
pub(super) fn respond_for_user(
    state: &SimState,
    server: &ServerState,
    client: &AuthenticatedClient<'_>,
    user: &SimUser,
    scopes: Vec<String>,
    auth_time: i64,
    nonce: Option<&str>,
) -> Result<TokenResponse, OAuthError> {
    respond_with_lineage(
        state,
        server,
        client,
        user,
        (scopes, auth_time, nonce),
        &Lineage::default(),
    )
}

/// [`respond_for_user`] for tokens with a [`Lineage`] (authorization code grants).
pub(super) fn respond_with_lineage(
    state: &SimState,
    server: &ServerState,
    client: &AuthenticatedClient<'_>,
    user: &SimUser,
    (scopes, auth_time, nonce): (Vec<String>, i64, Option<&str>),
    lineage: &Lineage,
) -> Result<TokenResponse, OAuthError> {
    let mut response = issue(server, client, user, &scopes, auth_time, nonce, lineage)?;
    let may_refresh = client
        .record
        .config
        .grants
        .contains(&GrantType::RefreshToken);
    if may_refresh && scopes.iter().any(|s| s == "offline_access") {
        response.refresh_token = Some(new_refresh_token(
            state, server, client, user, &scopes, auth_time, lineage,
        )?);
    }
    Ok(response)
}

fn issue(
    server: &ServerState,
    client: &AuthenticatedClient<'_>,
    user: &SimUser,
    scopes: &[String],
    auth_time: i64,
    nonce: Option<&str>,
    lineage: &Lineage,
) -> Result<TokenResponse, OAuthError> {
    let issued = issue_tokens_for(
        &IssueRequest {
            server,
            client_id: client.id(),
            user: Some(user),
            scopes,
            auth_time,
            nonce,
        },
        lineage.audience.as_deref(),
    )
    .map_err(|e| OAuthError::server_error(e.to_string()))?;
    Ok(TokenResponse {
        token_type: "Bearer",
        expires_in: issued.expires_in,
        access_token: issued.access_token,
        scope: scopes.join(" "),
        refresh_token: None,
        id_token: issued.id_token,
    })
}

fn new_refresh_token(
    state: &SimState,
    server: &ServerState,
    client: &AuthenticatedClient<'_>,
    user: &SimUser,
    scopes: &[String],
    auth_time: i64,
    lineage: &Lineage,
) -> Result<String, OAuthError> {
    let token = random_id(32).map_err(|e| OAuthError::server_error(e.to_string()))?;
    let now = Instant::now();
    let record = RefreshRecord {
        server: server.id.clone(),
        client_id: client.id().to_owned(),
        login: user.login.clone(),
        scopes: scopes.to_vec(),
        auth_time,
        expires_at: now.checked_add(server.refresh_token_ttl).unwrap_or(now),
        retired_until: None,
        audience: lineage.audience.clone(),
        grant_id: lineage.grant_id.clone(),
    };
    lock(&state.refresh_tokens).insert(&token, record, now);
    Ok(token)
}
