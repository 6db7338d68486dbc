//! [`IdJagFlow`]: ID token → ID-JAG (at the IdP) → access token (at the resource AS), cached.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use futures::FutureExt;
use futures::future::{BoxFuture, Shared};
use okta_auth::{AccessToken, ClientAuth, TokenEndpointClient};

use crate::cache_key::{Key, KeyRef, KeyView, normalize};
use crate::token_exchange::{TOKEN_TYPE_ID_JAG, TOKEN_TYPE_ID_TOKEN};
use crate::{Error, JwtBearerClient, Step, TokenExchangeClient, TokenExchangeRequest};

/// Default refresh buffer: a cached access token is replaced 5 minutes before it expires
/// (at half its lifetime when it lives shorter than that).
pub const DEFAULT_REFRESH_BUFFER: Duration = Duration::from_secs(300);

/// Default maximum number of cached access tokens.
pub const DEFAULT_CACHE_CAPACITY: usize = 10_000;

type Flight = Shared<BoxFuture<'static, Result<AccessToken, Error>>>;

/// Okta cross-app access for an agent: trades a signed-in user's ID token for an access
/// token at an MCP server's authorization server, in two steps:
///
/// 1. RFC 8693 token exchange at the IdP (Okta org AS): `subject_token` = the ID token,
///    `requested_token_type` = ID-JAG, `audience` = the resource AS issuer, optional
///    `resource`, `scope`. The answer must be `issued_token_type` ID-JAG with `token_type`
///    `N_A`.
/// 2. RFC 7523 JWT-bearer grant at the resource AS with the ID-JAG as `assertion` → a Bearer
///    access token.
///
/// Results are cached per (ID token, scope set) — the audience and resource are fixed per
/// flow — until expiry minus a buffer; concurrent callers for the same key share one flight;
/// failures are not cached. The key is the exact ID token (compared byte for byte), never its
/// unverified `sub`, so a forged ID token naming someone else can never hit their cached token.
/// Answers without `expires_in` are not cached.
/// [`IdJagFlow::step_up`] re-runs the flow with more scopes after a `403 insufficient_scope`.
///
/// ```no_run
/// use id_jag::IdJagFlow;
/// use okta_auth::ClientAuth;
///
/// # async fn run(id_token: &str) -> Result<(), id_jag::Error> {
/// let flow = IdJagFlow::builder()
///     .idp_token_endpoint("https://example.okta.com/oauth2/v1/token")
///     .resource_token_endpoint("https://example.okta.com/oauth2/aus-mcp/v1/token")
///     .audience("https://example.okta.com/oauth2/aus-mcp")
///     .client_auth(ClientAuth::client_secret_basic("agent", "agent-secret"))
///     .build()?;
/// let token = flow.access_token(id_token, &["mcp:connect", "mcp:tools:read"]).await?;
/// # let _ = token; Ok(()) }
/// ```
#[derive(Clone)]
pub struct IdJagFlow {
    inner: Arc<Inner>,
}

struct Inner {
    exchange: TokenExchangeClient,
    bearer: JwtBearerClient,
    audience: String,
    resources: Vec<String>,
    buffer: Duration,
    capacity: usize,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    cache: HashMap<Key, (AccessToken, Instant)>,
    flights: HashMap<Key, Flight>,
}

impl std::fmt::Debug for IdJagFlow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IdJagFlow")
            .field("idp", &self.inner.exchange.endpoint().endpoint())
            .field("resource_as", &self.inner.bearer.endpoint().endpoint())
            .field("audience", &self.inner.audience)
            .field("resources", &self.inner.resources)
            .field("refresh_buffer", &self.inner.buffer)
            .finish_non_exhaustive()
    }
}

impl IdJagFlow {
    /// Starts configuring a flow.
    pub fn builder() -> IdJagFlowBuilder {
        IdJagFlowBuilder::default()
    }

