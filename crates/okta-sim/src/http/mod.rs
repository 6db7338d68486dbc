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

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};

use crate::state::SimState;

/// Request bodies larger than this are refused with 413 (token requests are tiny).
pub(crate) const MAX_BODY_BYTES: usize = 64 * 1024;

/// Every route the simulator serves, with the controls middleware around all of them.
pub(crate) fn router(state: Arc<SimState>) -> Router {
    Router::new()
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
        .route(
            "/oauth2/{server}/v1/authorize",
            get(authorize::authorize_get).post(authorize::authorize_post),
        )
        .fallback(errors::not_found)
        .method_not_allowed_fallback(errors::method_not_allowed)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(axum::middleware::from_fn_with_state(
            Arc::clone(&state),
            middleware::controls,
        ))
        .with_state(state)
}
