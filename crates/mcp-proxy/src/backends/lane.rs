//! The fast lane of an HTTP backend: `tools/call`, `prompts/get` and
//! `resources/read` sent as one plain POST on the MCP session rmcp's client
//! opened, instead of through rmcp's client.
//!
//! Why: rmcp's streamable-HTTP client costs about 300 µs of CPU per request
//! on loopback, a plain POST of the same request about 100 µs (the `front`
//! bench, `rmcp_client_over_loopback` against `raw_post_over_loopback`), and
//! that hop was most of what the gateway adds to a call. rmcp's client keeps
//! everything else: the handshake, the session, lists, pings, the GET stream,
//! re-initialising an expired session.
//!
//! The lane sends exactly what rmcp's client would (the session id, the
//! protocol-version and configured headers, the bearer token; captured from
//! rmcp's own last request by [`SessionHeaders`]) with a request id of its own
//! (`gw-<n>`, a string, so it never meets rmcp's numeric ids), then reads the
//! answer: a JSON body, or an SSE stream whose progress notifications go to
//! the caller, log messages to the clients that want them, and requests
//! (sampling, elicitation, roots) to the caller through [`relay_to`], whose
//! answer is POSTed back on the session. Dropped before the answer, the call
//! is cancelled at the backend (`notifications/cancelled` through rmcp's
//! session). When the backend refuses the request before doing anything
//! (`400`, `401`, `403`, `404`, `405`, `406`, `415`: for example an expired
//! session or a renewed token) the call goes through rmcp's client instead,
//! which knows how to recover.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use futures::StreamExt;
use http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use rmcp::model::{
    ClientJsonRpcMessage, ClientRequest, ClientResult, GetMeta, NumberOrString, ProgressToken,
    ProtocolVersion, RequestId, ServerJsonRpcMessage, ServerNotification, ServerResult,
};
use rmcp::service::{RoleServer, ServiceError};
use rmcp::{ErrorData as McpError, Peer};

use super::client::{CancelOnDrop, Clients};
use super::relay::{CallerGuard, relay_to};
use super::reuse::{DRAIN_LIMIT, TokenSlot};

/// The largest answer the lane reads (bytes); a larger one fails the call.
const MAX_ANSWER_BYTES: usize = 64 * 1024 * 1024;

/// What rmcp's client sent with its last POST on a backend session.
#[derive(Default)]
pub(crate) struct SessionHeaders(RwLock<Option<Arc<Captured>>>);

/// One captured set of request headers.
pub(crate) struct Captured {
    session: Option<Arc<str>>,
    headers: HashMap<HeaderName, HeaderValue>,
    bearer: Option<String>,
}

impl SessionHeaders {
    /// Remembers what rmcp's client sends now (once it has a session).
    pub(crate) fn capture(
        &self,
        session: &Option<Arc<str>>,
        headers: &HashMap<HeaderName, HeaderValue>,
        bearer: &Option<String>,
    ) {
        let Some(id) = session else { return };
        let unchanged = self.get().is_some_and(|c| {
            c.session.as_deref() == Some(&**id) && c.headers == *headers && c.bearer == *bearer
        });
        if unchanged {
            return;
        }
        if let Ok(mut slot) = self.0.write() {
            *slot = Some(Arc::new(Captured {
                session: session.clone(),
                headers: headers.clone(),
                bearer: bearer.clone(),
            }));
        }
    }

    fn get(&self) -> Option<Arc<Captured>> {
        self.0.read().ok()?.clone()
    }
}

/// The fast lane of one backend connection.
pub(crate) struct Lane {
    backend: Arc<str>,
    url: Arc<str>,
    http: reqwest::Client,
    headers: Arc<SessionHeaders>,
    /// The clients that hear this backend's log messages.
    clients: Arc<Clients>,
    /// A per-caller session's token slot: its current token, not the one
    /// rmcp's client last sent, is the bearer.
    token: Option<TokenSlot>,
    next_id: AtomicU64,
}

/// How a lane call ended.
pub(crate) enum Sent {
    /// The backend answered (a result or its JSON-RPC error).
    Answer(Box<Result<ServerResult, ServiceError>>),
    /// The backend refused before doing anything: use rmcp's client.
    Refused,
}

impl Lane {
    pub(crate) fn new(
        backend: &str,
        url: &str,
        http: reqwest::Client,
        headers: Arc<SessionHeaders>,
        clients: Arc<Clients>,
        token: Option<TokenSlot>,
    ) -> Self {
        Self {
            backend: backend.into(),
            url: url.into(),
            http,
            headers,
            clients,
            token,
            next_id: AtomicU64::new(0),
        }
    }

