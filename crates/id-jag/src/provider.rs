//! [`IdJagProvider`]: enterprise-managed authorization (ID token → ID-JAG → access token) as
//! an [`okta_auth::mcp_client::TokenProvider`], so an MCP client discovers the resource's
//! authorization server and this flow fills in its issuer and token endpoint.

use std::fmt;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use futures::FutureExt;
use futures::future::BoxFuture;
use okta_auth::mcp_client::{TokenProvider, TokenRequest, check_client_auth};
use okta_auth::{
    AccessToken, AuthorizationServerMetadata, ClientAuth, DEFAULT_TOKEN_REQUEST_TIMEOUT,
    TokenEndpointClient,
};

use crate::token_exchange::{TOKEN_TYPE_ID_JAG, TOKEN_TYPE_ID_TOKEN};
use crate::{Error, JwtBearerClient, Step, TokenExchangeClient, TokenExchangeRequest};

/// Enterprise-managed authorization (MCP SEP-990, Okta cross-app access) for
/// [`okta_auth::mcp_client::McpAuthClient`]: for each MCP server the client discovers,
///
/// 1. RFC 8693 token exchange at the IdP: `subject_token` = the user's ID token,
///    `requested_token_type` = ID-JAG, `audience` = the resource's authorization server
///    issuer, `resource` = the MCP server (RFC 9728 `resource`), `scope`;
/// 2. RFC 7523 JWT-bearer grant at that authorization server's token endpoint with the
///    ID-JAG as `assertion`.
///
/// The ID token's `exp` is checked before step 1 (an expired one fails fast with
/// [`okta_auth::Error::CredentialExpired`], without a request). The provider acts for one
/// user: build one [`okta_auth::mcp_client::McpAuthClient`] per signed-in user (its cache is
/// per authorization server, resource and scope, not per user). Flow errors arrive as
/// [`okta_auth::Error::Flow`] whose source is this crate's [`Error`].
///
/// ```
/// use id_jag::IdJagProvider;
/// use okta_auth::ClientAuth;
/// use okta_auth::mcp_client::McpAuthClient;
///
/// let provider = IdJagProvider::builder()
///     .idp_token_endpoint("https://example.okta.com/oauth2/v1/token")
///     .id_token("eyJ...the user's ID token")
///     .client_auth(ClientAuth::client_secret_basic("agent", "agent-secret"))
///     .build()?;
/// let auth = McpAuthClient::builder(provider).build()?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct IdJagProvider {
    idp_endpoint: String,
    idp_auth: ClientAuth,
    as_auth: ClientAuth,
    id_token: String,
    http: Option<reqwest::Client>,
    timeout: Duration,
}

impl fmt::Debug for IdJagProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IdJagProvider")
            .field("idp_token_endpoint", &self.idp_endpoint)
            .field("idp_client_auth", &self.idp_auth)
            .field("client_auth", &self.as_auth)
            .field("id_token", &"<redacted>")
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl IdJagProvider {
    /// Starts configuring a provider.
    pub fn builder() -> IdJagProviderBuilder {
        IdJagProviderBuilder::default()
    }

    async fn fetch(&self, request: TokenRequest<'_>) -> Result<AccessToken, okta_auth::Error> {
        check_not_expired(&self.id_token)?;
        let flow = |e: Error| okta_auth::Error::Flow {
            flow: "ID-JAG",
            source: Box::new(e),
        };
        #[allow(clippy::result_large_err)] // okta_auth::Error is the TokenProvider's error type.
        let endpoint = |url: &str, auth: &ClientAuth| {
            let client = TokenEndpointClient::new(url, auth.clone())?.with_timeout(self.timeout);
            Ok::<_, okta_auth::Error>(match &self.http {
                Some(http) => client.with_http_client(http.clone()),
                None => client,
            })
        };
        let exchange = TokenExchangeClient::new(endpoint(&self.idp_endpoint, &self.idp_auth)?);
        let issuer = request.authorization_server.issuer.clone();
        let exchange_request =
            TokenExchangeRequest::new(self.id_token.clone(), TOKEN_TYPE_ID_TOKEN)
                .requested_token_type(TOKEN_TYPE_ID_JAG)
                .audience(issuer)
                .resource(request.resource.to_owned())
                .scopes(request.scopes.iter().cloned());
        let id_jag = exchange.exchange(&exchange_request).await.map_err(flow)?;
        if id_jag.issued_token_type != TOKEN_TYPE_ID_JAG {
            return Err(flow(Error::UnexpectedIssuedTokenType {
                step: Step::TokenExchange,
                expected: TOKEN_TYPE_ID_JAG.to_owned(),
                found: Some(id_jag.issued_token_type),
            }));
        }
        if !id_jag.token_type.eq_ignore_ascii_case("N_A") {
            return Err(flow(Error::UnexpectedTokenType {
                step: Step::TokenExchange,
                expected: "N_A",
                found: id_jag.token_type,
            }));
        }
        let bearer = JwtBearerClient::new(endpoint(request.token_endpoint, &self.as_auth)?);
        bearer
            .grant(id_jag.access_token(), request.scopes)
            .await
            .map_err(flow)
    }
}

