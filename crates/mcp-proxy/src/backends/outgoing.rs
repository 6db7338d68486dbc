//! Outgoing credentials of an HTTP backend, resolved at startup: a static
//! header, an okta-auth `TokenSource` whose token is put on each new
//! connection (the supervisor reconnects shortly before the token expires),
//! or an okta-auth `McpAuthClient` that authorizes every request itself;
//! or, for the per-caller kinds, what turns a caller into a token: their own
//! token (`passthrough`) or an id-jag `IdJagFlow` (`id_jag`).

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
    /// The caller's own access token.
    Passthrough,
    /// The caller's ID token exchanged for an access token at the backend's AS.
    IdJag {
        flow: id_jag::IdJagFlow,
        scopes: Vec<String>,
        header: HeaderName,
    },
}

/// Who calls, as far as per-caller credentials need to know.
pub(crate) struct CallerCredentials<'a> {
    /// The caller's bearer token (verified by the front).
    pub(crate) token: &'a str,
    /// The ID token header named by `id_token_header`, if present.
    pub(crate) id_token: Option<&'a str>,
    /// The verified access token's `uid` (Okta user id), else its `sub`.
    pub(crate) user_id: Option<&'a str>,
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
            CredentialsConfig::Passthrough => Ok(Outgoing::Passthrough),
            CredentialsConfig::IdJag {
                idp_token_endpoint,
                resource_token_endpoint,
                audience,
                resource,
                client_id,
                client_secret,
                private_key_file,
                scopes,
                id_token_header,
            } => {
                let auth = client_auth(
                    client_id,
                    client_secret.as_ref(),
                    private_key_file.as_deref(),
                )?;
                let mut builder = id_jag::IdJagFlow::builder()
                    .idp_token_endpoint(idp_token_endpoint.clone())
                    .resource_token_endpoint(resource_token_endpoint.clone())
                    .audience(audience.clone())
                    .client_auth(auth);
                if let Some(resource) = resource {
                    builder = builder.resource(resource.clone());
                }
                let header = HeaderName::from_bytes(id_token_header.as_bytes()).map_err(|_| {
                    format!("credentials.id_token_header `{id_token_header}` is not a header name")
                })?;
                Ok(Outgoing::IdJag {
                    flow: builder.build().map_err(|e| format!("credentials: {e}"))?,
                    scopes: scopes.clone(),
                    header,
                })
            }
        }
    }

    /// The ID token header of an `id_jag` backend.
    pub(crate) fn id_token_header(&self) -> Option<&HeaderName> {
        match self {
            Outgoing::IdJag { header, .. } => Some(header),
            _ => None,
        }
    }

    /// The token a per-caller backend receives for `caller`.
    pub(crate) async fn token_for(&self, caller: &CallerCredentials<'_>) -> Result<String, String> {
        match self {
            Outgoing::Passthrough => Ok(caller.token.to_owned()),
            Outgoing::IdJag {
                flow,
                scopes,
                header,
            } => {
                let id_token = caller.id_token.ok_or_else(|| {
                    format!("this backend acts as you through cross-app access: send your OpenID Connect ID token in the `{header}` header")
                })?;
                let subject = id_token_subject(id_token)
                    .ok_or_else(|| format!("the `{header}` header does not hold a JWT ID token"))?;
                if caller.user_id != Some(subject.as_str()) {
                    return Err(format!(
                        "the ID token in `{header}` belongs to another user than the access token"
                    ));
                }
                let token = flow
                    .access_token(id_token, scopes)
                    .await
                    .map_err(|e| format!("cross-app access (ID-JAG) failed: {e}"))?;
                Ok(token.secret().to_owned())
            }
            _ => Err("this backend's credentials do not depend on the caller".to_owned()),
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
            Outgoing::Passthrough | Outgoing::IdJag { .. } => {
                Err("per-caller credentials have no shared connection".to_owned())
            }
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

/// The `sub` of a JWT's payload, unverified: only compared with the verified
/// access token's user; the IdP verifies the ID token when it exchanges it.
fn id_token_subject(jwt: &str) -> Option<String> {
    use base64::Engine;
    let payload = jwt.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .ok()?;
    let claims: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    claims.get("sub")?.as_str().map(str::to_owned)
}