    /// An access token for the user of `id_token` with `scopes` (order and duplicates do not
    /// matter), from the cache when fresh.
    pub async fn access_token<S: AsRef<str>>(
        &self,
        id_token: &str,
        scopes: &[S],
    ) -> Result<AccessToken, Error> {
        let scopes = normalize(scopes);
        let view = KeyRef {
            token: id_token,
            scopes: &scopes,
        };
        let flight = {
            let mut state = self.lock();
            if let Some((token, refresh_at)) = state.cache.get(&view as &dyn KeyView)
                && Instant::now() < *refresh_at
            {
                return Ok(token.clone());
            }
            match state.flights.get(&view as &dyn KeyView) {
                Some(flight) => flight.clone(),
                None => {
                    let key = Key::new(id_token, &scopes);
                    let inner = Arc::clone(&self.inner);
                    let flight_key = key.clone();
                    let id_token = id_token.to_owned();
                    let flight = async move { inner.run(flight_key, id_token).await }
                        .boxed()
                        .shared();
                    state.flights.insert(key, flight.clone());
                    flight
                }
            }
        };
        flight.await
    }

    /// Re-runs the flow with `current`'s scopes plus `additional` (e.g. from
    /// [`crate::insufficient_scope`] on a `403` answer's `WWW-Authenticate`), and returns the
    /// wider token. Call it once per `403`; if the wider token is refused too, the user or
    /// policy lacks the scope — do not loop.
    pub async fn step_up<S: AsRef<str>>(
        &self,
        id_token: &str,
        current: &AccessToken,
        additional: &[S],
    ) -> Result<AccessToken, Error> {
        let mut scopes: Vec<&str> = current.scopes().iter().map(String::as_str).collect();
        scopes.extend(additional.iter().map(AsRef::as_ref));
        tracing::debug!(added = ?scopes, "stepping up the ID-JAG flow");
        self.access_token(id_token, &scopes).await
    }

