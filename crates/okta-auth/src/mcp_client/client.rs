//! [`McpAuthClient`]: discovery, token cache per (authorization server, resource, scopes),
//! the 401 and 403 reactions.

use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::{Duration, Instant};

use http::HeaderValue;

use super::discovery::protected_resource_metadata;
use super::provider::{TokenProvider, TokenRequest};
use crate::token_endpoint::default_http_client;
use crate::{AccessToken, AuthorizationServerMetadata, BearerChallenge, Error, discover};

/// Default refresh buffer: a cached token is replaced 60 seconds before it expires (at half
/// its lifetime when it lives shorter than twice that).
pub const DEFAULT_MCP_REFRESH_BUFFER: Duration = Duration::from_secs(60);

/// Where the token for one MCP server URL comes from, and the token itself.
struct Binding {
    token: AccessToken,
    header: HeaderValue,
    refresh_at: Instant,
    server: Arc<AuthorizationServerMetadata>,
    resource: String,
    scopes: Vec<String>,
}

/// (issuer, resource, space-joined sorted scopes).
type TokenKey = (String, String, String);

struct Cached {
    token: AccessToken,
    header: HeaderValue,
    refresh_at: Instant,
}

struct Inner {
    http: reqwest::Client,
    provider: Arc<dyn TokenProvider>,
    scopes: Option<Vec<String>>,
    preferred_server: Option<String>,
    buffer: Duration,
    bindings: RwLock<HashMap<String, Arc<Binding>>>,
    tokens: Mutex<HashMap<TokenKey, Cached>>,
    servers: Mutex<HashMap<String, Arc<AuthorizationServerMetadata>>>,
    /// Serialises the slow path (discovery and token requests), so concurrent 401s on the
    /// same client lead to one token request.
    flight: tokio::sync::Mutex<()>,
}

/// Client-side MCP authorization: obtains, caches and refreshes the bearer tokens an agent
/// (or a gateway's HTTP backend) needs to call MCP servers protected by OAuth.
///
/// The client is reactive, as the MCP authorization spec describes:
///
/// 1. A request to an unknown server goes out without a token.
/// 2. On `401`, [`McpAuthClient::authorize`] reads `resource_metadata` from the
///    `WWW-Authenticate` challenge (or tries the RFC 9728 well-known URLs), fetches the
///    protected resource metadata and refuses it unless its `resource` covers the URL called
///    (same origin, same path or a parent path; see `docs/conformance.md`), picks the
///    authorization server (the configured one if listed, else the first), discovers its
///    metadata ([`discover`]: RFC 8414 path-aware, then Okta's and OpenID's well-known URLs),
///    checks that it has a `token_endpoint` and accepts the configured flow
///    ([`TokenProvider::check`]), and asks the [`TokenProvider`] for a token with the
///    configured scopes (else the challenge's `scope`, else the metadata's `scopes_supported`).
///    The caller retries once.
/// 3. Later requests to that URL get the cached token ([`McpAuthClient::authorization`],
///    a read lock and a hash lookup); it is renewed a buffer before it expires.
/// 4. On `403` with `error="insufficient_scope"`, [`McpAuthClient::step_up`] requests a token
///    with the held scopes plus the ones the server named, once; if the server still refuses,
///    the caller gets [`Error::InsufficientScope`] — never a loop.
///
/// [`McpAuthClient::send`] drives this for any `reqwest::Request`; with the `rmcp` feature,
/// [`AuthorizedHttpClient`](super::AuthorizedHttpClient) plugs it under rmcp's streamable
/// HTTP client transport. Tokens are only ever sent to the URL they were obtained for.
/// Cheap to clone; clones share caches. `Debug` shows no tokens.
///
/// ```no_run
/// use okta_auth::ClientAuth;
/// use okta_auth::mcp_client::{ClientCredentials, McpAuthClient};
///
/// # async fn run() -> Result<(), okta_auth::Error> {
/// let auth = McpAuthClient::builder(ClientCredentials::new(
///     ClientAuth::client_secret_basic("agent", "agent-secret"),
/// ))
/// .scopes(["mcp:read"])
/// .build()?;
/// let http = reqwest::Client::new();
/// let request = http
///     .post("https://mcp.example.com/mcp")
///     .json(&serde_json::json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"}))
///     .build()
///     .map_err(|e| okta_auth::Error::Config(e.to_string()))?;
/// let response = auth.send(&http, request).await?; // 401 → discovery → token → retry
/// # let _ = response; Ok(()) }
/// ```
#[derive(Clone)]
pub struct McpAuthClient {
    inner: Arc<Inner>,
}

