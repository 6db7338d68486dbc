//! The controls middleware: count the request, add latency, answer 503 during an outage.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::errors::OAuthError;
use crate::state::SimState;

pub(crate) async fn controls(
    State(state): State<Arc<SimState>>,
    request: Request,
    next: Next,
) -> Response {
    let controls = &state.controls;
    controls.count(request.uri().path());
    let latency = controls.latency();
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    if controls.outage() {
        return OAuthError::temporarily_unavailable(
            "okta-sim is simulating an outage (OktaSim::set_outage)",
        )
        .into_response();
    }
    next.run(request).await
}
