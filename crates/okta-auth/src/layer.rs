//! `AuthLayer`: a tower layer that verifies bearer tokens in front of any
//! service (axum `Router`s included) and puts `Verified<OktaClaims>` into
//! request extensions.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::body::Body;
use axum::extract::{FromRequestParts, OptionalFromRequestParts};
use http::request::Parts;
use http::{Request, Response};
use tower::{Layer, Service};

use crate::Error;
use crate::challenge::{AuthRejection, ChallengeContext, Credentials, credentials};
use crate::claims::{OktaClaims, Verified};
use crate::metadata::ProtectedResourceMetadata;
use crate::verifier::Verifier;

/// What [`AuthLayer`] does with missing and invalid tokens (agentgateway's names).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AuthMode {
    /// A valid token is required: no token → `401` (challenge without error
    /// attributes), invalid token → `401 invalid_token`. The default.
    #[default]
    Strict,
    /// Requests without a token pass through without claims; a token that is
    /// sent must be valid (`401 invalid_token` otherwise).
    Optional,
    /// Nothing is rejected: valid tokens yield claims, invalid ones are
    /// logged and the request passes through without claims.
    Permissive,
}

struct Config {
    verifier: Verifier,
    mode: AuthMode,
    challenge: ChallengeContext,
}

/// Tower layer that verifies `Authorization: Bearer` tokens.
///
/// - The scheme is matched case-insensitively (`bearer` works, RFC 7235).
///   A header with another scheme (`Basic`, `DPoP`, …) counts as *no bearer
///   token*: in strict mode the answer is `401` with a bare challenge.
/// - Two `Authorization` headers, or `Bearer` without a token, are
///   `400 invalid_request` (except in permissive mode).
/// - Rejections carry `WWW-Authenticate: Bearer realm=…, error="invalid_token",
///   error_description="…", resource_metadata="…"` (RFC 6750 §3, RFC 9728 §5.1);
///   no error attributes when no token was sent. The token is never echoed
///   nor logged.
/// - When the identity provider's keys cannot be had at all
///   ([`Error::KeysUnavailable`]) the answer is `503` with `Retry-After`, since
///   the token may well be valid.
/// - On success `Verified<OktaClaims>` goes into the request's extensions.
///
/// ```
/// # use jsonwebtoken::jwk::JwkSet;
/// # let set: JwkSet = serde_json::from_value(serde_json::json!({"keys": [{
/// #     "kty": "EC", "crv": "P-256", "kid": "k1",
/// #     "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
/// #     "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}]})).unwrap();
/// use axum::{Router, routing::get};
/// use okta_auth::{AuthLayer, JwksCache, OktaClaims, Verified, Verifier, require_scopes};
///
/// async fn hello(claims: Verified<OktaClaims>) -> String {
///     format!("hello {}", claims.sub.as_deref().unwrap_or("?"))
/// }
/// let verifier = Verifier::builder(JwksCache::from_jwks(&set).unwrap())
///     .issuer("https://example.okta.com/oauth2/default")
///     .audience("api://default")
///     .build()
///     .unwrap();
/// let app: Router = Router::new()
///     .route("/api/hello", get(hello))
///     .layer(require_scopes(["mcp:read"]))          // runs second
///     .layer(AuthLayer::new(verifier)               // runs first
///         .realm("example")
///         .resource_metadata("https://api.example.com/.well-known/oauth-protected-resource"));
/// ```
#[derive(Clone)]
pub struct AuthLayer {
    config: Arc<Config>,
}

impl std::fmt::Debug for AuthLayer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthLayer")
            .field("mode", &self.config.mode)
            .field("realm", &self.config.challenge.realm)
            .field(
                "resource_metadata",
                &self.config.challenge.resource_metadata,
            )
            .finish_non_exhaustive()
    }
}

impl AuthLayer {
    /// A strict layer using `verifier`.
    pub fn new(verifier: Verifier) -> Self {
        Self {
            config: Arc::new(Config {
                verifier,
                mode: AuthMode::Strict,
                challenge: ChallengeContext::default(),
            }),
        }
    }

    fn edit(mut self, f: impl FnOnce(&mut Config)) -> Self {
        let config = match Arc::try_unwrap(self.config) {
            Ok(config) => config,
            Err(shared) => Config {
                verifier: shared.verifier.clone(),
                mode: shared.mode,
                challenge: shared.challenge.clone(),
            },
        };
        let mut config = config;
        f(&mut config);
        self.config = Arc::new(config);
        self
    }

    /// Sets the [`AuthMode`] (default strict).
    #[must_use]
    pub fn mode(self, mode: AuthMode) -> Self {
        self.edit(|c| c.mode = mode)
    }

    /// Sets the `realm` attribute of challenges.
    #[must_use]
    pub fn realm(self, realm: impl Into<String>) -> Self {
        let realm = realm.into();
        self.edit(|c| c.challenge.realm = Some(realm))
    }

    /// Sets the `resource_metadata` attribute of challenges (RFC 9728 §5.1):
    /// the full URL of the protected resource metadata document.
    #[must_use]
    pub fn resource_metadata(self, url: impl Into<String>) -> Self {
        let url = url.into();
        self.edit(|c| c.challenge.resource_metadata = Some(url))
    }