impl fmt::Debug for McpAuthClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("McpAuthClient")
            .field("provider", &self.inner.provider)
            .field("scopes", &self.inner.scopes)
            .field("authorization_server", &self.inner.preferred_server)
            .field("refresh_buffer", &self.inner.buffer)
            .finish_non_exhaustive()
    }
}

fn normalize_scopes<I: IntoIterator<Item = S>, S: AsRef<str>>(scopes: I) -> Vec<String> {
    let set: BTreeSet<String> = scopes
        .into_iter()
        .flat_map(|s| {
            s.as_ref()
                .split_ascii_whitespace()
                .map(str::to_owned)
                .collect::<Vec<_>>()
        })
        .collect();
    set.into_iter().collect()
}

impl McpAuthClient {
    /// Starts configuring a client that obtains tokens with `provider`.
    pub fn builder(provider: impl TokenProvider) -> McpAuthClientBuilder {
        McpAuthClientBuilder {
            provider: Arc::new(provider),
            http: None,
            scopes: None,
            preferred_server: None,
            buffer: DEFAULT_MCP_REFRESH_BUFFER,
        }
    }

    /// The fast path: `Bearer <token>` for `url` when a fresh token is held, else `None`.
    /// `url` is compared as given (no normalisation), so call with the same string each time.
    pub fn authorization(&self, url: &str) -> Option<HeaderValue> {
        let bindings = self
            .inner
            .bindings
            .read()
            .unwrap_or_else(PoisonError::into_inner);
        let binding = bindings.get(url)?;
        (Instant::now() < binding.refresh_at).then(|| binding.header.clone())
    }

    /// The token to send to `url` now: the cached one when fresh; a renewed one (same
    /// authorization server, resource and scopes, no rediscovery) when it is due for renewal;
    /// `None` when this client has not authorized `url` yet (send the request without a
    /// token and call [`McpAuthClient::authorize`] on the `401`).
    ///
    /// # Errors
    /// Token request failures of the renewal.
    pub async fn token_for(&self, url: &str) -> Result<Option<AccessToken>, Error> {
        let binding = {
            let bindings = self
                .inner
                .bindings
                .read()
                .unwrap_or_else(PoisonError::into_inner);
            match bindings.get(url) {
                None => return Ok(None),
                Some(b) if Instant::now() < b.refresh_at => return Ok(Some(b.token.clone())),
                Some(b) => Arc::clone(b),
            }
        };
        let _flight = self.inner.flight.lock().await;
        let token = self
            .obtain(
                url,
                Arc::clone(&binding.server),
                &binding.resource,
                binding.scopes.clone(),
                None,
            )
            .await?;
        Ok(Some(token))
    }

    /// Reacts to a `401` from `url`: discovers (or rediscovers) the resource's authorization
    /// server from `www_authenticate` (the header's value, if any) and obtains a token. Pass
    /// the token that was refused as `rejected`, so it is dropped from the cache instead of
    /// handed out again. If another task already replaced the refused token, that one is
    /// returned without a new request. Retry the request once with the result.
    ///
    /// # Errors
    /// [`Error::ResourceMetadata`], [`Error::ResourceMismatch`], [`Error::Discovery`],
    /// [`Error::IssuerMismatch`], [`Error::MissingEndpoint`], [`Error::AuthMethodNotSupported`],
    /// token endpoint errors ([`Error::OAuth`] with e.g. `invalid_client`, `invalid_scope`)
    /// and flow errors ([`Error::Flow`], [`Error::CredentialExpired`]).
    pub async fn authorize(
        &self,
        url: &str,
        www_authenticate: Option<&str>,
        rejected: Option<&str>,
    ) -> Result<AccessToken, Error> {
        let _flight = self.inner.flight.lock().await;
        if let Some(token) = self.replacement(url, rejected) {
            return Ok(token);
        }
        if let Some(rejected) = rejected {
            self.forget(url, rejected);
        }
        let challenge = www_authenticate.and_then(BearerChallenge::parse);
        let (prm, _) = protected_resource_metadata(
            &self.inner.http,
            url,
            challenge
                .as_ref()
                .and_then(|c| c.resource_metadata.as_deref()),
        )
        .await?;
        let issuer = match &self.inner.preferred_server {
            Some(wanted) => prm
                .authorization_servers
                .iter()
                .find(|s| *s == wanted)
                .ok_or_else(|| Error::ResourceMetadata {
                    resource: url.to_owned(),
                    reason: format!(
                        "the configured authorization server {wanted} is not among those the \
                         resource lists ({:?})",
                        prm.authorization_servers
                    ),
                })?,
            // `protected_resource_metadata` checked the list is not empty.
            None => prm
                .authorization_servers
                .first()
                .ok_or_else(|| Error::ResourceMetadata {
                    resource: url.to_owned(),
                    reason: "no authorization_servers".into(),
                })?,
        };
        let server = self.server(issuer).await?;
        let scopes = match &self.inner.scopes {
            Some(scopes) => scopes.clone(),
            None => match challenge.as_ref().map(BearerChallenge::scopes) {
                Some(scopes) if !scopes.is_empty() => normalize_scopes(scopes),
                _ => normalize_scopes(&prm.scopes_supported),
            },
        };
        self.obtain(url, server, &prm.resource, scopes, rejected)
            .await
    }

