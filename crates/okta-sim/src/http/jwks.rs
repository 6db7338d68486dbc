//! `GET …/v1/keys`: the server's JSON Web Key Set with `Cache-Control: max-age`.

use std::sync::Arc;
use std::time::Instant;

use axum::Json;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use http::HeaderValue;
use http::header::CACHE_CONTROL;

use super::errors::unknown_auth_server;
use crate::config::AuthServerId;
use crate::state::{ServerState, SimState, read};

pub(crate) async fn org_keys(State(state): State<Arc<SimState>>) -> Response {
    keys(&state, &state.org)
}

pub(crate) async fn custom_keys(
    State(state): State<Arc<SimState>>,
    Path(id): Path<String>,
) -> Response {
    match state.server(&AuthServerId::Custom(id.clone())) {
        Some(server) => keys(&state, server),
        None => unknown_auth_server(&id),
    }
}

fn keys(state: &SimState, server: &ServerState) -> Response {
    let jwks = read(&server.keys).jwks(Instant::now());
    let mut response = Json(jwks).into_response();
    let cache = format!("max-age={}, must-revalidate", state.jwks_max_age.as_secs());
    if let Ok(value) = HeaderValue::from_str(&cache) {
        response.headers_mut().insert(CACHE_CONTROL, value);
    }
    response
}
