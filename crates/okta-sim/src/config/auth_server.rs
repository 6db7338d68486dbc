//! Custom authorization server configuration (Okta: Security > API > Authorization Servers).

use std::time::Duration;

use super::GroupsClaim;

/// A custom authorization server, served at `/oauth2/{id}`.
///
/// The simulator always has a custom server `default` (audience `api://default`, like every
/// Okta org with API Access Management); configuring one with id `default` replaces it.
///
/// ```
/// use std::time::Duration;
/// use okta_sim::{AuthServer, GroupsClaim};
/// let server = AuthServer::new("default")
///     .audience("api://default")
///     .scopes(["mcp:read", "mcp:write"])
///     .groups_claim(GroupsClaim::starts_with("mcp-"))
///     .access_token_ttl(Duration::from_secs(3600));
/// assert_eq!(server.id(), "default");
/// ```
#[derive(Debug, Clone)]
pub struct AuthServer {
    pub(crate) id: String,
    pub(crate) audience: Option<String>,
    pub(crate) scopes: Vec<String>,
    pub(crate) default_scopes: Vec<String>,
    pub(crate) groups_claim: GroupsClaim,
    pub(crate) access_token_ttl: Duration,
    pub(crate) id_token_ttl: Duration,
    pub(crate) refresh_token_ttl: Duration,
    pub(crate) resources: Vec<String>,
}

impl AuthServer {
    /// A custom authorization server with this id: audience `api://{id}`, no custom scopes
    /// (the OIDC scopes `openid profile email address phone offline_access` always exist),
    /// no groups claim, 1-hour access and ID tokens, 7-day refresh tokens.
    ///
    /// Ids may use ASCII letters, digits, `-` and `_` (checked when the simulator starts).
    pub fn new(id: impl Into<String>) -> Self {
        Self {
            id: id.into(),
            audience: None,
            scopes: Vec::new(),
            default_scopes: Vec::new(),
            groups_claim: GroupsClaim::none(),
            access_token_ttl: Duration::from_secs(3600),
            id_token_ttl: Duration::from_secs(3600),
            refresh_token_ttl: Duration::from_secs(7 * 24 * 3600),
            resources: Vec::new(),
        }
    }

    /// The `aud` of this server's access tokens (default `api://{id}`).
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        self.audience = Some(audience.into());
        self
    }

    /// The custom scopes this server defines (in addition to the OIDC scopes).
    pub fn scopes<I, S>(mut self, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.scopes = scopes.into_iter().map(Into::into).collect();
        self
    }

    /// Scopes granted when a request names none (Okta: "Set as a default scope"). Without
    /// default scopes a request without `scope` fails with `invalid_scope`, as on Okta.
    pub fn default_scopes<I, S>(mut self, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.default_scopes = scopes.into_iter().map(Into::into).collect();
        self
    }

    /// The groups claim of this server's user access tokens (default: none).
    pub fn groups_claim(mut self, claim: GroupsClaim) -> Self {
        self.groups_claim = claim;
        self
    }

    /// Lifetime of access tokens (default 1 hour; Okta allows 5 minutes to 1 day).
    pub fn access_token_ttl(mut self, ttl: Duration) -> Self {
        self.access_token_ttl = ttl;
        self
    }

    /// Lifetime of ID tokens (default 1 hour).
    pub fn id_token_ttl(mut self, ttl: Duration) -> Self {
        self.id_token_ttl = ttl;
        self
    }

    /// Lifetime of refresh tokens (default 7 days).
    pub fn refresh_token_ttl(mut self, ttl: Duration) -> Self {
        self.refresh_token_ttl = ttl;
        self
    }

    /// The RFC 8707 resource indicators this server issues tokens for at `/v1/authorize`
    /// (e.g. the URL MCP clients connect to, `http://127.0.0.1:8080/mcp`). A `resource`
    /// parameter naming one of them (or the server's [`AuthServer::audience`]) becomes the
    /// access token's `aud`; any other answers `invalid_target`. Default: none (only the
    /// audience). Each must be an absolute URI without fragment (checked at start).
    pub fn resources<I, S>(mut self, resources: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.resources = resources.into_iter().map(Into::into).collect();
        self
    }

    /// The server id (the `{id}` in `/oauth2/{id}`).
    pub fn id(&self) -> &str {
        &self.id
    }
}
