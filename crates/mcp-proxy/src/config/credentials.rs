//! Outgoing credentials of an HTTP backend: what the gateway sends to it.
//! The caller's own token is never forwarded.

use std::path::PathBuf;

use serde::Deserialize;

/// A secret string: never shown by `Debug`.
#[derive(Clone, Deserialize, PartialEq, Eq)]
#[serde(transparent)]
pub struct Secret(pub(crate) String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[redacted]")
    }
}

impl Secret {
    /// The secret itself.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

/// `credentials:` of a backend.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
#[non_exhaustive]
pub enum CredentialsConfig {
    /// Send nothing (the default).
    #[default]
    None,
    /// A static header, e.g. an API key, from the config (`${ENV}`) or a file.
    Header {
        /// Header name (default `Authorization`).
        #[serde(default = "authorization")]
        name: String,
        /// Header value, e.g. `Bearer ${GITHUB_TOKEN}`.
        #[serde(default)]
        value: Option<Secret>,
        /// Or a file holding the value (trailing newline trimmed).
        #[serde(default)]
        value_file: Option<PathBuf>,
    },
    /// An Okta access token of the gateway's own OAuth client (client
    /// credentials grant, okta-auth `TokenSource`, cached until near expiry),
    /// sent as `Authorization: Bearer …`.
    OktaClientCredentials {
        /// Issuer of the authorization server (token endpoint discovered), or…
        #[serde(default)]
        issuer: Option<String>,
        /// …its token endpoint.
        #[serde(default)]
        token_endpoint: Option<String>,
        /// The gateway's client id.
        client_id: String,
        /// Its secret (`client_secret_basic`), or…
        #[serde(default)]
        client_secret: Option<Secret>,
        /// …a PEM private key file (`private_key_jwt`).
        #[serde(default)]
        private_key_file: Option<PathBuf>,
        /// Scopes to request.
        #[serde(default)]
        scopes: Vec<String>,
    },
    /// MCP authorization, as a client (okta-auth `McpAuthClient` under the
    /// rmcp transport): the backend's `401` names its protected-resource
    /// metadata (RFC 9728), the gateway discovers the authorization server
    /// (RFC 8414, then OpenID discovery), gets a client-credentials token with
    /// the backend URL as RFC 8707 `resource`, and retries once; a
    /// `403 insufficient_scope` is stepped up once. Tokens are cached per
    /// (authorization server, resource, scopes) and renewed before expiry.
    OauthClientCredentials {
        /// The gateway's client id at the backend's authorization server.
        client_id: String,
        /// Its secret (`client_secret_basic`), or…
        #[serde(default)]
        client_secret: Option<Secret>,
        /// …a PEM private key file (`private_key_jwt`, RS256 or ES256).
        #[serde(default)]
        private_key_file: Option<PathBuf>,
        /// Scopes to request; default: what the backend's challenge or metadata names.
        #[serde(default)]
        scopes: Vec<String>,
        /// Only accept this authorization server (issuer); default: the first
        /// the backend's metadata lists.
        #[serde(default)]
        authorization_server: Option<String>,
    },
}

fn authorization() -> String {
    "Authorization".to_owned()
}
