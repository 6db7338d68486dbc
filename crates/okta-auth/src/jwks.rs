//! `JwksCache`: the identity provider's signing keys, kept fresh.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock, Weak};
use std::time::{Duration, Instant};

use jsonwebtoken::jwk::JwkSet;
use tokio::sync::oneshot;

use crate::Error;
use crate::discovery::discover;
use crate::fetch::{get_document, parse_secure_url};
use crate::keys::{VerifyingKey, parse_key_set};

/// What [`JwksCacheBuilder::build`] does when the keys cannot be fetched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum StartupMode {
    /// Fetch the keys in `build()`; if that fails, `build()` returns the error
    /// (the service should not start without keys). The default.
    #[default]
    Eager,
    /// Return at once and fetch in the background, retrying every
    /// [`retry_interval`](JwksCacheBuilder::retry_interval); until keys arrive
    /// verification fails with [`Error::KeysUnavailable`].
    Lazy,
}

/// Where keys come from.
#[derive(Debug, Clone)]
enum Origin {
    /// Discover `jwks_uri` from this issuer (RFC 8414 / OIDC discovery).
    Issuer(String),
    /// Fetch this JWKS URL directly.
    JwksUri(String),
}

#[derive(Debug, Clone)]
struct Config {
    min_refresh: Duration,
    max_refresh: Duration,
    default_refresh: Duration,
    unknown_kid_cooldown: Duration,
    stale_if_error: Duration,
    retry_interval: Duration,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            min_refresh: Duration::from_secs(60),
            max_refresh: Duration::from_secs(24 * 3600),
            default_refresh: Duration::from_secs(3600),
            unknown_kid_cooldown: Duration::from_secs(30),
            stale_if_error: Duration::from_secs(12 * 3600),
            retry_interval: Duration::from_secs(10),
        }
    }
}

/// Configures and builds a [`JwksCache`]. Start with [`JwksCache::builder`].
#[derive(Debug, Clone)]
#[must_use]
pub struct JwksCacheBuilder {
    origin: Option<Origin>,
    http: Option<reqwest::Client>,
    startup: StartupMode,
    config: Config,
}

impl JwksCacheBuilder {
    /// Discover the JWKS URL from this issuer (e.g.
    /// `https://example.okta.com/oauth2/default`). Replaces any [`jwks_uri`](Self::jwks_uri).
    pub fn issuer(mut self, issuer: impl Into<String>) -> Self {
        self.origin = Some(Origin::Issuer(issuer.into()));
        self
    }

    /// Fetch keys from this JWKS URL directly (e.g.
    /// `https://example.okta.com/oauth2/default/v1/keys`). Replaces any [`issuer`](Self::issuer).
    pub fn jwks_uri(mut self, uri: impl Into<String>) -> Self {
        self.origin = Some(Origin::JwksUri(uri.into()));
        self
    }

    /// The HTTP client for discovery and key fetches. The default has a
    /// 10-second timeout and follows no redirects.
    pub fn http_client(mut self, client: reqwest::Client) -> Self {
        self.http = Some(client);
        self
    }

    /// What to do when keys cannot be fetched at startup (default [`StartupMode::Eager`]).
    pub fn startup(mut self, mode: StartupMode) -> Self {
        self.startup = mode;
        self
    }

    /// Bounds for the refresh interval taken from `Cache-Control: max-age`
    /// (default 60 s to 24 h). A `max-age` outside is clamped into them.
    pub fn refresh_bounds(mut self, min: Duration, max: Duration) -> Self {
        self.config.min_refresh = min;
        self.config.max_refresh = max;
        self
    }

    /// Refresh interval when the server sends no `max-age` (default 1 h; clamped by the bounds).
    pub fn default_refresh(mut self, interval: Duration) -> Self {
        self.config.default_refresh = interval;
        self
    }

    /// A token with an unknown `kid` triggers at most one refetch per this
    /// period, however many such tokens arrive (default 30 s).
    pub fn unknown_kid_cooldown(mut self, cooldown: Duration) -> Self {
        self.config.unknown_kid_cooldown = cooldown;
        self
    }