    /// Whether the lane can carry requests of a session that negotiated
    /// `version` (the stateless 2026-07-28 protocol needs per-request
    /// metadata that only rmcp's client adds).
    pub(crate) fn serves(&self, version: Option<&ProtocolVersion>) -> bool {
        version.is_some_and(|v| *v < ProtocolVersion::V_2026_07_28) && self.headers.get().is_some()
    }

    /// Sends `request` for the call registered in `guard`; progress for it is
    /// relayed to `progress` (the caller's session and token) when given.
    pub(crate) async fn send(
        &self,
        mut request: ClientRequest,
        guard: &mut CallerGuard,
        progress: Option<(Peer<RoleServer>, ProgressToken)>,
        rmcp_peer: &Peer<rmcp::service::RoleClient>,
    ) -> Sent {
        let Some(mut captured) = self.headers.get() else {
            return Sent::Refused;
        };
        if let Some(slot) = &self.token {
            let current = Some(slot.get());
            if captured.bearer != current {
                captured = Arc::new(Captured {
                    session: captured.session.clone(),
                    headers: captured.headers.clone(),
                    bearer: current,
                });
            }
        }
        let n = self.next_id.fetch_add(1, Ordering::Relaxed);
        let id = RequestId::String(format!("gw-{n}").into());
        let token = ProgressToken(NumberOrString::String(format!("gw-{n}").into()));
        if progress.is_some() {
            request.get_meta_mut().set_progress_token(token.clone());
        }
        guard.bind(id.clone());
        let message = ClientJsonRpcMessage::request(request, id.clone());
        // Dropped from here on (the client cancelled, the call timed out), the
        // backend may have the request: cancel it there (an unknown id is ignored).
        let pending = CancelOnDrop::new(rmcp_peer, id.clone());
        let response = match self.post(&captured, &message).await {
            Ok(response) => response,
            Err(e) => {
                pending.disarm();
                return Sent::Answer(Box::new(Err(transport(e))));
            }
        };
        let status = response.status();
        if matches!(
            status,
            StatusCode::BAD_REQUEST
                | StatusCode::UNAUTHORIZED
                | StatusCode::FORBIDDEN
                | StatusCode::NOT_FOUND
                | StatusCode::METHOD_NOT_ALLOWED
                | StatusCode::NOT_ACCEPTABLE
                | StatusCode::UNSUPPORTED_MEDIA_TYPE
        ) {
            pending.disarm();
            return Sent::Refused;
        }
        let answer = self
            .read_answer(response, &id, &token, progress, guard, &captured)
            .await;
        pending.disarm();
        Sent::Answer(Box::new(answer))
    }

    async fn post(
        &self,
        captured: &Captured,
        message: &ClientJsonRpcMessage,
    ) -> Result<reqwest::Response, reqwest::Error> {
        post(&self.http, &self.url, captured, message).await
    }

