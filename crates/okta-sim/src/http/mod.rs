//! The HTTP surface: routes, the controls middleware, and error bodies.

mod authorize;
mod discovery;
pub(crate) mod errors;
mod jwks;
mod middleware;
mod registration;
mod signin_page;
mod token;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use http::Method;
use http::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE};
use tower_http::cors::{Any, CorsLayer};

use crate::state::SimState;

/// Request bodies larger than this are refused with 413 (token requests are tiny).
pub(crate) const MAX_BODY_BYTES: usize = 64 * 1024;

/// CORS for what browser-based clients fetch (discovery, keys, token, registration):
/// any origin, no cookies, as Okta does for a Trusted Origin. The authorization
/// endpoint is navigated to, not fetched, and gets none.
fn cors() -> CorsLayer {
    CorsLayer::new()
        .allow_origin(Any)
        .allow_methods([Method::GET, Method::POST])
        .allow_headers([CONTENT_TYPE, AUTHORIZATION, ACCEPT])
        .max_age(Duration::from_secs(600))
}

/// Every route the simulator serves, with the controls middleware around all of them.
pub(crate) fn router(state: Arc<SimState>) -> Router {
    let fetched = Router::new()
        // Org authorization server.
        .route(
            "/.well-known/openid-configuration",
            get(discovery::org_openid),
        )
        .route(
            "/.well-known/oauth-authorization-server",
            get(discovery::org_oauth),
        )
        .route("/oauth2/v1/keys", get(jwks::org_keys))
        .route("/oauth2/v1/token", post(token::org_token))
        .route("/oauth2/v1/clients", post(registration::register))
        // Custom authorization servers.
        .route(
            "/oauth2/{server}/.well-known/openid-configuration",
            get(discovery::custom_openid),
        )
        .route(
            "/oauth2/{server}/.well-known/oauth-authorization-server",
            get(discovery::custom_oauth),
        )
        .route("/oauth2/{server}/v1/keys", get(jwks::custom_keys))
        .route("/oauth2/{server}/v1/token", post(token::custom_token))
        .fallback(errors::not_found)
        .method_not_allowed_fallback(errors::method_not_allowed)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(Arc::clone(&state))
        // Outside the routes, so preflights are answered before method routing.
        .layer(cors());
    Router::new()
        .route(
            "/oauth2/{server}/v1/authorize",
            get(authorize::authorize_get).post(authorize::authorize_post),
        )
        .method_not_allowed_fallback(errors::method_not_allowed)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(Arc::clone(&state))
        .fallback_service(fetched)
        .layer(axum::middleware::from_fn_with_state(
            state,
            middleware::controls,
        ))
}