    /// Reacts to a `403` from `url`: when `www_authenticate` is an `insufficient_scope`
    /// challenge naming scopes this client does not hold for `url` yet, obtains a token with
    /// the held scopes plus those, once. Retry the request once with the result; if it is
    /// refused again, stop (the driver in [`McpAuthClient::send`] returns
    /// [`Error::InsufficientScope`] then).
    ///
    /// # Errors
    /// [`Error::InsufficientScope`] when the challenge names no scope, or only scopes already
    /// held (a step-up cannot help), or `url` was never authorized; token request errors.
    pub async fn step_up(
        &self,
        url: &str,
        www_authenticate: &str,
        rejected: Option<&str>,
    ) -> Result<AccessToken, Error> {
        let _flight = self.inner.flight.lock().await;
        let challenge = BearerChallenge::parse(www_authenticate).unwrap_or_default();
        let required = challenge.scopes();
        let binding = self.binding(url);
        let held = binding
            .as_ref()
            .map(|b| b.scopes.clone())
            .unwrap_or_default();
        let refused = || Error::InsufficientScope {
            resource: url.to_owned(),
            required: required.clone(),
            granted: held.clone(),
        };
        if challenge.error.as_deref() != Some("insufficient_scope") || required.is_empty() {
            return Err(refused());
        }
        let Some(binding) = binding else {
            return Err(refused());
        };
        if let Some(rejected) = rejected
            && binding.token.secret() != rejected
            && required.iter().all(|r| binding.scopes.contains(r))
        {
            // Another task stepped up already.
            return Ok(binding.token.clone());
        }
        let wider = normalize_scopes(held.iter().chain(required.iter()));
        if wider == held {
            return Err(refused());
        }
        tracing::debug!(resource = %binding.resource, scopes = ?wider, "stepping up");
        self.obtain(
            url,
            Arc::clone(&binding.server),
            &binding.resource,
            wider,
            None,
        )
        .await
    }

    /// The scopes of the token held for `url` (as requested), if any.
    pub fn scopes(&self, url: &str) -> Option<Vec<String>> {
        self.binding(url).map(|b| b.scopes.clone())
    }

    /// Drops every cached token and discovered server (e.g. after a credential change).
    pub fn clear(&self) {
        self.inner
            .bindings
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
        self.lock_tokens().clear();
        self.inner
            .servers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
    }

    fn binding(&self, url: &str) -> Option<Arc<Binding>> {
        self.inner
            .bindings
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(url)
            .cloned()
    }

    fn lock_tokens(&self) -> std::sync::MutexGuard<'_, HashMap<TokenKey, Cached>> {
        self.inner
            .tokens
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// A fresh token for `url` other than `rejected`, if one is bound already.
    fn replacement(&self, url: &str, rejected: Option<&str>) -> Option<AccessToken> {
        let binding = self.binding(url)?;
        let fresh = Instant::now() < binding.refresh_at;
        let other = rejected.is_some_and(|r| r != binding.token.secret());
        (fresh && other).then(|| binding.token.clone())
    }

    /// Drops `rejected` from the caches.
    fn forget(&self, url: &str, rejected: &str) {
        self.lock_tokens()
            .retain(|_, c| c.token.secret() != rejected);
        let mut bindings = self
            .inner
            .bindings
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        if bindings
            .get(url)
            .is_some_and(|b| b.token.secret() == rejected)
        {
            bindings.remove(url);
        }
    }

    async fn server(&self, issuer: &str) -> Result<Arc<AuthorizationServerMetadata>, Error> {
        let cached = self
            .inner
            .servers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(issuer)
            .cloned();
        let server = match cached {
            Some(server) => server,
            None => {
                let meta = Arc::new(discover(&self.inner.http, issuer).await?);
                self.inner
                    .servers
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .insert(issuer.to_owned(), Arc::clone(&meta));
                meta
            }
        };
        if server.token_endpoint.is_none() {
            return Err(Error::MissingEndpoint {
                issuer: issuer.to_owned(),
                field: "token_endpoint",
            });
        }
        self.inner.provider.check(&server)?;
        Ok(server)
    }