    async fn read_answer(
        &self,
        response: reqwest::Response,
        id: &RequestId,
        token: &ProgressToken,
        progress: Option<(Peer<RoleServer>, ProgressToken)>,
        guard: &CallerGuard,
        captured: &Arc<Captured>,
    ) -> Result<ServerResult, ServiceError> {
        let is_json = response
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|ct| ct.starts_with("application/json"));
        let status = response.status();
        if is_json {
            if response
                .content_length()
                .is_some_and(|len| len > MAX_ANSWER_BYTES as u64)
            {
                return Err(too_large());
            }
            let bytes = response.bytes().await.map_err(transport)?;
            let message: ServerJsonRpcMessage =
                serde_json::from_slice(&bytes).map_err(|e| unexpected(&e.to_string()))?;
            return answer_for(message, id)
                .unwrap_or_else(|| Err(unexpected("another request's answer")));
        }
        if !status.is_success() {
            return Err(unexpected(&format!("HTTP {status}")));
        }
        let mut events = sse_stream::SseStream::from_bytes_stream(response.bytes_stream());
        let mut read = 0usize;
        while let Some(event) = events.next().await {
            let event = event.map_err(|e| unexpected(&format!("broken SSE answer: {e}")))?;
            let Some(data) = event.data.filter(|d| !d.is_empty()) else {
                continue;
            };
            read += data.len();
            if read > MAX_ANSWER_BYTES {
                return Err(too_large());
            }
            let Ok(message) = serde_json::from_str::<ServerJsonRpcMessage>(&data) else {
                tracing::debug!(backend = %self.backend, "skipped an SSE event that is not JSON-RPC");
                continue;
            };
            match message {
                ServerJsonRpcMessage::Response(_) | ServerJsonRpcMessage::Error(_) => {
                    if let Some(answer) = answer_for(message, id) {
                        // Read the end of the stream too, so the connection is reused.
                        tokio::spawn(async move {
                            let _ = tokio::time::timeout(DRAIN_LIMIT, async {
                                while events.next().await.is_some() {}
                            })
                            .await;
                        });
                        return answer;
                    }
                }
                ServerJsonRpcMessage::Notification(notification) => {
                    self.notified(notification.notification, token, progress.as_ref())
                        .await;
                }
                ServerJsonRpcMessage::Request(request) => {
                    let caller = Arc::clone(guard.caller());
                    let ended = guard.ended();
                    let lane = LaneReply {
                        http: self.http.clone(),
                        url: Arc::clone(&self.url),
                        captured: Arc::clone(captured),
                    };
                    let backend = Arc::clone(&self.backend);
                    tokio::spawn(async move {
                        let result = relay_to(
                            &backend,
                            &caller,
                            ended,
                            request.request,
                            std::future::pending(),
                        )
                        .await;
                        lane.reply(request.id, result).await;
                    });
                }
            }
        }
        Err(unexpected("the answer stream ended without a response"))
    }

    async fn notified(
        &self,
        notification: ServerNotification,
        token: &ProgressToken,
        progress: Option<&(Peer<RoleServer>, ProgressToken)>,
    ) {
        match notification {
            ServerNotification::ProgressNotification(mut note)
                if note.params.progress_token == *token =>
            {
                if let Some((peer, theirs)) = progress {
                    note.params.progress_token = theirs.clone();
                    if let Err(e) = peer.notify_progress(note.params).await {
                        tracing::debug!(backend = %self.backend, "relaying progress failed: {e}");
                    }
                }
            }
            #[allow(deprecated)] // logging: see `client.rs`
            ServerNotification::LoggingMessageNotification(note) => {
                self.clients.log(&self.backend, note.params).await;
            }
            _ => {}
        }
    }
}

/// Posts a client's answer to a backend request back on the session.
struct LaneReply {
    http: reqwest::Client,
    url: Arc<str>,
    captured: Arc<Captured>,
}

impl LaneReply {
    async fn reply(self, id: RequestId, result: Result<ClientResult, McpError>) {
        let message = match result {
            Ok(result) => ClientJsonRpcMessage::response(result, id),
            Err(error) => ClientJsonRpcMessage::error(error, Some(id)),
        };
        match post(&self.http, &self.url, &self.captured, &message).await {
            Ok(response) => {
                let _ = response.bytes().await;
            }
            Err(e) => tracing::debug!("answering a backend request failed: {e}"),
        }
    }
}

/// POSTs `message` on the captured session (headers, session id, bearer).
async fn post(
    http: &reqwest::Client,
    url: &str,
    captured: &Captured,
    message: &ClientJsonRpcMessage,
) -> Result<reqwest::Response, reqwest::Error> {
    let mut headers = HeaderMap::with_capacity(captured.headers.len() + 3);
    for (name, value) in &captured.headers {
        headers.insert(name.clone(), value.clone());
    }
    headers.insert(
        header::ACCEPT,
        HeaderValue::from_static("application/json, text/event-stream"),
    );
    if let Some(session) = &captured.session
        && let Ok(value) = HeaderValue::from_str(session)
    {
        headers.insert("mcp-session-id", value);
    }
    let mut request = http.post(url).headers(headers).json(message);
    if let Some(bearer) = &captured.bearer {
        request = request.bearer_auth(bearer);
    }
    request.send().await
}

/// The result or error in `message`, if it answers `id`.
fn answer_for(
    message: ServerJsonRpcMessage,
    id: &RequestId,
) -> Option<Result<ServerResult, ServiceError>> {
    match message {
        ServerJsonRpcMessage::Response(response) if response.id == *id => Some(Ok(response.result)),
        ServerJsonRpcMessage::Error(error) if error.id.as_ref() == Some(id) => {
            Some(Err(ServiceError::McpError(error.error)))
        }
        _ => None,
    }
}

/// A failure of the hop itself (answered to the client as `-32010`, like
/// a failure of rmcp's client).
fn transport(e: impl std::error::Error + Send + Sync + 'static) -> ServiceError {
    ServiceError::TransportSend(rmcp::transport::DynamicTransportError::from_parts(
        "streamable HTTP (fast lane)",
        std::any::TypeId::of::<Lane>(),
        Box::new(e),
    ))
}

fn unexpected(what: &str) -> ServiceError {
    transport(std::io::Error::other(format!(
        "unexpected answer from the backend: {what}"
    )))
}

fn too_large() -> ServiceError {
    unexpected(&format!("larger than {MAX_ANSWER_BYTES} bytes"))
}
