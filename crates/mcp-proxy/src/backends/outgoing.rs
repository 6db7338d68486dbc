//! Outgoing credentials of an HTTP backend, resolved at startup: a static
//! header, an okta-auth `TokenSource` whose token is put on each new
//! connection (the supervisor reconnects shortly before the token expires),
//! or an okta-auth `McpAuthClient` that authorizes every request itself.

use std::time::{Duration, Instant};

use http::{HeaderName, HeaderValue};
use okta_auth::mcp_client::{ClientCredentials, McpAuthClient};
use okta_auth::{ClientAuth, SigningKey, TokenSource};

use crate::config::CredentialsConfig;

/// How long before a token's expiry the connection is renewed.
const RENEW_BEFORE: Duration = Duration::from_secs(120);

/// Credentials ready to use.
pub(crate) enum Outgoing {
    None,
    Header(HeaderName, HeaderValue),
    Okta(TokenSource),
    Mcp(McpAuthClient),
}

/// Headers for one connection, and when to renew it.
pub(crate) struct ConnectionAuth {
    pub(crate) header: Option<(HeaderName, HeaderValue)>,
    pub(crate) renew_at: Option<Instant>,
    /// Authorizes each request of the connection (MCP authorization).
    pub(crate) mcp: Option<McpAuthClient>,
}

/// `client_secret_basic` from a secret, or `private_key_jwt` from a PEM file.
fn client_auth(
    client_id: &str,
    secret: Option<&super::super::config::Secret>,
    key_file: Option<&std::path::Path>,
) -> Result<ClientAuth, String> {
    match (secret, key_file) {
        (Some(secret), _) => Ok(ClientAuth::client_secret_basic(client_id, secret.expose())),
        (None, Some(path)) => {
            let pem = std::fs::read_to_string(path)
                .map_err(|e| format!("credentials.private_key_file {}: {e}", path.display()))?;
            let key = SigningKey::from_pem(&pem)
                .map_err(|e| format!("credentials.private_key_file {}: {e}", path.display()))?;
            Ok(ClientAuth::private_key_jwt(client_id, key))
        }
        (None, None) => Err("credentials: no client secret or key".to_owned()),
    }
}

impl Outgoing {
    /// Reads secret files and builds the token source; errors say which field.
    pub(crate) fn build(config: &CredentialsConfig) -> Result<Self, String> {
        match config {
            CredentialsConfig::None => Ok(Outgoing::None),
            CredentialsConfig::Header {
                name,
                value,
                value_file,
            } => {
                let text = match (value, value_file) {
                    (Some(v), _) => v.expose().to_owned(),
                    (None, Some(path)) => std::fs::read_to_string(path)
                        .map_err(|e| format!("credentials.value_file {}: {e}", path.display()))?
                        .trim_end_matches(['\n', '\r'])
                        .to_owned(),
                    (None, None) => return Err("credentials: no header value".to_owned()),
                };
                let name = HeaderName::from_bytes(name.as_bytes())
                    .map_err(|_| format!("credentials.name `{name}` is not a header name"))?;
                let mut value = HeaderValue::from_str(&text)
                    .map_err(|_| "credentials.value is not a valid header value".to_owned())?;
                value.set_sensitive(true);
                Ok(Outgoing::Header(name, value))
            }
            CredentialsConfig::OktaClientCredentials {
                issuer,
                token_endpoint,
                client_id,
                client_secret,
                private_key_file,
                scopes,
            } => {
                let auth = client_auth(
                    client_id,
                    client_secret.as_ref(),
                    private_key_file.as_deref(),
                )?;
                let mut builder = TokenSource::builder()
                    .client_auth(auth)
                    .scopes(scopes.iter().cloned());
                builder = match (issuer, token_endpoint) {
                    (_, Some(endpoint)) => builder.token_endpoint(endpoint.clone()),
                    (Some(issuer), None) => builder.issuer(issuer.clone()),
                    (None, None) => {
                        return Err("credentials: no issuer or token_endpoint".to_owned());
                    }
                };
                builder
                    .build()
                    .map(Outgoing::Okta)
                    .map_err(|e| format!("credentials: {e}"))
            }
            CredentialsConfig::OauthClientCredentials {
                client_id,
                client_secret,
                private_key_file,
                scopes,
                authorization_server,
            } => {
                let auth = client_auth(
                    client_id,
                    client_secret.as_ref(),
                    private_key_file.as_deref(),
                )?;
                let mut builder = McpAuthClient::builder(ClientCredentials::new(auth));
                if !scopes.is_empty() {
                    builder = builder.scopes(scopes);
                }
                if let Some(issuer) = authorization_server {
                    builder = builder.authorization_server(issuer.clone());
                }
                builder
                    .build()
                    .map(Outgoing::Mcp)
                    .map_err(|e| format!("credentials: {e}"))
            }
        }
    }

    /// What the next connection sends.
    pub(crate) async fn for_connection(&self) -> Result<ConnectionAuth, String> {
        match self {
            Outgoing::None => Ok(ConnectionAuth {
                header: None,
                renew_at: None,
                mcp: None,
            }),
            Outgoing::Header(name, value) => Ok(ConnectionAuth {
                header: Some((name.clone(), value.clone())),
                renew_at: None,
                mcp: None,
            }),
            Outgoing::Mcp(auth) => Ok(ConnectionAuth {
                header: None,
                renew_at: None,
                mcp: Some(auth.clone()),
            }),
            Outgoing::Okta(tokens) => {
                let token = tokens
                    .token()
                    .await
                    .map_err(|e| format!("cannot get an Okta token for this backend: {e}"))?;
                let header = token
                    .authorization_header()
                    .map_err(|e| format!("Okta token unusable as a header: {e}"))?;
                Ok(ConnectionAuth {
                    header: Some((http::header::AUTHORIZATION, header)),
                    renew_at: token
                        .expires_at()
                        .map(|at| at.checked_sub(RENEW_BEFORE).unwrap_or(at)),
                    mcp: None,
                })
            }
        }
    }
}
