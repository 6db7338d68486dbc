#![doc = include_str!("../README.md")]

mod error;

pub use error::Error;

// ---- verification side: modules and re-exports ----

mod challenge;
mod claims;
mod discovery;
mod fetch;
mod jwks;
mod keys;
mod layer;
mod metadata;
mod scopes;
mod token_cache;
mod verifier;

pub use challenge::{AuthRejection, BearerChallenge, bearer_token};
pub use claims::{OktaClaims, Verified};
pub use discovery::{AuthorizationServerMetadata, discover};
pub use fetch::is_https_or_loopback;
pub use jwks::{JwksCache, JwksCacheBuilder, StartupMode};
pub use layer::{AuthLayer, AuthMode, AuthService};
pub use metadata::{ProtectedResourceMetadata, metadata_url, well_known_path};
pub use scopes::{RequireScopes, RequireScopesLayer, check_scopes, require_scopes};
pub use verifier::{
    DEFAULT_CACHE_CAPACITY, DEFAULT_CACHE_TTL, DEFAULT_LEEWAY, DEFAULT_MAX_TOKEN_LEN, Verifier,
    VerifierBuilder,
};

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

// ---- MCP client side: calling protected MCP servers ----
pub mod mcp_client;
