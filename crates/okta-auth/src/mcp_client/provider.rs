//! The pluggable token flow: [`TokenProvider`], and the client-credentials flow
//! [`ClientCredentials`] built on [`TokenEndpointClient`].

use std::fmt;
use std::time::{Duration, Instant};

use futures::FutureExt;
use futures::future::BoxFuture;

use crate::token_endpoint::default_http_client;
use crate::{
    AccessToken, AuthorizationServerMetadata, ClientAuth, DEFAULT_TOKEN_REQUEST_TIMEOUT, Error,
    TokenEndpointClient,
};

/// What a [`TokenProvider`] is asked for: a token from `authorization_server` for
/// `resource` with `scopes`.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct TokenRequest<'a> {
    /// The discovered metadata of the authorization server chosen from the resource's
    /// RFC 9728 metadata.
    pub authorization_server: &'a AuthorizationServerMetadata,
    /// Its `token_endpoint` (checked present and https, or http on loopback).
    pub token_endpoint: &'a str,
    /// The resource indicator (RFC 8707): the `resource` of the RFC 9728 metadata, which was
    /// checked to cover the URL being called.
    pub resource: &'a str,
    /// The scopes to request (may be empty: then no `scope` parameter is sent).
    pub scopes: &'a [String],
}

impl<'a> TokenRequest<'a> {
    /// A request (mainly for tests and for flows that call each other).
    pub fn new(
        authorization_server: &'a AuthorizationServerMetadata,
        token_endpoint: &'a str,
        resource: &'a str,
        scopes: &'a [String],
    ) -> Self {
        Self {
            authorization_server,
            token_endpoint,
            resource,
            scopes,
        }
    }
}

/// A way to obtain an access token once the MCP client knows the authorization server, the
/// resource and the scopes: client credentials ([`ClientCredentials`]), ID-JAG
/// (`id_jag::IdJagProvider`), or your own.
///
/// [`McpAuthClient`](super::McpAuthClient) caches what it returns per (authorization server,
/// resource, scopes) until expiry, so providers need not cache. Errors should be typed:
/// return [`Error::OAuth`] and friends for token endpoint answers, or wrap a flow's own error
/// in [`Error::Flow`].
pub trait TokenProvider: Send + Sync + fmt::Debug + 'static {
    /// Checks, before any token request, that this flow can work with `server` (e.g. that it
    /// lists the configured client authentication method). The default accepts every server.
    fn check(&self, server: &AuthorizationServerMetadata) -> Result<(), Error> {
        let _ = server;
        Ok(())
    }

    /// Obtains a token for `request`.
    fn token<'a>(&'a self, request: TokenRequest<'a>) -> BoxFuture<'a, Result<AccessToken, Error>>;
}

/// Checks that `server` accepts `auth` at its token endpoint: the method must be listed in
/// `token_endpoint_auth_methods_supported` (absent means `client_secret_basic` only, RFC 8414
/// §2), and for `private_key_jwt` the key's algorithm must be listed in
/// `token_endpoint_auth_signing_alg_values_supported` when the server publishes that list.
///
/// # Errors
/// [`Error::AuthMethodNotSupported`] naming what the server lists.
pub fn check_client_auth(
    server: &AuthorizationServerMetadata,
    auth: &ClientAuth,
) -> Result<(), Error> {
    let method = auth.method_name();
    let listed = if server.token_endpoint_auth_methods_supported.is_empty() {
        method == "client_secret_basic"
    } else {
        server
            .token_endpoint_auth_methods_supported
            .iter()
            .any(|m| m == method)
    };
    if !listed {
        let supported = if server.token_endpoint_auth_methods_supported.is_empty() {
            vec!["client_secret_basic (the RFC 8414 default)".to_owned()]
        } else {
            server.token_endpoint_auth_methods_supported.clone()
        };
        return Err(Error::AuthMethodNotSupported {
            issuer: server.issuer.clone(),
            method: method.to_owned(),
            supported,
        });
    }
    if let Some(alg) = auth.signing_algorithm() {
        let algs = &server.token_endpoint_auth_signing_alg_values_supported;
        if !algs.is_empty() && !algs.iter().any(|a| a == alg) {
            return Err(Error::AuthMethodNotSupported {
                issuer: server.issuer.clone(),
                method: format!("private_key_jwt with {alg}"),
                supported: algs
                    .iter()
                    .map(|a| format!("private_key_jwt with {a}"))
                    .collect(),
            });
        }
    }
    Ok(())
}

/// The `aud` of `private_key_jwt` client assertions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum AssertionAudience {
    /// The authorization server's issuer identifier (RFC 7523bis, MCP SEP-1046). The default;
    /// okta-sim accepts it too.
    #[default]
    Issuer,
    /// The token endpoint URL (what Okta documents for its org and custom servers).
    TokenEndpoint,
}

