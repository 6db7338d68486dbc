//! Outgoing credentials of an HTTP backend: what the gateway sends to it.
//! The caller's own token is never forwarded unless a backend says
//! `type: passthrough`.

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
    /// The caller's own access token, forwarded unchanged. Opt-in per backend:
    /// the MCP authorization spec forbids token passthrough (the backend would
    /// accept tokens issued for the gateway, and could replay them), so use it
    /// only for a backend that is part of the same resource as the gateway.
    /// Each caller (token `iss` + `sub`) gets its own backend session.
    Passthrough,
    /// Cross-app access: the caller's OpenID Connect ID token is exchanged at
    /// the IdP (RFC 8693) for an ID-JAG for the backend's authorization server,
    /// and that for an access token (RFC 7523 JWT bearer), with id-jag's
    /// `IdJagFlow` (cached per ID token and scopes). The caller sends the ID
    /// token it got when the user signed in to the gateway's Okta app (the
    /// `client_id` below: the IdP only exchanges ID tokens issued to the client
    /// asking) in the `id_token_header` header, beside its access token; its
    /// `sub` must be the access token's `uid` (or `sub`). Each caller gets its
    /// own backend session.
    IdJag {
        /// The IdP's (Okta org authorization server's) token endpoint.
        idp_token_endpoint: String,
        /// The token endpoint of the backend's authorization server.
        resource_token_endpoint: String,
        /// The backend authorization server's issuer (the ID-JAG's `aud`).
        audience: String,
        /// RFC 8707 resource of the backend (default: none sent).
        #[serde(default)]
        resource: Option<String>,
        /// The gateway's client id at the IdP (the app users sign in to).
        client_id: String,
        /// Its secret (`client_secret_basic`), or…
        #[serde(default)]
        client_secret: Option<Secret>,
        /// …a PEM private key file (`private_key_jwt`).
        #[serde(default)]
        private_key_file: Option<PathBuf>,
        /// Scopes to ask the backend's authorization server for.
        #[serde(default)]
        scopes: Vec<String>,
        /// Request header carrying the caller's ID token (default `X-Okta-Id-Token`).
        #[serde(default = "id_token_header")]
        id_token_header: String,
    },
}

impl CredentialsConfig {
    /// True when each caller needs a backend session of its own (the
    /// credential depends on who calls).
    pub fn per_caller(&self) -> bool {
        matches!(self, Self::Passthrough | Self::IdJag { .. })
    }

    /// The PEM key file (`private_key_jwt`) of a kind that authenticates the
    /// gateway as an OAuth client, when one is set.
    pub(crate) fn private_key_file(&self) -> Option<&PathBuf> {
        match self {
            Self::OktaClientCredentials {
                private_key_file, ..
            }
            | Self::OauthClientCredentials {
                private_key_file, ..
            }
            | Self::IdJag {
                private_key_file, ..
            } => private_key_file.as_ref(),
            Self::None | Self::Header { .. } | Self::Passthrough => None,
        }
    }

    /// [`Self::private_key_file`], to resolve it against the config's directory.
    pub(crate) fn private_key_file_mut(&mut self) -> Option<&mut PathBuf> {
        match self {
            Self::OktaClientCredentials {
                private_key_file, ..
            }
            | Self::OauthClientCredentials {
                private_key_file, ..
            }
            | Self::IdJag {
                private_key_file, ..
            } => private_key_file.as_mut(),
            Self::None | Self::Header { .. } | Self::Passthrough => None,
        }
    }
}

fn id_token_header() -> String {
    "X-Okta-Id-Token".to_owned()
}

fn authorization() -> String {
    "Authorization".to_owned()
}