    /// Drops every cached token (e.g. after the user signed out).
    pub fn clear(&self) {
        self.lock().cache.clear();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.inner
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

impl Inner {
    async fn run(self: Arc<Self>, key: Key, id_token: String) -> Result<AccessToken, Error> {
        let result = self.fetch(&id_token, &key.scopes()).await;
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        state.flights.remove(&key);
        match &result {
            Ok(token) => {
                let now = Instant::now();
                if let Some(expires_at) = token.expires_at() {
                    let remaining = expires_at.saturating_duration_since(now);
                    let refresh_at = if remaining > self.buffer {
                        expires_at - self.buffer
                    } else {
                        now + remaining / 2
                    };
                    if state.cache.len() >= self.capacity {
                        state.cache.retain(|_, (_, at)| *at > now);
                        if state.cache.len() >= self.capacity {
                            // Still full: evict the entry due soonest.
                            if let Some(oldest) = state
                                .cache
                                .iter()
                                .min_by_key(|(_, (_, at))| *at)
                                .map(|(k, _)| k.clone())
                            {
                                state.cache.remove(&oldest);
                            }
                        }
                    }
                    state.cache.insert(key, (token.clone(), refresh_at));
                }
            }
            Err(e) => tracing::warn!(error = %e, "ID-JAG flow failed"),
        }
        result
    }

    async fn fetch(&self, id_token: &str, scopes: &[String]) -> Result<AccessToken, Error> {
        let mut request = TokenExchangeRequest::new(id_token, TOKEN_TYPE_ID_TOKEN)
            .requested_token_type(TOKEN_TYPE_ID_JAG)
            .audience(self.audience.clone())
            .scopes(scopes.iter().cloned());
        for resource in &self.resources {
            request = request.resource(resource.clone());
        }
        let id_jag = self
            .exchange
            .exchange_as(Step::TokenExchange, &request)
            .await?;
        if id_jag.issued_token_type != TOKEN_TYPE_ID_JAG {
            return Err(Error::UnexpectedIssuedTokenType {
                step: Step::TokenExchange,
                expected: TOKEN_TYPE_ID_JAG.to_owned(),
                found: Some(id_jag.issued_token_type),
            });
        }
        if !id_jag.token_type.eq_ignore_ascii_case("N_A") {
            return Err(Error::UnexpectedTokenType {
                step: Step::TokenExchange,
                expected: "N_A",
                found: id_jag.token_type,
            });
        }
        tracing::debug!(audience = %self.audience, scopes = ?scopes, "obtained an ID-JAG");
        self.bearer.grant(id_jag.access_token(), scopes).await
    }
}

/// Configures an [`IdJagFlow`].
#[derive(Default)]
#[must_use]
pub struct IdJagFlowBuilder {
    idp_endpoint: Option<String>,
    resource_endpoint: Option<String>,
    audience: Option<String>,
    resources: Vec<String>,
    auth: Option<ClientAuth>,
    timeout: Option<Duration>,
    http: Option<reqwest::Client>,
    buffer: Option<Duration>,
    capacity: Option<usize>,
}

impl IdJagFlowBuilder {
    /// The IdP's token endpoint (Okta org AS: `https://{org}.okta.com/oauth2/v1/token`).
    pub fn idp_token_endpoint(mut self, url: impl Into<String>) -> Self {
        self.idp_endpoint = Some(url.into());
        self
    }

    /// The resource authorization server's token endpoint
    /// (`https://{org}.okta.com/oauth2/{authServerId}/v1/token`).
    pub fn resource_token_endpoint(mut self, url: impl Into<String>) -> Self {
        self.resource_endpoint = Some(url.into());
        self
    }

    /// The resource authorization server's issuer: the ID-JAG's `audience`.
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        self.audience = Some(audience.into());
        self
    }

    /// An RFC 8707 resource (e.g. the MCP server URL) sent in step 1 (repeatable).
    pub fn resource(mut self, resource: impl Into<String>) -> Self {
        self.resources.push(resource.into());
        self
    }

    /// The agent's client authentication, used at both token endpoints (the ID-JAG's
    /// `client_id` must be the client that presents it).
    pub fn client_auth(mut self, auth: ClientAuth) -> Self {
        self.auth = Some(auth);
        self
    }

    /// Timeout of each token request (default 10 s); errors name the step that timed out.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Uses this HTTP client for both token endpoints.
    pub fn http_client(mut self, http: reqwest::Client) -> Self {
        self.http = Some(http);
        self
    }

    /// How long before expiry a cached access token is replaced (default 5 minutes).
    pub fn refresh_buffer(mut self, buffer: Duration) -> Self {
        self.buffer = Some(buffer);
        self
    }

    /// Maximum number of cached access tokens (default 10 000).
    pub fn cache_capacity(mut self, capacity: usize) -> Self {
        self.capacity = Some(capacity);
        self
    }

    /// Builds the flow. No request is made yet.
    pub fn build(self) -> Result<IdJagFlow, Error> {
        let missing = |what: &str| Error::Config(format!("IdJagFlow needs `.{what}(…)`"));
        let idp = self
            .idp_endpoint
            .ok_or_else(|| missing("idp_token_endpoint"))?;
        let resource = self
            .resource_endpoint
            .ok_or_else(|| missing("resource_token_endpoint"))?;
        let audience = self.audience.ok_or_else(|| missing("audience"))?;
        let auth = self.auth.ok_or_else(|| missing("client_auth"))?;
        let client = |url: String| -> Result<TokenEndpointClient, Error> {
            let mut c = TokenEndpointClient::new(url, auth.clone())
                .map_err(|e| Error::Config(e.to_string()))?;
            if let Some(http) = &self.http {
                c = c.with_http_client(http.clone());
            }
            if let Some(t) = self.timeout {
                c = c.with_timeout(t);
            }
            Ok(c)
        };
        Ok(IdJagFlow {
            inner: Arc::new(Inner {
                exchange: TokenExchangeClient::new(client(idp)?),
                bearer: JwtBearerClient::new(client(resource)?),
                audience,
                resources: self.resources,
                buffer: self.buffer.unwrap_or(DEFAULT_REFRESH_BUFFER),
                capacity: self.capacity.unwrap_or(DEFAULT_CACHE_CAPACITY).max(1),
                state: Mutex::new(State::default()),
            }),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builder_names_what_is_missing() {
        let err = IdJagFlow::builder().build().unwrap_err().to_string();
        assert!(err.contains("idp_token_endpoint"), "{err}");
        let err = IdJagFlow::builder()
            .idp_token_endpoint("https://idp/token")
            .resource_token_endpoint("https://as/token")
            .audience("https://as")
            .build()
            .unwrap_err()
            .to_string();
        assert!(err.contains("client_auth"), "{err}");
    }
}
