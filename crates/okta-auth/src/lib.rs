//! Verify Okta access tokens (JWT/JWKS), protect tower/axum services (RFC 6750,
//! RFC 9728), and obtain tokens from Okta.

mod error;

pub use error::Error;

// ---- verification side: modules and re-exports ----

mod discovery;
mod fetch;

pub use discovery::{AuthorizationServerMetadata, discover};

// ---- token client side: modules and re-exports ----
mod client_auth;
mod signing_key;
mod token_endpoint;
mod token_response;
mod token_source;

pub use client_auth::{CLIENT_ASSERTION_TYPE_JWT_BEARER, ClientAuth, MAX_ASSERTION_LIFETIME};
pub use signing_key::SigningKey;
pub use token_endpoint::{DEFAULT_TOKEN_REQUEST_TIMEOUT, TokenEndpointClient};
pub use token_response::{OAuthErrorCode, TokenResponse};
pub use token_source::{AccessToken, DEFAULT_REFRESH_BUFFER, TokenSource, TokenSourceBuilder};
