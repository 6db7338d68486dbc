//! `POST …/v1/token` (placeholder until the grants land).

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};

use super::errors::{OAuthError, unknown_auth_server};
use crate::config::AuthServerId;
use crate::state::SimState;

pub(crate) async fn org_token(State(_state): State<Arc<SimState>>) -> Response {
    OAuthError::unsupported_grant_type("not implemented yet").into_response()
}

pub(crate) async fn custom_token(
    State(state): State<Arc<SimState>>,
    Path(id): Path<String>,
) -> Response {
    if state.server(&AuthServerId::Custom(id.clone())).is_none() {
        return unknown_auth_server(&id);
    }
    OAuthError::unsupported_grant_type("not implemented yet").into_response()
}