    /// How long keys keep working after they were due for refresh while the
    /// identity provider cannot be reached (default 12 h). After that,
    /// verification fails with [`Error::KeysUnavailable`] until a fetch succeeds.
    pub fn stale_if_error(mut self, bound: Duration) -> Self {
        self.config.stale_if_error = bound;
        self
    }

    /// Delay between background retries after a failed fetch (default 10 s).
    pub fn retry_interval(mut self, interval: Duration) -> Self {
        self.config.retry_interval = interval;
        self
    }

    /// Builds the cache and starts its background refresh task (stopped when
    /// the last clone of the cache is dropped). Must run inside a tokio runtime.
    ///
    /// # Errors
    /// [`Error::Config`] for a missing/insecure URL, bad bounds or no tokio
    /// runtime; with [`StartupMode::Eager`] also [`Error::Discovery`],
    /// [`Error::IssuerMismatch`], [`Error::JwksFetch`] or [`Error::JwksInvalid`].
    pub async fn build(self) -> Result<JwksCache, Error> {
        let origin = self.origin.ok_or_else(|| {
            Error::Config("JwksCache needs .issuer(...) or .jwks_uri(...)".to_owned())
        })?;
        match &origin {
            Origin::Issuer(u) | Origin::JwksUri(u) => {
                parse_secure_url(u).map_err(Error::Config)?;
            }
        }
        let c = &self.config;
        if c.min_refresh > c.max_refresh || c.min_refresh.is_zero() {
            return Err(Error::Config(
                "refresh_bounds: min must be non-zero and not above max".to_owned(),
            ));
        }
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| {
            Error::Config("JwksCache::build must run inside a tokio runtime".to_owned())
        })?;
        let http = match self.http {
            Some(client) => client,
            None => reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                // Keys come from the configured URL only, never from wherever it redirects.
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .map_err(|e| Error::Config(format!("cannot build HTTP client: {e}")))?,
        };
        let (shutdown_tx, shutdown_rx) = oneshot::channel();
        let inner = Arc::new(Inner {
            remote: Some(Remote {
                http,
                origin,
                resolved_uri: Mutex::new(None),
                fetch_lock: tokio::sync::Mutex::new(()),
                attempts: AtomicU64::new(0),
                last_error: Mutex::new(None),
                last_forced: Mutex::new(None),
                _shutdown: shutdown_tx,
            }),
            state: RwLock::new(Arc::new(KeySet::empty())),
            config: self.config,
        });
        let first_delay = match self.startup {
            StartupMode::Eager => {
                inner.fetch_now().await?;
                inner.refresh_delay()
            }
            StartupMode::Lazy => Duration::ZERO,
        };
        runtime.spawn(refresh_loop(
            Arc::downgrade(&inner),
            shutdown_rx,
            first_delay,
        ));
        Ok(JwksCache { inner })
    }
}

/// The current keys.
struct KeySet {
    keys: HashMap<String, Arc<VerifyingKey>>,
    /// When these keys stop being usable (`None`: never, e.g. pinned keys).
    usable_until: Option<Instant>,
    /// When a refresh is due (from `max-age`, clamped).
    refresh_at: Option<Instant>,
    loaded: bool,
}

impl KeySet {
    fn empty() -> Self {
        Self {
            keys: HashMap::new(),
            usable_until: None,
            refresh_at: None,
            loaded: false,
        }
    }
}

/// Fetching machinery, absent for pinned key sets.
struct Remote {
    http: reqwest::Client,
    origin: Origin,
    resolved_uri: Mutex<Option<String>>,
    /// Held for the duration of every fetch: concurrent fetchers queue here
    /// and reuse the result of the fetch they waited for (single flight).
    fetch_lock: tokio::sync::Mutex<()>,
    /// Number of completed fetch attempts, successful or not.
    attempts: AtomicU64,
    last_error: Mutex<Option<String>>,
    /// Start of the last fetch triggered by an unknown `kid`.
    last_forced: Mutex<Option<Instant>>,
    /// Dropping this (with the cache) stops the refresh task.
    _shutdown: oneshot::Sender<()>,
}

