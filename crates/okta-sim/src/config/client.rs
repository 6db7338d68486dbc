//! Configured OAuth clients (Okta "app integrations").

use std::fmt;
use std::time::Duration;

use super::GrantType;

/// An OAuth client of the simulated org: its id, how it authenticates, and what it may ask for.
///
/// ```
/// use okta_sim::{GrantType, SimClient};
/// let agent = SimClient::secret("agent", "agent-secret")
///     .grants([GrantType::ClientCredentials])
///     .scopes(["mcp:read"]);
/// assert_eq!(agent.client_id(), "agent");
/// ```
#[derive(Clone)]
pub struct SimClient {
    pub(crate) id: String,
    pub(crate) credential: ClientCredential,
    pub(crate) grants: Vec<GrantType>,
    pub(crate) scopes: Option<Vec<String>>,
    pub(crate) refresh_rotation: RefreshTokenRotation,
    /// Redirect URIs for the authorization code flow (exact match).
    pub(crate) redirect_uris: Vec<String>,
    /// Display name shown on the sign-in page (`client_name` of a registered client).
    pub(crate) name: Option<String>,
}

/// How a client proves its identity at the token endpoint.
#[derive(Clone)]
pub(crate) enum ClientCredential {
    /// A shared secret: `client_secret_basic` or `client_secret_post`.
    Secret(String),
    /// A public JWK or JWK Set: `private_key_jwt`.
    PublicJwk(serde_json::Value),
    /// No credential: a public client (`token_endpoint_auth_method` `none`) that sends only
    /// its `client_id` and proves possession of the authorization code with PKCE.
    None,
}

/// What the token endpoint does with a refresh token once it has been used.
///
/// Okta configures this per app ("Refresh token behavior"). The default is
/// `Rotate { grace_period: 30 s }`, Okta's default when rotation is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefreshTokenRotation {
    /// The same refresh token is returned and stays valid until it expires.
    Persistent,
    /// Every use returns a new refresh token; the used one keeps working for
    /// `grace_period` (for clients that race), then is rejected with `invalid_grant`.
    Rotate {
        /// How long a used refresh token stays valid (zero: invalid at once).
        grace_period: Duration,
    },
}

impl Default for RefreshTokenRotation {
    fn default() -> Self {
        Self::Rotate {
            grace_period: Duration::from_secs(30),
        }
    }
}

impl SimClient {
    /// A confidential client that authenticates with a shared secret, by
    /// `client_secret_basic` or `client_secret_post` (both accepted, as Okta does).
    ///
    /// Default grants: `client_credentials` only; default scopes: every scope of the server.
    pub fn secret(client_id: impl Into<String>, client_secret: impl Into<String>) -> Self {
        Self::with_credential(
            client_id.into(),
            ClientCredential::Secret(client_secret.into()),
        )
    }

    /// A client that authenticates with `private_key_jwt` (RFC 7523 §2.2) using the given
    /// public key: a JWK object (RSA, or EC P-256/P-384) or a JWK Set `{"keys": [...]}`.
    /// The key is validated in [`crate::OktaSimBuilder::start`]; a private key is refused.
    pub fn private_key_jwt(client_id: impl Into<String>, public_jwk: serde_json::Value) -> Self {
        Self::with_credential(client_id.into(), ClientCredential::PublicJwk(public_jwk))
    }

    /// A public client (a native app, SPA or MCP client without a secret;
    /// `token_endpoint_auth_method` `none`): it sends only `client_id` to the token endpoint
    /// and must use PKCE. Default grants: `authorization_code` and `refresh_token` (the only
    /// grants a public client may have; others are a configuration error at start).
    ///
    /// ```
    /// use okta_sim::SimClient;
    /// let cli = SimClient::public("mcp-cli").redirect_uris(["http://127.0.0.1:33418/callback"]);
    /// assert_eq!(cli.client_id(), "mcp-cli");
    /// ```
    pub fn public(client_id: impl Into<String>) -> Self {
        let mut client = Self::with_credential(client_id.into(), ClientCredential::None);
        client.grants = vec![GrantType::AuthorizationCode, GrantType::RefreshToken];
        client
    }

    fn with_credential(id: String, credential: ClientCredential) -> Self {
        Self {
            id,
            credential,
            grants: vec![GrantType::ClientCredentials],
            scopes: None,
            refresh_rotation: RefreshTokenRotation::default(),
            redirect_uris: Vec::new(),
            name: None,
        }
    }

    /// The redirect URIs this client may use at `/v1/authorize`; a request's `redirect_uri`
    /// must equal one of them exactly (no port wildcard for loopback). Each must be an
    /// absolute URI without fragment, `https`, `http` only for loopback hosts, or a private-use
    /// scheme (RFC 8252 §7.1); checked at start.
    pub fn redirect_uris<I, S>(mut self, uris: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.redirect_uris = uris.into_iter().map(Into::into).collect();
        self
    }

    /// The display name the sign-in page shows (default: the client id).
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// The grant types this client may use (others get `unauthorized_client`).
    pub fn grants<I>(mut self, grants: I) -> Self
    where
        I: IntoIterator<Item = GrantType>,
    {
        self.grants = grants.into_iter().collect();
        self
    }

    /// The scopes this client may request (others get `invalid_scope`). Without this call the
    /// client may request every scope of the authorization server, like an Okta access policy
    /// rule granting "any scopes".
    pub fn scopes<I, S>(mut self, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.scopes = Some(scopes.into_iter().map(Into::into).collect());
        self
    }

    /// What happens to a refresh token once used (default: rotate with a 30 s grace period).
    pub fn refresh_token_rotation(mut self, rotation: RefreshTokenRotation) -> Self {
        self.refresh_rotation = rotation;
        self
    }

    /// The client id (`cid` claim).
    pub fn client_id(&self) -> &str {
        &self.id
    }
}

impl fmt::Debug for SimClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let auth = match &self.credential {
            ClientCredential::Secret(_) => "client_secret ([redacted])",
            ClientCredential::PublicJwk(_) => "private_key_jwt",
            ClientCredential::None => "none (public client)",
        };
        f.debug_struct("SimClient")
            .field("id", &self.id)
            .field("auth", &auth)
            .field("grants", &self.grants)
            .field("scopes", &self.scopes)
            .field("refresh_rotation", &self.refresh_rotation)
            .field("redirect_uris", &self.redirect_uris)
            .field("name", &self.name)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::SimClient;

    #[test]
    fn debug_redacts_secret() {
        let text = format!("{:?}", SimClient::secret("agent", "hunter2-secret"));
        assert!(!text.contains("hunter2-secret"));
        assert!(text.contains("agent"));
    }
}
