//! [`TokenSource`]: client-credentials access tokens, cached and shared between callers.

use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use futures::FutureExt;
use futures::future::{BoxFuture, Shared};
use http::HeaderValue;

use crate::token_endpoint::{check_endpoint, default_http_client};
use crate::{ClientAuth, DEFAULT_TOKEN_REQUEST_TIMEOUT, Error, TokenEndpointClient, TokenResponse};

/// The default refresh buffer: a cached token is replaced 5 minutes before it expires.
pub const DEFAULT_REFRESH_BUFFER: Duration = Duration::from_secs(300);

/// An access token with its lifetime and granted scopes.
///
/// Cloning is cheap. `Debug` never shows the token.
#[derive(Clone)]
pub struct AccessToken {
    secret: Arc<str>,
    expires_at: Option<Instant>,
    scopes: Arc<[String]>,
}

impl AccessToken {
    /// Builds a token from a token endpoint answer received at `received_at`. The scopes are
    /// the answer's `scope`, or `requested` when the server omitted it (RFC 6749 §5.1).
    pub fn from_response(
        response: &TokenResponse,
        received_at: Instant,
        requested: &[String],
    ) -> Self {
        Self {
            secret: Arc::from(response.access_token()),
            expires_at: response
                .expires_in
                .map(|secs| received_at + Duration::from_secs(secs)),
            scopes: response
                .scopes()
                .unwrap_or_else(|| requested.to_vec())
                .into(),
        }
    }

    /// The token itself, for an `Authorization: Bearer` header. Never log it.
    pub fn secret(&self) -> &str {
        &self.secret
    }

    /// When the token expires (from `expires_in`, on the monotonic clock), if the server said.
    pub fn expires_at(&self) -> Option<Instant> {
        self.expires_at
    }

    /// The granted scopes.
    pub fn scopes(&self) -> &[String] {
        &self.scopes
    }

    /// `Bearer <token>` as a header value marked sensitive (hidden from HTTP debug logs).
    pub fn authorization_header(&self) -> Result<HeaderValue, Error> {
        let mut value = HeaderValue::try_from(format!("Bearer {}", self.secret)).map_err(|_| {
            Error::InvalidTokenResponse {
                endpoint: String::new(),
                reason: "the access token contains characters not allowed in a header".into(),
            }
        })?;
        value.set_sensitive(true);
        Ok(value)
    }
}

impl fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccessToken")
            .field("secret", &"<redacted>")
            .field("expires_at", &self.expires_at)
            .field("scopes", &self.scopes)
            .finish()
    }
}

/// When a token received at `received_at` that lives `lifetime` should be replaced:
/// `buffer` before expiry, or at half its life when it lives no longer than `buffer`.
/// Without a lifetime the token is not reused.
pub(crate) fn refresh_deadline(
    received_at: Instant,
    lifetime: Option<Duration>,
    buffer: Duration,
) -> Instant {
    match lifetime {
        Some(life) if life > buffer => received_at + (life - buffer),
        Some(life) => received_at + life / 2,
        None => received_at,
    }
}

/// Client-credentials access tokens from an Okta org or custom authorization server, cached
/// and shared.
///
/// - **Caching**: a token is reused until `expires_in` minus the refresh buffer (default
///   5 minutes, as Okta's samples do). A token that lives no longer than the buffer is
///   reused until half its lifetime has passed. An answer without `expires_in` is not reused.
/// - **Single flight**: concurrent callers on an empty or stale cache share one token request;
///   all of them get its result. A failed request is not cached: the next call tries again.
/// - **Errors** are typed ([`Error::OAuth`] with the RFC 6749 code, timeouts, unreachable
///   endpoint, non-JSON answers, a missing `access_token`, a `token_type` other than `Bearer`).
///   Tokens and secrets are never logged or put into errors.
///
/// `TokenSource` is cheap to clone; clones share the cache.
///
/// ```no_run
/// use okta_auth::{ClientAuth, TokenSource};
///
/// # async fn run() -> Result<(), okta_auth::Error> {
/// let tokens = TokenSource::builder()
///     .token_endpoint("https://example.okta.com/oauth2/default/v1/token")
///     .client_auth(ClientAuth::client_secret_basic("agent", "agent-secret"))
///     .scopes(["mcp:read", "mcp:write"])
///     .build()?;
/// let token = tokens.token().await?; // cached for the next caller
/// let header = format!("Bearer {}", token.secret());
/// # let _ = header; Ok(()) }
/// ```
#[derive(Clone)]
pub struct TokenSource {
    inner: Arc<Inner>,
}

