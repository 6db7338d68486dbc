//! Client authentication at the token endpoint: `client_secret_basic`, `client_secret_post`
//! and `private_key_jwt`.

mod client_keys;
mod replay;

pub(crate) use client_keys::ClientKeys;
pub(crate) use replay::ReplayStore;

/// `token_endpoint_auth_methods_supported`.
pub(crate) const AUTH_METHODS: [&str; 3] = [
    "client_secret_basic",
    "client_secret_post",
    "private_key_jwt",
];

/// `token_endpoint_auth_signing_alg_values_supported`: what client assertions may use.
pub(crate) const ASSERTION_ALGORITHMS: [&str; 5] = ["RS256", "RS384", "RS512", "ES256", "ES384"];
