//! Client authentication at the token endpoint: `client_secret_basic`, `client_secret_post`
//! and `private_key_jwt`. Exactly one method per request (two or more: `invalid_request`).

mod assertion;
mod basic;
mod client_keys;
mod replay;

pub(crate) use client_keys::ClientKeys;
pub(crate) use replay::ReplayStore;

use aws_lc_rs::constant_time::verify_slices_are_equal;
use http::HeaderMap;
use http::header::AUTHORIZATION;
use sha2::{Digest, Sha256};

use crate::config::ClientCredential;
use crate::form::TokenForm;
use crate::http::errors::OAuthError;
use crate::state::{ClientRecord, ServerState, SimState};

/// `token_endpoint_auth_methods_supported` (`none`: public clients with PKCE).
pub(crate) const AUTH_METHODS: [&str; 4] = [
    "client_secret_basic",
    "client_secret_post",
    "private_key_jwt",
    "none",
];

/// `token_endpoint_auth_signing_alg_values_supported`: what client assertions may use.
pub(crate) const ASSERTION_ALGORITHMS: [&str; 5] = ["RS256", "RS384", "RS512", "ES256", "ES384"];

const BAD_CLIENT: &str =
    "Client authentication failed. Either the client or the client credentials are invalid.";

/// How the client authenticated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AuthMethod {
    SecretBasic,
    SecretPost,
    PrivateKeyJwt,
    /// A public client: only `client_id`, no credential (PKCE protects the code).
    None,
}

/// A client that proved its identity.
#[derive(Debug)]
pub(crate) struct AuthenticatedClient<'a> {
    pub(crate) record: &'a ClientRecord,
    pub(crate) method: AuthMethod,
}

impl AuthenticatedClient<'_> {
    pub(crate) fn id(&self) -> &str {
        &self.record.config.id
    }
}

/// Authenticates the client of a token request.
pub(crate) fn authenticate<'a>(
    state: &'a SimState,
    server: &ServerState,
    headers: &HeaderMap,
    form: &TokenForm,
) -> Result<AuthenticatedClient<'a>, OAuthError> {
    let mut authorization = headers.get_all(AUTHORIZATION).iter();
    let header = authorization.next();
    if authorization.next().is_some() {
        return Err(OAuthError::invalid_request(
            "The request has more than one Authorization header.",
        ));
    }
    let uses_basic = header.is_some();
    let uses_post = form.get("client_secret").is_some();
    let uses_jwt =
        form.get("client_assertion").is_some() || form.get("client_assertion_type").is_some();
    let methods = [uses_basic, uses_post, uses_jwt]
        .iter()
        .filter(|used| **used)
        .count();
    if methods > 1 {
        return Err(OAuthError::invalid_request(
            "Cannot supply multiple client credentials. Use one of the following: credentials in \
             the Authorization header, credentials in the post body, or a client_assertion in \
             the post body.",
        ));
    }
    if let Some(header) = header {
        let (client_id, secret) = basic::parse(header)
            .map_err(|why| OAuthError::invalid_client(why).with_basic_challenge())?;
        if form.get("client_id").is_some_and(|id| id != client_id) {
            return Err(OAuthError::invalid_client(
                "The client_id in the body does not match the client authenticated by the Authorization header.",
            )
            .with_basic_challenge());
        }
        let record =
            check_secret(state, &client_id, &secret).map_err(OAuthError::with_basic_challenge)?;
        return Ok(AuthenticatedClient {
            record,
            method: AuthMethod::SecretBasic,
        });
    }
    if let Some(secret) = form.get("client_secret") {
        let client_id = form.get("client_id").ok_or_else(|| {
            OAuthError::invalid_client("client_secret was sent without a client_id.")
        })?;
        let record = check_secret(state, client_id, secret)?;
        return Ok(AuthenticatedClient {
            record,
            method: AuthMethod::SecretPost,
        });
    }
    if uses_jwt {
        let record = assertion::verify(state, server, form)?;
        return Ok(AuthenticatedClient {
            record,
            method: AuthMethod::PrivateKeyJwt,
        });
    }
    if let Some(client_id) = form.get("client_id")
        && let Some(record) = state.client(client_id)
        && matches!(record.config.credential, ClientCredential::None)
    {
        return Ok(AuthenticatedClient {
            record,
            method: AuthMethod::None,
        });
    }
    Err(OAuthError::invalid_client("No client credentials found."))
}

fn check_secret<'a>(
    state: &'a SimState,
    client_id: &str,
    secret: &str,
) -> Result<&'a ClientRecord, OAuthError> {
    let record = state
        .client(client_id)
        .ok_or_else(|| OAuthError::invalid_client(BAD_CLIENT))?;
    match &record.config.credential {
        ClientCredential::Secret(expected) => {
            // Compare digests in constant time so neither content nor length leaks.
            let given = Sha256::digest(secret.as_bytes());
            let expected = Sha256::digest(expected.as_bytes());
            verify_slices_are_equal(&given, &expected)
                .map(|()| record)
                .map_err(|_| OAuthError::invalid_client(BAD_CLIENT))
        }
        ClientCredential::None => Err(OAuthError::invalid_client(
            "The client is a public client (token_endpoint_auth_method none); send only its \
             client_id, without a client_secret.",
        )),
        ClientCredential::PublicJwk(_) => Err(OAuthError::invalid_client(
            "The client is registered for private_key_jwt; a client_secret is not accepted.",
        )),
    }
}
