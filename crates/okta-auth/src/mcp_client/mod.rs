//! Client side of MCP authorization: calling MCP servers protected by OAuth.
//!
//! [`McpAuthClient`] turns a server's `401` into a token (RFC 9728 protected resource
//! metadata → authorization server discovery → a [`TokenProvider`]), caches it per
//! (authorization server, resource, scopes), and steps up once on `403 insufficient_scope`.
//! Flows: [`ClientCredentials`] here (`client_secret_basic`, `client_secret_post`,
//! `private_key_jwt` with RS256/ES256 keys from PEM), ID-JAG in the `id-jag` crate
//! (`id_jag::IdJagProvider`), or any [`TokenProvider`] of your own.
//!
//! Use it with plain reqwest ([`McpAuthClient::send`]) or, with the `rmcp` feature, under
//! rmcp's streamable HTTP client transport ([`AuthorizedHttpClient`]).

mod client;
mod discovery;
mod provider;
mod resource;
#[cfg(feature = "rmcp")]
mod rmcp_transport;
mod send;
mod www_authenticate;

pub use client::{DEFAULT_MCP_REFRESH_BUFFER, McpAuthClient, McpAuthClientBuilder};
pub use provider::{
    AssertionAudience, ClientCredentials, TokenProvider, TokenRequest, check_client_auth,
};
#[cfg(feature = "rmcp")]
pub use rmcp_transport::{AuthorizedHttpClient, auth_error};
