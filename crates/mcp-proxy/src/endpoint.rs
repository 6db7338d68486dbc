//! The MCP endpoint: one service that takes a request through the gateway's
//! own steps at the MCP path, in order, with the body read once, before
//! rmcp's streamable-HTTP service (or instead of it):
//!
//! 1. a `POST` with a JSON body is read (up to `max_body_bytes`, else `413`)
//!    and a `tools/call`, `prompts/get` or `resources/read` in it parsed once
//!    ([`call_json`]);
//! 2. the step-up decision ([`step_up`](crate::step_up)): `403` with
//!    `insufficient_scope`, or the decision handed to the handler;
//! 3. a call of an initialized session that rmcp's checks would pass is
//!    served in place and answered as plain JSON ([`front_json`]);
//! 4. everything else goes to rmcp's service, whose `415` for a JSON body
//!    that is not JSON-RPC becomes `400` ([`parse_error`]); its `202` to a
//!    session `DELETE` becomes `204`.
//!
//! These were axum middlewares, each cloning the service stack below it per
//! request and the first three each reading the body; rmcp's service also
//! clones itself (its configuration, host lists and a cancellation token
//! included) per request. Here rmcp's service sits behind an `Arc` and is
//! called through its `handle`. The token check, session binding and
//! in-flight tracking stay middlewares around this service.

use std::convert::Infallible;
use std::sync::Arc;
use std::task::Poll;

use axum::body::Body;
use axum::extract::Request;
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use rmcp::transport::StreamableHttpService;

use crate::call_json;
use crate::front::GatewayHandler;
use crate::front_json::{self, AllowedHosts};
use crate::front_sessions::{FrontSessions, Plain};
use crate::gateway::Inner;
use crate::parse_error;
use crate::step_up;

/// The service at the MCP path (see the module docs).
#[derive(Clone)]
pub(crate) struct McpEndpoint {
    inner: Arc<Inner>,
    rmcp: Arc<StreamableHttpService<GatewayHandler, FrontSessions>>,
    /// rmcp's `allowed_hosts`, parsed once for the plain-JSON check.
    hosts: Arc<AllowedHosts>,
}

impl McpEndpoint {
    pub(crate) fn new(
        inner: Arc<Inner>,
        rmcp: StreamableHttpService<GatewayHandler, FrontSessions>,
    ) -> Self {
        Self {
            hosts: Arc::new(AllowedHosts::new(inner.allowed_hosts())),
            inner,
            rmcp: Arc::new(rmcp),
        }
    }

    async fn serve(self, request: Request) -> Response {
        match *request.method() {
            Method::POST if parse_error::json_body(request.headers()) => self.post(request).await,
            Method::DELETE => {
                let response = self.by_rmcp(request).await;
                if response.status() == StatusCode::ACCEPTED {
                    return StatusCode::NO_CONTENT.into_response();
                }
                response
            }
            _ => self.by_rmcp(request).await,
        }
    }

    /// A `POST` with a JSON body.
    async fn post(self, request: Request) -> Response {
        let inner = &self.inner;
        let limit = inner.config.max_body_bytes;
        let (mut parts, body) = request.into_parts();
        let Ok(bytes) = axum::body::to_bytes(body, limit).await else {
            return parse_error::too_large(limit);
        };
        let call = call_json::governed(&bytes)
            .then(|| call_json::parse(&bytes))
            .flatten();
        if let Some(call) = &call
            && let Some(denied) = step_up::step_up(inner, &mut parts, call)
        {
            return denied;
        }
        if let Some(call) = call
            && front_json::takes(&parts.headers, &parts.uri, &self.hosts)
        {
            match inner.front_sessions.answer_plain(parts, call).await {
                Plain::Started(answer) => return front_json::answered(answer).await,
                Plain::NotHere(back) => parts = *back,
            }
        }
        let response = self
            .by_rmcp(Request::from_parts(parts, Body::from(bytes.clone())))
            .await;
        parse_error::bad_request_if_not_json_rpc(response, &bytes).await
    }

    async fn by_rmcp(&self, request: Request) -> Response {
        // Boxed: rmcp's future is large, and this one is moved (copied)
        // whole into its box per request even when it takes another path.
        Box::pin(self.rmcp.handle(request)).await.map(Body::new)
    }
}

impl tower::Service<Request> for McpEndpoint {
    type Response = Response;
    type Error = Infallible;
    type Future = futures::future::BoxFuture<'static, Result<Response, Infallible>>;

    fn poll_ready(&mut self, _: &mut std::task::Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request) -> Self::Future {
        let endpoint = self.clone();
        Box::pin(async move { Ok(endpoint.serve(request).await) })
    }
}