    /// Sets the `scope` attribute of `401` challenges: the scopes a client should
    /// ask for to use this resource (MCP authorization, "Scope Selection
    /// Strategy": servers should name them so clients request the least privilege
    /// they need). `403 insufficient_scope` answers name their own scopes.
    ///
    /// ```
    /// # fn demo(verifier: okta_auth::Verifier) {
    /// let layer = okta_auth::AuthLayer::new(verifier).challenge_scope(["mcp:read"]);
    /// # }
    /// ```
    #[must_use]
    pub fn challenge_scope<I>(self, scopes: I) -> Self
    where
        I: IntoIterator,
        I::Item: Into<String>,
    {
        let scopes: Vec<String> = scopes.into_iter().map(Into::into).collect();
        let scope = (!scopes.is_empty()).then(|| scopes.join(" "));
        self.edit(|c| c.challenge.scope = scope)
    }

    /// Sets `resource_metadata` to where `metadata` is served (see
    /// [`ProtectedResourceMetadata::metadata_url`]).
    ///
    /// # Errors
    /// [`Error::Config`] when the metadata's `resource` is not a valid URL.
    pub fn resource_metadata_from(
        self,
        metadata: &ProtectedResourceMetadata,
    ) -> Result<Self, Error> {
        let url = metadata.metadata_url()?;
        Ok(self.resource_metadata(url))
    }
}

impl<S> Layer<S> for AuthLayer {
    type Service = AuthService<S>;
    fn layer(&self, inner: S) -> Self::Service {
        AuthService {
            inner,
            config: Arc::clone(&self.config),
        }
    }
}

/// The service made by [`AuthLayer`]; generic over the request body type.
#[derive(Clone)]
pub struct AuthService<S> {
    inner: S,
    config: Arc<Config>,
}

impl<S> std::fmt::Debug for AuthService<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthService")
            .field("mode", &self.config.mode)
            .finish_non_exhaustive()
    }
}

/// What the layer decided for one request.
enum Decision {
    Pass(Option<Arc<OktaClaims>>),
    Reject(AuthRejection),
}

async fn decide(config: &Config, headers: &http::HeaderMap, path: &str) -> Decision {
    let ctx = &config.challenge;
    let permissive = config.mode == AuthMode::Permissive;
    let token = match credentials(headers) {
        Credentials::Bearer(token) => token,
        Credentials::None { other_scheme } => {
            if let Some(scheme) = other_scheme {
                tracing::debug!(scheme = %scheme.chars().take(20).collect::<String>(),
                    "Authorization scheme is not Bearer; treated as no token");
            }
            return match config.mode {
                AuthMode::Strict => Decision::Reject(AuthRejection::missing(ctx)),
                AuthMode::Optional | AuthMode::Permissive => Decision::Pass(None),
            };
        }
        Credentials::Invalid(reason) => {
            tracing::info!(%reason, path = %path, "malformed Authorization");
            return if permissive {
                Decision::Pass(None)
            } else {
                Decision::Reject(AuthRejection::invalid_request(ctx, reason))
            };
        }
    };
    match config.verifier.verify(token).await {
        Ok(claims) => Decision::Pass(Some(claims)),
        Err(error) => {
            tracing::info!(%error, path = %path, "bearer token rejected");
            if permissive {
                Decision::Pass(None)
            } else if matches!(error, Error::KeysUnavailable { .. }) {
                Decision::Reject(AuthRejection::unavailable())
            } else {
                Decision::Reject(AuthRejection::invalid_token(ctx, error.to_string()))
            }
        }
    }
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for AuthService<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    ReqBody: Send + 'static,
    ResBody: http_body::Body<Data = bytes::Bytes> + Send + 'static,
    ResBody::Error: Into<axum::BoxError>,
{
    type Response = Response<Body>;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Response<Body>, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<ReqBody>) -> Self::Future {
        // The readied service handles this request; a fresh clone takes its place.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let config = Arc::clone(&self.config);
        Box::pin(async move {
            match decide(&config, request.headers(), request.uri().path()).await {
                Decision::Reject(rejection) => Ok(rejection.into_http()),
                Decision::Pass(claims) => {
                    let extensions = request.extensions_mut();
                    extensions.insert(config.challenge.clone());
                    if let Some(claims) = claims {
                        extensions.insert(Verified::new(claims));
                    }
                    let response = inner.call(request).await?;
                    Ok(response.map(Body::new))
                }
            }
        })
    }
}

fn context_of(parts: &Parts) -> ChallengeContext {
    parts
        .extensions
        .get::<ChallengeContext>()
        .cloned()
        .unwrap_or_default()
}

/// Extracts the claims the [`AuthLayer`] verified; answers `401` (with the
/// layer's challenge attributes) when there are none, e.g. in optional mode
/// without a token. Use `Option<Verified<OktaClaims>>` to accept both.
impl<S: Send + Sync> FromRequestParts<S> for Verified<OktaClaims> {
    type Rejection = AuthRejection;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<Verified<OktaClaims>>()
            .cloned()
            .ok_or_else(|| AuthRejection::missing(&context_of(parts)))
    }
}

impl<S: Send + Sync> OptionalFromRequestParts<S> for Verified<OktaClaims> {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        _state: &S,
    ) -> Result<Option<Self>, Self::Rejection> {
        Ok(parts.extensions.get::<Verified<OktaClaims>>().cloned())
    }
}