type Flight = Shared<BoxFuture<'static, Result<AccessToken, Arc<Error>>>>;

struct Inner {
    client: tokio::sync::OnceCell<TokenEndpointClient>,
    discovery: Option<Discovery>,
    form: Vec<(String, String)>,
    scopes: Vec<String>,
    buffer: Duration,
    state: Mutex<State>,
}

/// What is needed to find the token endpoint from the issuer on first use.
struct Discovery {
    issuer: String,
    http: reqwest::Client,
    auth: ClientAuth,
    timeout: Duration,
}

#[derive(Default)]
struct State {
    cached: Option<(AccessToken, Instant)>,
    flight: Option<Flight>,
}

impl TokenSource {
    /// Starts configuring a token source.
    pub fn builder() -> TokenSourceBuilder {
        TokenSourceBuilder::default()
    }

    /// A valid access token: the cached one while it is fresh, otherwise a new one (one
    /// request however many callers wait for it).
    pub async fn token(&self) -> Result<AccessToken, Error> {
        if self.inner.client.get().is_none() {
            // Discovery (issuer configured) happens once, before the first token request.
            self.inner.endpoint_client().await?;
        }
        let flight = {
            let mut state = self.lock();
            if let Some((token, refresh_at)) = &state.cached
                && Instant::now() < *refresh_at
            {
                return Ok(token.clone());
            }
            match &state.flight {
                Some(flight) => flight.clone(),
                None => {
                    let inner = Arc::clone(&self.inner);
                    let flight = async move { inner.fetch_and_store().await }
                        .boxed()
                        .shared();
                    state.flight = Some(flight.clone());
                    flight
                }
            }
        };
        flight.await.map_err(|e| copy_error(&e))
    }

    /// Forgets the cached token, so the next [`TokenSource::token`] requests a new one (e.g.
    /// after a resource server rejected the token as revoked).
    pub fn invalidate(&self) {
        self.lock().cached = None;
    }