struct Inner {
    remote: Option<Remote>,
    state: RwLock<Arc<KeySet>>,
    config: Config,
}

enum Lookup {
    Found(Arc<VerifyingKey>),
    Missing,
    Stale,
}

impl Inner {
    fn snapshot(&self) -> Arc<KeySet> {
        Arc::clone(&self.state.read().unwrap_or_else(PoisonError::into_inner))
    }

    fn lookup(&self, kid: &str) -> Lookup {
        let state = self.state.read().unwrap_or_else(PoisonError::into_inner);
        if state
            .usable_until
            .is_some_and(|until| Instant::now() >= until)
        {
            return Lookup::Stale;
        }
        match state.keys.get(kid) {
            Some(key) => Lookup::Found(Arc::clone(key)),
            None => Lookup::Missing,
        }
    }

    fn refresh_delay(&self) -> Duration {
        match self.snapshot().refresh_at {
            Some(at) => at.saturating_duration_since(Instant::now()),
            None => self.config.retry_interval,
        }
    }

    fn last_error(&self) -> Option<String> {
        self.remote.as_ref().and_then(|r| {
            r.last_error
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .clone()
        })
    }

    /// Fetches now, sharing the result with fetches already in flight.
    async fn fetch_now(&self) -> Result<(), Error> {
        let Some(remote) = &self.remote else {
            return Ok(());
        };
        let seen = remote.attempts.load(Ordering::Acquire);
        self.fetch_shared(remote, seen).await
    }

    /// Takes the fetch lock; if a fetch completed since `seen`, returns its
    /// outcome instead of fetching again.
    async fn fetch_shared(&self, remote: &Remote, seen: u64) -> Result<(), Error> {
        let _guard = remote.fetch_lock.lock().await;
        if remote.attempts.load(Ordering::Acquire) != seen {
            return match self.last_error() {
                None => Ok(()),
                Some(reason) => Err(Error::KeysUnavailable { reason }),
            };
        }
        self.fetch_locked(remote).await
    }

    /// Fetches and records the outcome; the caller holds `remote.fetch_lock`.
    async fn fetch_locked(&self, remote: &Remote) -> Result<(), Error> {
        let result = self.fetch_and_install(remote).await;
        *remote
            .last_error
            .lock()
            .unwrap_or_else(PoisonError::into_inner) =
            result.as_ref().err().map(ToString::to_string);
        remote.attempts.fetch_add(1, Ordering::AcqRel);
        result
    }

    async fn jwks_uri(&self, remote: &Remote) -> Result<String, Error> {
        if let Some(uri) = remote
            .resolved_uri
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
        {
            return Ok(uri);
        }
        let uri = match &remote.origin {
            Origin::JwksUri(uri) => uri.clone(),
            Origin::Issuer(issuer) => {
                let meta = discover(&remote.http, issuer).await?;
                let uri = meta.jwks_uri.ok_or_else(|| Error::Discovery {
                    issuer: issuer.clone(),
                    reason: "metadata has no jwks_uri".to_owned(),
                })?;
                parse_secure_url(&uri).map_err(|reason| Error::Discovery {
                    issuer: issuer.clone(),
                    reason: format!("jwks_uri: {reason}"),
                })?;
                uri
            }
        };
        *remote
            .resolved_uri
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(uri.clone());
        Ok(uri)
    }

    async fn fetch_and_install(&self, remote: &Remote) -> Result<(), Error> {
        let url = self.jwks_uri(remote).await?;
        let fetched = get_document(&remote.http, &url)
            .await
            .map_err(|e| Error::JwksFetch {
                url: url.clone(),
                reason: e.to_string(),
            })?;
        let (keys, skipped) =
            parse_key_set(&fetched.body).map_err(|reason| Error::JwksInvalid {
                url: url.clone(),
                reason,
            })?;
        for reason in &skipped {
            tracing::warn!(%url, %reason, "skipping unusable JWK");
        }
        if keys.is_empty() {
            return Err(Error::JwksInvalid {
                url,
                reason: format!("no usable signing keys ({} skipped)", skipped.len()),
            });
        }
        let c = &self.config;
        let lifetime = fetched
            .max_age
            .unwrap_or(c.default_refresh)
            .clamp(c.min_refresh, c.max_refresh);
        let now = Instant::now();
        let set = KeySet {
            keys: keys
                .into_iter()
                .map(|k| (k.kid().to_owned(), Arc::new(k)))
                .collect(),
            usable_until: Some(now + lifetime + c.stale_if_error),
            refresh_at: Some(now + lifetime),
            loaded: true,
        };
        tracing::debug!(%url, keys = set.keys.len(), refresh_in = ?lifetime, "loaded signing keys");
        *self.state.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(set);
        Ok(())
    }

