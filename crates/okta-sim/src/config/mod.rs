//! Configuration types: users, clients, authorization servers and their claim rules.
//!
//! These are plain builder-style values handed to [`crate::OktaSimBuilder`]; the simulator
//! validates and compiles them in [`crate::OktaSimBuilder::start`].

mod auth_server;
mod client;
mod groups;
mod user;

pub use auth_server::AuthServer;
pub use client::{RefreshTokenRotation, SimClient};
pub use groups::GroupsClaim;
pub use user::SimUser;

pub(crate) use client::ClientCredential;
pub(crate) use groups::CompiledGroupsClaim;

use std::fmt;
use std::time::Duration;

/// An OAuth 2.0 grant type a client may be allowed to use.
///
/// The simulator implements every variant; more grant types may be added as new variants.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum GrantType {
    /// `client_credentials` (RFC 6749 §4.4): a service app acting as itself.
    ClientCredentials,
    /// `password` (RFC 6749 §4.3): resource owner password credentials.
    Password,
    /// `refresh_token` (RFC 6749 §6).
    RefreshToken,
    /// `urn:ietf:params:oauth:grant-type:token-exchange` (RFC 8693), org server: a user's ID
    /// token becomes an ID-JAG for a managed connection (cross-app access).
    TokenExchange,
    /// `urn:ietf:params:oauth:grant-type:jwt-bearer` (RFC 7523), custom servers: an ID-JAG
    /// from the org server becomes an access token.
    JwtBearer,
    /// `authorization_code` (RFC 6749 §4.1) with PKCE S256 (RFC 7636), custom servers: a
    /// user signs in at `/v1/authorize` and the client redeems the code.
    AuthorizationCode,
}

impl GrantType {
    /// The `grant_type` form value of this grant, e.g. `"client_credentials"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ClientCredentials => "client_credentials",
            Self::Password => "password",
            Self::RefreshToken => "refresh_token",
            Self::TokenExchange => "urn:ietf:params:oauth:grant-type:token-exchange",
            Self::JwtBearer => "urn:ietf:params:oauth:grant-type:jwt-bearer",
            Self::AuthorizationCode => "authorization_code",
        }
    }

    /// Parses a `grant_type` form value; `None` for grants the simulator does not know.
    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "client_credentials" => Some(Self::ClientCredentials),
            "password" => Some(Self::Password),
            "refresh_token" => Some(Self::RefreshToken),
            "urn:ietf:params:oauth:grant-type:token-exchange" => Some(Self::TokenExchange),
            "urn:ietf:params:oauth:grant-type:jwt-bearer" => Some(Self::JwtBearer),
            "authorization_code" => Some(Self::AuthorizationCode),
            _ => None,
        }
    }
}

impl fmt::Display for GrantType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Names an authorization server of the simulated org: the org server or a custom one.
///
/// Control methods of [`crate::OktaSim`] take `impl Into<AuthServerId>`, so a custom server
/// is named by its id string (`"default"`), the org server by [`AuthServerId::Org`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum AuthServerId {
    /// The org authorization server (issuer = the org URL, endpoints under `/oauth2/v1/`).
    Org,
    /// A custom authorization server (issuer = `{org}/oauth2/{id}`).
    Custom(String),
}

impl From<&str> for AuthServerId {
    fn from(id: &str) -> Self {
        Self::Custom(id.to_owned())
    }
}

impl From<String> for AuthServerId {
    fn from(id: String) -> Self {
        Self::Custom(id)
    }
}

impl From<&String> for AuthServerId {
    fn from(id: &String) -> Self {
        Self::Custom(id.clone())
    }
}

impl fmt::Display for AuthServerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Org => f.write_str("org"),
            Self::Custom(id) => f.write_str(id),
        }
    }
}

/// What happens to the previous signing key when a server's key is rotated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyRotation {
    /// Keep publishing the old key in the JWKS for this long (tokens it signed stay
    /// verifiable), then drop it. This is what Okta does on a scheduled rotation.
    KeepOldFor(Duration),
    /// Remove the old key from the JWKS at once (an emergency rotation): tokens it signed
    /// can no longer be verified by anyone who refetches the key set.
    DropOld,
}