    /// The token endpoint this source uses, once known (configured, or discovered by the
    /// first [`TokenSource::token`] call).
    pub fn token_endpoint(&self) -> Option<&str> {
        self.inner.client.get().map(TokenEndpointClient::endpoint)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.inner
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

impl Inner {
    /// The token endpoint client, discovering the endpoint from the issuer on first use
    /// (RFC 8414, then OpenID Connect discovery). A failed discovery is retried next call.
    async fn endpoint_client(&self) -> Result<&TokenEndpointClient, Error> {
        self.client
            .get_or_try_init(|| async {
                let Some(d) = &self.discovery else {
                    return Err(Error::InvalidClientConfig {
                        reason: "TokenSource has neither a token endpoint nor an issuer".into(),
                    });
                };
                let meta = crate::discover(&d.http, &d.issuer).await?;
                let endpoint = meta.token_endpoint.ok_or_else(|| Error::InvalidClientConfig {
                    reason: format!(
                        "the metadata of issuer {} has no `token_endpoint`; configure `.token_endpoint(url)`",
                        d.issuer
                    ),
                })?;
                Ok(TokenEndpointClient::with_parts(endpoint, d.auth.clone(), d.http.clone())?
                    .with_timeout(d.timeout))
            })
            .await
    }

    async fn fetch_and_store(self: Arc<Self>) -> Result<AccessToken, Arc<Error>> {
        let result = match self.endpoint_client().await {
            Ok(client) => self.fetch(client).await,
            Err(e) => Err(e),
        };
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        state.flight = None;
        match result {
            Ok((token, refresh_at)) => {
                state.cached = Some((token.clone(), refresh_at));
                Ok(token)
            }
            Err(e) => {
                tracing::warn!(error = %e, "client-credentials token request failed");
                Err(Arc::new(e))
            }
        }
    }

    async fn fetch(&self, client: &TokenEndpointClient) -> Result<(AccessToken, Instant), Error> {
        let sent_at = Instant::now();
        let response = client.request(self.form.clone()).await?;
        if !response.is_bearer() {
            return Err(Error::InvalidTokenResponse {
                endpoint: client.endpoint().to_owned(),
                reason: format!(
                    "`token_type` is `{}`, expected `Bearer`",
                    response.token_type
                ),
            });
        }
        // Lifetimes count from when the request was sent: the server's clock started no earlier.
        let token = AccessToken::from_response(&response, sent_at, &self.scopes);
        let refresh_at = refresh_deadline(
            sent_at,
            response.expires_in.map(Duration::from_secs),
            self.buffer,
        );
        tracing::debug!(
            endpoint = %client.endpoint(),
            expires_in = ?response.expires_in,
            scopes = ?token.scopes(),
            "obtained a client-credentials token"
        );
        Ok((token, refresh_at))
    }
}

/// Gives every caller that shared a failed flight its own copy of the error.
fn copy_error(e: &Error) -> Error {
    match e {
        Error::OAuth {
            endpoint,
            status,
            error,
            description,
            uri,
            interaction_uri,
        } => Error::OAuth {
            endpoint: endpoint.clone(),
            status: *status,
            error: error.clone(),
            description: description.clone(),
            uri: uri.clone(),
            interaction_uri: interaction_uri.clone(),
        },
        Error::TokenEndpointStatus {
            endpoint,
            status,
            content_type,
        } => Error::TokenEndpointStatus {
            endpoint: endpoint.clone(),
            status: *status,
            content_type: content_type.clone(),
        },
        Error::TokenEndpointNotJson {
            endpoint,
            status,
            content_type,
        } => Error::TokenEndpointNotJson {
            endpoint: endpoint.clone(),
            status: *status,
            content_type: content_type.clone(),
        },
        Error::InvalidTokenResponse { endpoint, reason } => Error::InvalidTokenResponse {
            endpoint: endpoint.clone(),
            reason: reason.clone(),
        },
        Error::TokenEndpointUnreachable { endpoint, detail } => Error::TokenEndpointUnreachable {
            endpoint: endpoint.clone(),
            detail: detail.clone(),
        },
        Error::TokenEndpointTimeout { endpoint, timeout } => Error::TokenEndpointTimeout {
            endpoint: endpoint.clone(),
            timeout: *timeout,
        },
        Error::InvalidClientConfig { reason } => Error::InvalidClientConfig {
            reason: reason.clone(),
        },
        // Token requests only produce the variants above; keep the message for anything else.
        other => Error::TokenEndpointUnreachable {
            endpoint: String::new(),
            detail: other.to_string(),
        },
    }
}

impl fmt::Debug for TokenSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenSource")
            .field("client", &self.inner.client.get())
            .field(
                "issuer",
                &self.inner.discovery.as_ref().map(|d| d.issuer.as_str()),
            )
            .field("scopes", &self.inner.scopes)
            .field("refresh_buffer", &self.inner.buffer)
            .finish_non_exhaustive()
    }
}

/// Configures a [`TokenSource`]; see [`TokenSource::builder`].
#[derive(Default)]
#[must_use]
pub struct TokenSourceBuilder {
    endpoint: Option<String>,
    issuer: Option<String>,
    auth: Option<ClientAuth>,
    scopes: Vec<String>,
    resources: Vec<String>,
    audience: Option<String>,
    buffer: Option<Duration>,
    timeout: Option<Duration>,
    http: Option<reqwest::Client>,
}

impl TokenSourceBuilder {
    /// The token endpoint, e.g. `https://{org}.okta.com/oauth2/default/v1/token` (custom AS) or
    /// `https://{org}.okta.com/oauth2/v1/token` (org AS). Required.
    pub fn token_endpoint(mut self, url: impl Into<String>) -> Self {
        self.endpoint = Some(url.into());
        self
    }

    /// Alternatively to [`TokenSourceBuilder::token_endpoint`]: the issuer, e.g.
    /// `https://{org}.okta.com/oauth2/default`, whose token endpoint is discovered (RFC 8414,
    /// then OpenID Connect discovery) on the first [`TokenSource::token`] call. An explicit
    /// token endpoint wins when both are set.
    pub fn issuer(mut self, issuer: impl Into<String>) -> Self {
        self.issuer = Some(issuer.into());
        self
    }

    /// How the client authenticates. Required.
    pub fn client_auth(mut self, auth: ClientAuth) -> Self {
        self.auth = Some(auth);
        self
    }

    /// Adds one scope to request.
    pub fn scope(mut self, scope: impl Into<String>) -> Self {
        self.scopes.push(scope.into());
        self
    }

    /// Adds scopes to request (sent space-separated in `scope`).
    pub fn scopes<I, S>(mut self, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.scopes.extend(scopes.into_iter().map(Into::into));
        self
    }

    /// Adds an RFC 8707 `resource` indicator (repeatable).
    pub fn resource(mut self, resource: impl Into<String>) -> Self {
        self.resources.push(resource.into());
        self
    }

