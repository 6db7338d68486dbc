//! `password` (RFC 6749 §4.3): resource owner password credentials.

use aws_lc_rs::constant_time::verify_slices_are_equal;
use sha2::{Digest, Sha256};

use super::{TokenResponse, refresh, scopes};
use crate::client_auth::AuthenticatedClient;
use crate::config::SimUser;
use crate::form::TokenForm;
use crate::http::errors::OAuthError;
use crate::state::{ServerState, SimState};
use crate::tokens::unix_now;

/// Okta's description for a wrong username, wrong password or inactive user alike.
const BAD_CREDENTIALS: &str = "The credentials provided were invalid.";

pub(super) fn grant(
    state: &SimState,
    server: &ServerState,
    client: &AuthenticatedClient<'_>,
    form: &TokenForm,
) -> Result<TokenResponse, OAuthError> {
    let username = form
        .get("username")
        .ok_or_else(|| OAuthError::invalid_request("The password grant requires 'username'."))?;
    let password = form
        .get("password")
        .ok_or_else(|| OAuthError::invalid_request("The password grant requires 'password'."))?;
    let user = check_password(state, username, password)?;
    let scopes = scopes::resolve(server, client, form.get("scope"), true)?;
    refresh::respond_for_user(
        state,
        server,
        client,
        user,
        scopes,
        unix_now(),
        form.get("nonce"),
    )
}

fn check_password<'a>(
    state: &'a SimState,
    login: &str,
    password: &str,
) -> Result<&'a SimUser, OAuthError> {
    let user = state
        .users
        .get(login)
        .ok_or_else(|| OAuthError::invalid_grant(BAD_CREDENTIALS))?;
    let given = Sha256::digest(password.as_bytes());
    let expected = Sha256::digest(user.password.as_bytes());
    verify_slices_are_equal(&given, &expected)
        .map_err(|_| OAuthError::invalid_grant(BAD_CREDENTIALS))?;
    state
        .active_user(login)
        .ok_or_else(|| OAuthError::invalid_grant(BAD_CREDENTIALS))
}