    /// The key for `kid`, refetching (at most once per cooldown) on a miss.
    async fn key(&self, kid: &str) -> Result<Arc<VerifyingKey>, Error> {
        let Some(remote) = &self.remote else {
            return match self.lookup(kid) {
                Lookup::Found(key) => Ok(key),
                Lookup::Missing | Lookup::Stale => Err(Error::UnknownKid),
            };
        };
        let seen = remote.attempts.load(Ordering::Acquire);
        if let Lookup::Found(key) = self.lookup(kid) {
            return Ok(key);
        }
        {
            let guard = remote.fetch_lock.lock().await;
            let fetched_meanwhile = remote.attempts.load(Ordering::Acquire) != seen;
            let may_fetch = !fetched_meanwhile && {
                let mut last = remote
                    .last_forced
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner);
                let allowed = last.is_none_or(|t| t.elapsed() >= self.config.unknown_kid_cooldown);
                if allowed {
                    *last = Some(Instant::now());
                }
                allowed
            };
            if may_fetch {
                tracing::debug!("unknown kid or stale keys: refetching signing keys");
                // Fetch while holding the lock, so concurrent misses wait for
                // this one request. The error (if any) is recorded and reported below.
                let _ = self.fetch_locked(remote).await;
            }
            drop(guard);
        }
        match self.lookup(kid) {
            Lookup::Found(key) => Ok(key),
            Lookup::Missing if self.snapshot().loaded => Err(Error::UnknownKid),
            Lookup::Missing => Err(Error::KeysUnavailable {
                reason: format!(
                    "keys never loaded{}",
                    self.last_error()
                        .map(|e| format!(": {e}"))
                        .unwrap_or_default()
                ),
            }),
            Lookup::Stale => Err(Error::KeysUnavailable {
                reason: format!(
                    "keys are stale beyond the stale_if_error bound{}",
                    self.last_error()
                        .map(|e| format!(": {e}"))
                        .unwrap_or_default()
                ),
            }),
        }
    }
}

async fn refresh_loop(weak: Weak<Inner>, mut shutdown: oneshot::Receiver<()>, first: Duration) {
    let mut delay = first;
    loop {
        tokio::select! {
            () = tokio::time::sleep(delay) => {}
            _ = &mut shutdown => return,
        }
        let Some(inner) = weak.upgrade() else { return };
        delay = match inner.fetch_now().await {
            Ok(()) => inner
                .refresh_delay()
                .max(inner.config.min_refresh.min(Duration::from_secs(1))),
            Err(e) => {
                tracing::warn!(error = %e, "background refresh of signing keys failed; keeping current keys");
                inner.config.retry_interval
            }
        };
        drop(inner);
    }
}

/// The identity provider's signing keys by `kid`, kept fresh.
///
/// - Built from an issuer (discovery) or a JWKS URL with [`JwksCache::builder`],
///   or from fixed keys with [`JwksCache::from_jwks`].
/// - Refreshes in the background when `Cache-Control: max-age` (clamped to
///   [`refresh_bounds`](JwksCacheBuilder::refresh_bounds)) says so; the task
///   stops when the last clone is dropped.
/// - A token with an unknown `kid` triggers at most one refetch per
///   [`unknown_kid_cooldown`](JwksCacheBuilder::unknown_kid_cooldown);
///   concurrent misses share one HTTP request.
/// - While the identity provider is down, the last keys keep working for
///   [`stale_if_error`](JwksCacheBuilder::stale_if_error).
///
/// Cheap to clone; clones share keys and the refresh task.
///
/// ```
/// use jsonwebtoken::jwk::JwkSet;
/// let set: JwkSet = serde_json::from_value(serde_json::json!({"keys": [{
///     "kty": "EC", "crv": "P-256", "kid": "pinned-1", "alg": "ES256", "use": "sig",
///     "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
///     "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"
/// }]})).unwrap();
/// let cache = okta_auth::JwksCache::from_jwks(&set).unwrap();
/// assert_eq!(cache.kids(), vec!["pinned-1".to_owned()]);
/// ```
#[derive(Clone)]
pub struct JwksCache {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for JwksCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwksCache")
            .field("origin", &self.inner.remote.as_ref().map(|r| &r.origin))
            .field("kids", &self.kids())
            .finish()
    }
}