    /// Sets an `audience` parameter (sent as is; some authorization servers use it instead of
    /// `resource`).
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        self.audience = Some(audience.into());
        self
    }

    /// How long before expiry a cached token is replaced (default 5 minutes).
    pub fn refresh_buffer(mut self, buffer: Duration) -> Self {
        self.buffer = Some(buffer);
        self
    }

    /// The timeout of each token request (default 10 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Uses this HTTP client (shared pool, proxy settings). The default follows no redirects.
    pub fn http_client(mut self, http: reqwest::Client) -> Self {
        self.http = Some(http);
        self
    }

    /// Checks the configuration and builds the source. No request is made yet.
    pub fn build(self) -> Result<TokenSource, Error> {
        let target = match (self.endpoint, self.issuer) {
            (Some(endpoint), _) => Ok(endpoint),
            (None, Some(issuer)) => Err(issuer),
            (None, None) => {
                return Err(Error::InvalidClientConfig {
                    reason: "TokenSource needs a token endpoint: call `.token_endpoint(url)` or `.issuer(url)`"
                        .into(),
                });
            }
        };
        let auth = self.auth.ok_or_else(|| Error::InvalidClientConfig {
            reason: "TokenSource needs client authentication: call `.client_auth(ClientAuth::...)`"
                .into(),
        })?;
        let http = match self.http {
            Some(http) => http,
            None => default_http_client()?,
        };
        let timeout = self.timeout.unwrap_or(DEFAULT_TOKEN_REQUEST_TIMEOUT);
        let (client, discovery) = match target {
            Ok(endpoint) => {
                let client =
                    TokenEndpointClient::with_parts(endpoint, auth, http)?.with_timeout(timeout);
                (tokio::sync::OnceCell::new_with(Some(client)), None)
            }
            Err(issuer) => {
                check_endpoint(&issuer)?;
                let discovery = Discovery {
                    issuer,
                    http,
                    auth,
                    timeout,
                };
                (tokio::sync::OnceCell::new(), Some(discovery))
            }
        };
        let mut form = vec![("grant_type".to_owned(), "client_credentials".to_owned())];
        if !self.scopes.is_empty() {
            form.push(("scope".to_owned(), self.scopes.join(" ")));
        }
        for resource in self.resources {
            form.push(("resource".to_owned(), resource));
        }
        if let Some(audience) = self.audience {
            form.push(("audience".to_owned(), audience));
        }
        Ok(TokenSource {
            inner: Arc::new(Inner {
                client,
                discovery,
                form,
                scopes: self.scopes,
                buffer: self.buffer.unwrap_or(DEFAULT_REFRESH_BUFFER),
                state: Mutex::new(State::default()),
            }),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refresh_deadline_rules() {
        let t0 = Instant::now();
        let buffer = Duration::from_secs(300);
        assert_eq!(
            refresh_deadline(t0, Some(Duration::from_secs(3600)), buffer),
            t0 + Duration::from_secs(3300)
        );
        // Shorter than the buffer: half-life.
        assert_eq!(
            refresh_deadline(t0, Some(Duration::from_secs(120)), buffer),
            t0 + Duration::from_secs(60)
        );
        assert_eq!(
            refresh_deadline(t0, Some(Duration::from_secs(300)), buffer),
            t0 + Duration::from_secs(150)
        );
        assert_eq!(refresh_deadline(t0, None, buffer), t0);
    }

    #[test]
    fn builder_requires_endpoint_and_auth() {
        let err = TokenSource::builder().build().unwrap_err().to_string();
        assert!(err.contains("token_endpoint"), "{err}");
        let err = TokenSource::builder()
            .token_endpoint("https://x/token")
            .build()
            .unwrap_err()
            .to_string();
        assert!(err.contains("client_auth"), "{err}");
        let err = TokenSource::builder()
            .token_endpoint("http://idp.example.com/token")
            .client_auth(ClientAuth::client_secret_post("a", "b"))
            .build()
            .unwrap_err()
            .to_string();
        assert!(err.contains("https"), "{err}");
    }

    #[test]
    fn access_token_debug_is_redacted() {
        let token = AccessToken {
            secret: Arc::from("eyJsecret"),
            expires_at: None,
            scopes: vec!["a".to_owned()].into(),
        };
        let dbg = format!("{token:?}");
        assert!(!dbg.contains("eyJsecret") && dbg.contains("<redacted>"));
        assert!(token.authorization_header().unwrap().is_sensitive());
    }
}