/// Refuses an ID token whose `exp` has passed. Only `exp` is read (the IdP verifies the
/// token); a token without a readable `exp` is left for the IdP to judge.
#[allow(clippy::result_large_err)] // okta_auth::Error is the TokenProvider's error type.
fn check_not_expired(id_token: &str) -> Result<(), okta_auth::Error> {
    let exp = id_token
        .split('.')
        .nth(1)
        .and_then(|p| URL_SAFE_NO_PAD.decode(p.trim_end_matches('=')).ok())
        .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
        .and_then(|c| c.get("exp").and_then(serde_json::Value::as_u64));
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default();
    match exp {
        Some(exp) if exp <= now => Err(okta_auth::Error::CredentialExpired {
            credential: "ID token",
            ago_secs: now - exp,
        }),
        _ => Ok(()),
    }
}

impl TokenProvider for IdJagProvider {
    fn check(&self, server: &AuthorizationServerMetadata) -> Result<(), okta_auth::Error> {
        check_client_auth(server, &self.as_auth)
    }

    fn token<'a>(
        &'a self,
        request: TokenRequest<'a>,
    ) -> BoxFuture<'a, Result<AccessToken, okta_auth::Error>> {
        async move {
            let started = Instant::now();
            let result = self.fetch(request).await;
            tracing::debug!(elapsed = ?started.elapsed(), ok = result.is_ok(), "ID-JAG flow");
            result
        }
        .boxed()
    }
}

/// Configures an [`IdJagProvider`].
#[derive(Default)]
#[must_use]
pub struct IdJagProviderBuilder {
    idp_endpoint: Option<String>,
    idp_auth: Option<ClientAuth>,
    as_auth: Option<ClientAuth>,
    id_token: Option<String>,
    http: Option<reqwest::Client>,
    timeout: Option<Duration>,
}

impl fmt::Debug for IdJagProviderBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IdJagProviderBuilder")
            .field("idp_token_endpoint", &self.idp_endpoint)
            .finish_non_exhaustive()
    }
}

impl IdJagProviderBuilder {
    /// The IdP's token endpoint (Okta: the org authorization server, `/oauth2/v1/token`).
    /// Required.
    pub fn idp_token_endpoint(mut self, url: impl Into<String>) -> Self {
        self.idp_endpoint = Some(url.into());
        self
    }

    /// The signed-in user's ID token (issued by the IdP to this agent). Required.
    pub fn id_token(mut self, id_token: impl Into<String>) -> Self {
        self.id_token = Some(id_token.into());
        self
    }

    /// How the agent authenticates at the resource's authorization server (the JWT-bearer
    /// grant). Required. Also used at the IdP unless [`Self::idp_client_auth`] is set (Okta,
    /// where both are the same org).
    pub fn client_auth(mut self, auth: ClientAuth) -> Self {
        self.as_auth = Some(auth);
        self
    }

    /// How the agent authenticates at the IdP (the token exchange), when it is another
    /// client there (e.g. [`ClientAuth::none`] for a public client).
    pub fn idp_client_auth(mut self, auth: ClientAuth) -> Self {
        self.idp_auth = Some(auth);
        self
    }

    /// The HTTP client for both token requests (default: one that follows no redirects).
    pub fn http_client(mut self, http: reqwest::Client) -> Self {
        self.http = Some(http);
        self
    }

    /// Timeout of each token request (default [`DEFAULT_TOKEN_REQUEST_TIMEOUT`]).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Builds the provider.
    ///
    /// # Errors
    /// [`okta_auth::Error::InvalidClientConfig`] when a required setting is missing.
    #[allow(clippy::result_large_err)] // okta_auth::Error is the TokenProvider's error type.
    pub fn build(self) -> Result<IdJagProvider, okta_auth::Error> {
        let missing = |what: &str| okta_auth::Error::InvalidClientConfig {
            reason: format!("IdJagProvider needs {what}"),
        };
        let as_auth = self
            .as_auth
            .ok_or_else(|| missing("client_auth (the agent's credentials at the resource AS)"))?;
        Ok(IdJagProvider {
            idp_endpoint: self
                .idp_endpoint
                .ok_or_else(|| missing("idp_token_endpoint"))?,
            idp_auth: self.idp_auth.unwrap_or_else(|| as_auth.clone()),
            as_auth,
            id_token: self
                .id_token
                .ok_or_else(|| missing("the user's id_token"))?,
            http: self.http,
            timeout: self.timeout.unwrap_or(DEFAULT_TOKEN_REQUEST_TIMEOUT),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::check_not_expired;
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;

    fn token_with(claims: &str) -> String {
        format!("e30.{}.sig", URL_SAFE_NO_PAD.encode(claims))
    }

    #[test]
    fn expired_id_tokens_fail_fast() {
        let err = check_not_expired(&token_with(r#"{"exp":1000}"#)).unwrap_err();
        assert!(matches!(
            err,
            okta_auth::Error::CredentialExpired {
                credential: "ID token",
                ..
            }
        ));
        assert!(check_not_expired(&token_with(r#"{"exp":99999999999}"#)).is_ok());
        assert!(check_not_expired("opaque").is_ok());
    }
}
