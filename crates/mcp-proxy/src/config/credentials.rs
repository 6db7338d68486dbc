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
}

fn authorization() -> String {
    "Authorization".to_owned()
}