impl JwksCache {
    /// Starts configuring a cache that fetches keys over HTTP.
    pub fn builder() -> JwksCacheBuilder {
        JwksCacheBuilder {
            origin: None,
            http: None,
            startup: StartupMode::default(),
            config: Config::default(),
        }
    }

    /// A cache of fixed keys (pinned keys, tests, benchmarks): never fetches,
    /// never goes stale; an unknown `kid` is rejected at once. Needs no runtime.
    ///
    /// # Errors
    /// [`Error::JwksInvalid`] when no key in the set can verify signatures
    /// (unusable keys are skipped with a warning).
    pub fn from_jwks(set: &JwkSet) -> Result<Self, Error> {
        let document = serde_json::to_vec(set).map_err(|e| Error::JwksInvalid {
            url: "static".to_owned(),
            reason: e.to_string(),
        })?;
        let (keys, skipped) = parse_key_set(&document).map_err(|reason| Error::JwksInvalid {
            url: "static".to_owned(),
            reason,
        })?;
        for reason in &skipped {
            tracing::warn!(%reason, "skipping unusable JWK");
        }
        if keys.is_empty() {
            return Err(Error::JwksInvalid {
                url: "static".to_owned(),
                reason: format!("no usable signing keys ({} skipped)", skipped.len()),
            });
        }
        let set = KeySet {
            keys: keys
                .into_iter()
                .map(|k| (k.kid().to_owned(), Arc::new(k)))
                .collect(),
            usable_until: None,
            refresh_at: None,
            loaded: true,
        };
        Ok(Self {
            inner: Arc::new(Inner {
                remote: None,
                state: RwLock::new(Arc::new(set)),
                config: Config::default(),
            }),
        })
    }

    /// Fetches the keys now (ignoring the unknown-`kid` cooldown; still shares
    /// an in-flight fetch). A no-op for [`from_jwks`](Self::from_jwks) caches.
    ///
    /// # Errors
    /// The fetch error; the previous keys stay in use.
    pub async fn refresh(&self) -> Result<(), Error> {
        self.inner.fetch_now().await
    }

    /// The `kid`s of the current keys, sorted.
    pub fn kids(&self) -> Vec<String> {
        let mut kids: Vec<String> = self.inner.snapshot().keys.keys().cloned().collect();
        kids.sort();
        kids
    }

    /// The JWKS URL in use, once known (after discovery for issuer-built caches).
    pub fn jwks_uri(&self) -> Option<String> {
        let remote = self.inner.remote.as_ref()?;
        if let Origin::JwksUri(uri) = &remote.origin {
            return Some(uri.clone());
        }
        remote
            .resolved_uri
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The issuer this cache discovers keys from, if built with
    /// [`issuer`](JwksCacheBuilder::issuer).
    pub fn issuer(&self) -> Option<&str> {
        match &self.inner.remote.as_ref()?.origin {
            Origin::Issuer(issuer) => Some(issuer),
            Origin::JwksUri(_) => None,
        }
    }

    /// The key for `kid` (refetching on a miss, bounded by the cooldown).
    pub(crate) async fn key(&self, kid: &str) -> Result<Arc<VerifyingKey>, Error> {
        // Fast path: one uncontended read lock, no allocation.
        if let Lookup::Found(key) = self.inner.lookup(kid) {
            return Ok(key);
        }
        self.inner.key(kid).await
    }
}