/// The OAuth client credentials grant (RFC 6749 §4.4) as a [`TokenProvider`]: a service
/// calling MCP servers as itself, authenticated with `client_secret_basic`,
/// `client_secret_post` or `private_key_jwt` ([`ClientAuth`]). Sends `scope` (when any) and
/// `resource` (RFC 8707).
///
/// ```
/// use okta_auth::{ClientAuth, SigningKey};
/// use okta_auth::mcp_client::{AssertionAudience, ClientCredentials};
///
/// let key = SigningKey::generate_es256()?;
/// let flow = ClientCredentials::new(ClientAuth::private_key_jwt("svc", key))
///     .assertion_audience(AssertionAudience::TokenEndpoint);
/// assert!(!format!("{flow:?}").contains("BEGIN"));
/// # Ok::<(), okta_auth::Error>(())
/// ```
#[derive(Clone)]
pub struct ClientCredentials {
    auth: ClientAuth,
    http: Option<reqwest::Client>,
    timeout: Duration,
    audience: AssertionAudience,
}

impl fmt::Debug for ClientCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientCredentials")
            .field("auth", &self.auth)
            .field("timeout", &self.timeout)
            .field("assertion_audience", &self.audience)
            .finish_non_exhaustive()
    }
}

impl ClientCredentials {
    /// The client credentials flow with `auth`.
    pub fn new(auth: ClientAuth) -> Self {
        Self {
            auth,
            http: None,
            timeout: DEFAULT_TOKEN_REQUEST_TIMEOUT,
            audience: AssertionAudience::default(),
        }
    }

    /// The HTTP client for token requests (default: one that follows no redirects).
    #[must_use]
    pub fn http_client(mut self, http: reqwest::Client) -> Self {
        self.http = Some(http);
        self
    }

    /// Timeout of each token request (default [`DEFAULT_TOKEN_REQUEST_TIMEOUT`]).
    #[must_use]
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The `aud` of `private_key_jwt` assertions (default [`AssertionAudience::Issuer`]).
    #[must_use]
    pub fn assertion_audience(mut self, audience: AssertionAudience) -> Self {
        self.audience = audience;
        self
    }

    /// The client authentication in use.
    pub fn client_auth(&self) -> &ClientAuth {
        &self.auth
    }

    async fn fetch(&self, request: TokenRequest<'_>) -> Result<AccessToken, Error> {
        let auth = match self.audience {
            AssertionAudience::Issuer => self
                .auth
                .clone()
                .with_assertion_audience(request.authorization_server.issuer.clone()),
            AssertionAudience::TokenEndpoint => self.auth.clone(),
        };
        let http = match &self.http {
            Some(http) => http.clone(),
            None => default_http_client()?,
        };
        let client = TokenEndpointClient::new(request.token_endpoint, auth)?
            .with_http_client(http)
            .with_timeout(self.timeout);
        let mut form = vec![("grant_type".to_owned(), "client_credentials".to_owned())];
        if !request.scopes.is_empty() {
            form.push(("scope".to_owned(), request.scopes.join(" ")));
        }
        form.push(("resource".to_owned(), request.resource.to_owned()));
        let received_at = Instant::now();
        let response = client.request(form).await?;
        Ok(AccessToken::from_response(
            &response,
            received_at,
            request.scopes,
        ))
    }
}

impl TokenProvider for ClientCredentials {
    fn check(&self, server: &AuthorizationServerMetadata) -> Result<(), Error> {
        check_client_auth(server, &self.auth)
    }

    fn token<'a>(&'a self, request: TokenRequest<'a>) -> BoxFuture<'a, Result<AccessToken, Error>> {
        self.fetch(request).boxed()
    }
}

/// A boxed provider is a provider (e.g. one chosen from configuration at run time).
impl<P: TokenProvider + ?Sized> TokenProvider for Box<P> {
    fn check(&self, server: &AuthorizationServerMetadata) -> Result<(), Error> {
        (**self).check(server)
    }

    fn token<'a>(&'a self, request: TokenRequest<'a>) -> BoxFuture<'a, Result<AccessToken, Error>> {
        (**self).token(request)
    }
}

/// A shared provider is a provider.
impl<P: TokenProvider + ?Sized> TokenProvider for std::sync::Arc<P> {
    fn check(&self, server: &AuthorizationServerMetadata) -> Result<(), Error> {
        (**self).check(server)
    }

    fn token<'a>(&'a self, request: TokenRequest<'a>) -> BoxFuture<'a, Result<AccessToken, Error>> {
        (**self).token(request)
    }
}