    /// A token from `server` for `resource` with `scopes` (from the cache unless stale or
    /// `rejected`), bound to `url`.
    async fn obtain(
        &self,
        url: &str,
        server: Arc<AuthorizationServerMetadata>,
        resource: &str,
        scopes: Vec<String>,
        rejected: Option<&str>,
    ) -> Result<AccessToken, Error> {
        let key: TokenKey = (server.issuer.clone(), resource.to_owned(), scopes.join(" "));
        let now = Instant::now();
        let cached = self.lock_tokens().get(&key).and_then(|c| {
            (now < c.refresh_at && rejected != Some(c.token.secret()))
                .then(|| (c.token.clone(), c.header.clone(), c.refresh_at))
        });
        let (token, header, refresh_at) = match cached {
            Some(hit) => hit,
            None => {
                let token_endpoint =
                    server
                        .token_endpoint
                        .as_deref()
                        .ok_or_else(|| Error::MissingEndpoint {
                            issuer: server.issuer.clone(),
                            field: "token_endpoint",
                        })?;
                let request = TokenRequest::new(&server, token_endpoint, resource, &scopes);
                let received_at = Instant::now();
                let token = self.inner.provider.token(request).await?;
                let header = token.authorization_header()?;
                let refresh_at = self.refresh_at(received_at, token.expires_at());
                self.lock_tokens().insert(
                    key,
                    Cached {
                        token: token.clone(),
                        header: header.clone(),
                        refresh_at,
                    },
                );
                (token, header, refresh_at)
            }
        };
        let binding = Arc::new(Binding {
            token: token.clone(),
            header,
            refresh_at,
            server,
            resource: resource.to_owned(),
            scopes,
        });
        self.inner
            .bindings
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(url.to_owned(), binding);
        Ok(token)
    }

    /// Tokens without a lifetime are kept until the server refuses them (then a `401` renews
    /// them); others are renewed the buffer before expiry, or at half their remaining life.
    fn refresh_at(&self, received_at: Instant, expires_at: Option<Instant>) -> Instant {
        const NO_EXPIRY: Duration = Duration::from_secs(365 * 24 * 3600);
        match expires_at {
            None => received_at + NO_EXPIRY,
            Some(at) => {
                let life = at.saturating_duration_since(received_at);
                if life > self.inner.buffer * 2 {
                    at - self.inner.buffer
                } else {
                    received_at + life / 2
                }
            }
        }
    }
}

/// Configures an [`McpAuthClient`].
#[must_use]
pub struct McpAuthClientBuilder {
    provider: Arc<dyn TokenProvider>,
    http: Option<reqwest::Client>,
    scopes: Option<Vec<String>>,
    preferred_server: Option<String>,
    buffer: Duration,
}

impl fmt::Debug for McpAuthClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("McpAuthClientBuilder")
            .field("provider", &self.provider)
            .field("scopes", &self.scopes)
            .finish_non_exhaustive()
    }
}

impl McpAuthClientBuilder {
    /// The HTTP client for metadata requests (default: one that follows no redirects, so a
    /// metadata URL cannot bounce the client to another host).
    pub fn http_client(mut self, http: reqwest::Client) -> Self {
        self.http = Some(http);
        self
    }

    /// Always request these scopes (instead of the challenge's `scope` or the resource's
    /// `scopes_supported`). Step-ups add to them.
    pub fn scopes<I, S>(mut self, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        self.scopes = Some(normalize_scopes(scopes));
        self
    }

    /// Use this authorization server (issuer) when a resource lists several; a resource that
    /// does not list it is refused.
    pub fn authorization_server(mut self, issuer: impl Into<String>) -> Self {
        self.preferred_server = Some(issuer.into());
        self
    }

    /// Renew tokens this long before they expire (default [`DEFAULT_MCP_REFRESH_BUFFER`]).
    pub fn refresh_buffer(mut self, buffer: Duration) -> Self {
        self.buffer = buffer;
        self
    }

    /// Builds the client.
    ///
    /// # Errors
    /// [`Error::InvalidClientConfig`] when the default HTTP client cannot be built.
    pub fn build(self) -> Result<McpAuthClient, Error> {
        let http = match self.http {
            Some(http) => http,
            None => default_http_client()?,
        };
        Ok(McpAuthClient {
            inner: Arc::new(Inner {
                http,
                provider: self.provider,
                scopes: self.scopes,
                preferred_server: self.preferred_server,
                buffer: self.buffer,
                bindings: RwLock::default(),
                tokens: Mutex::default(),
                servers: Mutex::default(),
                flight: tokio::sync::Mutex::new(()),
            }),
        })
    }
}
