//! `require_scopes`: a tower layer answering `403 insufficient_scope` when the
//! verified token lacks a scope.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::body::Body;
use http::{Request, Response};
use tower::{Layer, Service};

use crate::challenge::{AuthRejection, ChallengeContext};
use crate::claims::{OktaClaims, Verified};

/// A layer requiring every scope in `scopes`; place it inside (after) an
/// [`AuthLayer`](crate::AuthLayer).
///
/// - No `Verified<OktaClaims>` in the request (no token in optional mode):
///   `401` with a bare challenge.
/// - Claims without all scopes: `403` with `WWW-Authenticate: Bearer
///   error="insufficient_scope", error_description="…", scope="<all required,
///   space-separated>", resource_metadata="…"` so clients can step up
///   (realm and resource_metadata come from the `AuthLayer`).
///
/// ```
/// let layer = okta_auth::require_scopes(["mcp:read", "mcp:write"]);
/// assert_eq!(layer.scopes(), ["mcp:read", "mcp:write"]);
/// ```
pub fn require_scopes<I, S>(scopes: I) -> RequireScopesLayer
where
    I: IntoIterator<Item = S>,
    S: Into<String>,
{
    let scopes: Vec<String> = scopes.into_iter().map(Into::into).collect();
    let joined = scopes.join(" ");
    RequireScopesLayer {
        scopes: Arc::new((scopes, joined)),
    }
}

/// Checks `claims` for every scope in `required`, answering the same
/// [`AuthRejection`] as [`require_scopes`] (for use inside handlers).
///
/// # Errors
/// A `403 insufficient_scope` rejection naming the missing scopes.
pub fn check_scopes(claims: &OktaClaims, required: &[&str]) -> Result<(), AuthRejection> {
    let missing: Vec<&str> = required
        .iter()
        .copied()
        .filter(|s| !claims.has_scope(s))
        .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(AuthRejection::insufficient_scope(
            &ChallengeContext::default(),
            &required.join(" "),
            &missing.join(" "),
        ))
    }
}

/// Layer made by [`require_scopes`].
#[derive(Debug, Clone)]
pub struct RequireScopesLayer {
    scopes: Arc<(Vec<String>, String)>,
}

impl RequireScopesLayer {
    /// The required scopes.
    pub fn scopes(&self) -> &[String] {
        &self.scopes.0
    }
}

impl<S> Layer<S> for RequireScopesLayer {
    type Service = RequireScopes<S>;
    fn layer(&self, inner: S) -> Self::Service {
        RequireScopes {
            inner,
            scopes: Arc::clone(&self.scopes),
        }
    }
}

/// Service made by [`RequireScopesLayer`].
#[derive(Debug, Clone)]
pub struct RequireScopes<S> {
    inner: S,
    scopes: Arc<(Vec<String>, String)>,
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for RequireScopes<S>
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

    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        let ctx = request
            .extensions()
            .get::<ChallengeContext>()
            .cloned()
            .unwrap_or_default();
        let rejection = match request.extensions().get::<Verified<OktaClaims>>() {
            None => Some(AuthRejection::missing(&ctx)),
            Some(claims) => {
                let missing: Vec<&str> = self
                    .scopes
                    .0
                    .iter()
                    .map(String::as_str)
                    .filter(|s| !claims.has_scope(s))
                    .collect();
                if missing.is_empty() {
                    None
                } else {
                    tracing::info!(missing = %missing.join(" "), sub = ?claims.sub, "insufficient scope");
                    Some(AuthRejection::insufficient_scope(
                        &ctx,
                        &self.scopes.1,
                        &missing.join(" "),
                    ))
                }
            }
        };
        if let Some(rejection) = rejection {
            return Box::pin(async move { Ok(rejection.into_http()) });
        }
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        Box::pin(async move { Ok(inner.call(request).await?.map(Body::new)) })
    }
}
