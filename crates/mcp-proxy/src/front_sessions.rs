//! The front's MCP sessions: rmcp's [`LocalSessionManager`] with calls served
//! in place and the idle timeout kept here.
//!
//! **Calls in place.** rmcp routes every request of a session through the
//! session's worker task and its service task and back (a channel and a task
//! switch each way, then the request-wise stream's channel). A `tools/call`,
//! `prompts/get` or `resources/read` of an initialized session is instead
//! handed to that session's handler here, run by the task that writes the
//! HTTP answer, and its answer is the request's one SSE event. Everything before `create_stream` still
//! runs as for any request: the okta-auth layer, session binding, the step-up
//! decision, then rmcp's own checks (Host and Origin, `Accept`, body limit,
//! the session's existence, the protocol-version and SEP-2243 headers). The
//! handler is the session's own, with the session's peer, so routing, policy,
//! audit, timeouts and the backend fast lane are the same code either way.
//!
//! What needs the session's own streams stays on rmcp's path: a request that
//! asks for progress (`_meta.progressToken`: its notifications go on the
//! request's stream) and every request of a client that declared sampling,
//! elicitation or roots (a backend's request relayed to that client goes on
//! the originating request's stream, which only rmcp's session knows). A call
//! served in place has no SSE event id, so it cannot be resumed with
//! `Last-Event-ID` (resumption is optional in the MCP transport); a
//! `notifications/cancelled` for it cancels it here, and a client that drops
//! the answer stream cancels it too (the backend hears `notifications/cancelled`).
//!
//! **Idle sessions.** rmcp's worker ends a session after 5 minutes without an
//! event, and a call served in place is no event of the worker's: a busy
//! session would expire. So rmcp's own timer is off and this module closes a
//! session nobody used for the config's `session_idle_timeout` (default 5
//! minutes, rmcp's own default): every request
//! naming the session counts as use (rmcp asks [`SessionManager::has_session`]
//! first), and so does the end of a call; a session with a call in flight is
//! never idle.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::task::{Context, Poll, ready};
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::{Stream, StreamExt};
use http::request::Parts;
use rmcp::model::{
    ClientJsonRpcMessage, ClientNotification, ClientRequest, GetExtensions, GetMeta,
    JsonRpcRequest, RequestId, ServerJsonRpcMessage,
};
use rmcp::service::{RequestContext, RoleServer};
use rmcp::transport::WorkerTransport;
use rmcp::transport::streamable_http_server::session::local::{
    LocalSessionManager, LocalSessionManagerError, LocalSessionWorker,
};
use rmcp::transport::streamable_http_server::session::{
    RestoreOutcome, ServerSseMessage, SessionId, SessionManager,
};
use rmcp::{ErrorData as McpError, Peer, Service};
use serde::Serialize;
use serde_json::value::RawValue;
use tokio_util::sync::CancellationToken;

use crate::backends::RawSlot;
use crate::call_json::ClientCall;
use crate::front::GatewayHandler;

/// The front's session manager (see the module docs).
pub(crate) struct FrontSessions {
    local: LocalSessionManager,
    sessions: Mutex<HashMap<SessionId, Arc<Tracked>>>,
    /// The zero of [`Tracked::last_seen`].
    epoch: Instant,
    idle_limit: Duration,
}

/// One session as this module knows it.
struct Tracked {
    /// Milliseconds since [`FrontSessions::epoch`] of its last use.
    last_seen: AtomicU64,
    /// Set once the client sent `notifications/initialized`.
    handler: OnceLock<InPlace>,
}

/// What serves a session's calls in place.
struct InPlace {
    handler: GatewayHandler,
    peer: Peer<RoleServer>,
    /// Calls in flight: their cancellation, by JSON-RPC id.
    calls: Mutex<HashMap<RequestId, CancellationToken>>,
}

impl InPlace {
    /// Whether this session's client may have requests relayed to it, which
    /// must travel on rmcp's request-wise streams.
    fn takes_relayed_requests(&self) -> bool {
        self.peer.peer_info().is_none_or(|info| {
            let caps = &info.capabilities;
            caps.sampling.is_some() || caps.elicitation.is_some() || caps.roots.is_some()
        })
    }
}

impl FrontSessions {
    /// A manager whose sessions close after `idle_limit` unused; call
    /// [`FrontSessions::reap_idle`] periodically ([`FrontSessions::spawn_reaper`]).
    pub(crate) fn new(idle_limit: Duration) -> Self {
        let mut local = LocalSessionManager::default();
        // This module keeps the idle timeout (see the module docs).
        local.session_config.keep_alive = None;
        Self {
            local,
            sessions: Mutex::default(),
            epoch: Instant::now(),
            idle_limit,
        }
    }

    /// Closes idle sessions every tenth of the idle limit while `sessions` lives.
    pub(crate) fn spawn_reaper(sessions: &Arc<Self>) {
        let weak: Weak<Self> = Arc::downgrade(sessions);
        let every = (sessions.idle_limit / 10).max(Duration::from_millis(10));
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            tick.tick().await;
            loop {
                tick.tick().await;
                let Some(sessions) = weak.upgrade() else {
                    return;
                };
                sessions.reap_idle().await;
            }
        });
    }

    /// Closes every session unused for the idle limit (none with a call in
    /// flight), and forgets sessions rmcp no longer has.
    pub(crate) async fn reap_idle(&self) {
        let now = self.now();
        let limit = u64::try_from(self.idle_limit.as_millis()).unwrap_or(u64::MAX);
        let known: Vec<(SessionId, Arc<Tracked>)> = match self.sessions.lock() {
            Ok(sessions) => sessions
                .iter()
                .map(|(id, t)| (id.clone(), Arc::clone(t)))
                .collect(),
            Err(_) => return,
        };
        for (id, tracked) in known {
            let busy = tracked
                .handler
                .get()
                .is_some_and(|h| h.calls.lock().map(|c| !c.is_empty()).unwrap_or(true));
            let idle = now.saturating_sub(tracked.last_seen.load(Ordering::Relaxed)) >= limit;
            let gone = !self.local.sessions.read().await.contains_key(&id);
            if gone || (idle && !busy) {
                if !gone {
                    tracing::debug!(session = %id, "closing a session idle for {:?}", self.idle_limit);
                    if let Err(e) = self.local.close_session(&id).await {
                        tracing::debug!(session = %id, "closing an idle session: {e}");
                    }
                }
                self.forget(&id);
            }
        }
    }

    /// Lets `session`'s calls be served in place by `handler` (once its
    /// client has sent `notifications/initialized`).
    pub(crate) fn register(&self, session: &str, handler: GatewayHandler, peer: Peer<RoleServer>) {
        let Some(tracked) = self.tracked(session) else {
            return;
        };
        let _ = tracked.handler.set(InPlace {
            handler,
            peer,
            calls: Mutex::default(),
        });
    }

    /// Forgets every session (at shutdown: a session's handler holds the
    /// gateway, which holds this manager).
    pub(crate) fn forget_all(&self) {
        if let Ok(mut sessions) = self.sessions.lock() {
            sessions.clear();
        }
    }

    /// Sessions this manager knows (open or not yet reaped).
    #[cfg(test)]
    fn len(&self) -> usize {
        self.sessions.lock().map(|s| s.len()).unwrap_or_default()
    }

    fn now(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    fn tracked(&self, session: &str) -> Option<Arc<Tracked>> {
        self.sessions.lock().ok()?.get(session).cloned()
    }

    fn touch(&self, tracked: &Tracked) {
        tracked.last_seen.store(self.now(), Ordering::Relaxed);
    }

    fn forget(&self, session: &SessionId) {
        if let Ok(mut sessions) = self.sessions.lock() {
            sessions.remove(session);
        }
    }

    /// Whether `tracked`'s session serves `request` in place: a call that
    /// needs none of rmcp's streams, in an initialized session.
    fn serves_in_place(tracked: &Tracked, request: &ClientRequest) -> bool {
        let call = matches!(
            request,
            ClientRequest::CallToolRequest(_)
                | ClientRequest::GetPromptRequest(_)
                | ClientRequest::ReadResourceRequest(_)
        );
        call && request.get_meta().get_progress_token().is_none()
            && tracked
                .handler
                .get()
                .is_some_and(|lane| !lane.takes_relayed_requests())
    }

    /// Serves `message` in place when [`FrontSessions::serves_in_place`]
    /// says so; hands it back otherwise.
    fn in_place(&self, session: &SessionId, message: ClientJsonRpcMessage) -> Served {
        let ClientJsonRpcMessage::Request(request) = message else {
            return Served::BySession(Box::new(message));
        };
        match self.tracked(session) {
            Some(tracked) if Self::serves_in_place(&tracked, &request.request) => {
                Served::InPlace(self.start(tracked, request, false))
            }
            _ => Served::BySession(Box::new(ClientJsonRpcMessage::Request(request))),
        }
    }

    /// Starts `request` on `tracked`'s handler (see [`OneAnswer`]); with
    /// `raw`, a backend's plain result is sent on unchanged ([`RawSlot`]).
    fn start(
        &self,
        tracked: Arc<Tracked>,
        request: JsonRpcRequest<ClientRequest>,
        raw: bool,
    ) -> OneAnswer {
        let JsonRpcRequest {
            id, mut request, ..
        } = request;
        let ct = CancellationToken::new();
        let Some(lane) = tracked.handler.get() else {
            // `serves_in_place` found the handler, and it is never unset.
            return OneAnswer { call: None };
        };
        if let Ok(mut calls) = lane.calls.lock() {
            calls.insert(id.clone(), ct.clone());
        }
        let mut context = RequestContext::new(id.clone(), lane.peer.clone());
        context.ct = ct.clone();
        context.meta = std::mem::take(request.get_meta_mut());
        context.extensions = std::mem::take(request.extensions_mut());
        let raw = raw.then(RawSlot::default);
        if let Some(raw) = &raw {
            context.extensions.insert(raw.clone());
        }
        let handler = lane.handler.clone();
        let done = CallDone {
            tracked: Arc::clone(&tracked),
            id: id.clone(),
            epoch: self.epoch,
        };
        let call = async move {
            let _done = done;
            let result = handler.handle_request(request, context).await;
            // A cancelled call's answer is not sent (as on rmcp's path).
            if ct.is_cancelled() {
                return None;
            }
            let unchanged = raw.as_ref().and_then(RawSlot::take);
            Some(match (result, unchanged) {
                (Ok(_stand_in), Some(result)) => Answer::encoded(&id, &result),
                (Ok(result), None) => {
                    Answer::Message(Box::new(ServerJsonRpcMessage::response(result, id)))
                }
                (Err(error), _) => {
                    Answer::Message(Box::new(ServerJsonRpcMessage::error(error, Some(id))))
                }
            })
        };
        OneAnswer {
            call: Some(Mutex::new(Box::pin(call))),
        }
    }

    /// Starts a call of `parts`'s session in place (its answer stream yields
    /// the JSON-RPC answer, or nothing when the call was cancelled) when the
    /// session is open and initialized, negotiated the `MCP-Protocol-Version`
    /// the request names, and `request` is a call it serves in place; hands
    /// `parts` back otherwise (rmcp's service then serves the request).
    pub(crate) async fn answer_plain(&self, parts: Parts, mut request: ClientCall) -> Plain {
        let Some(session) = parts
            .headers
            .get("mcp-session-id")
            .and_then(|v| v.to_str().ok())
            .map(SessionId::from)
        else {
            return Plain::NotHere(Box::new(parts));
        };
        let Some(tracked) = self.tracked(&session) else {
            return Plain::NotHere(Box::new(parts));
        };
        let negotiated = tracked
            .handler
            .get()
            .and_then(|h| h.peer.peer_info())
            .map(|info| info.protocol_version.clone());
        let asked = parts
            .headers
            .get("mcp-protocol-version")
            .and_then(|v| v.to_str().ok());
        let same_version = negotiated.is_some_and(|v| Some(v.as_str()) == asked);
        if !same_version || !matches!(self.local.has_session(&session).await, Ok(true)) {
            return Plain::NotHere(Box::new(parts));
        }
        self.touch(&tracked);
        if !Self::serves_in_place(&tracked, &request.request) {
            return Plain::NotHere(Box::new(parts));
        }
        request.request.extensions_mut().insert(parts);
        Plain::Started(self.start(tracked, request, true))
    }

    /// Cancels a call served in place that `notifications/cancelled` names.
    fn cancel_in_place(&self, session: &SessionId, message: &ClientJsonRpcMessage) {
        let ClientJsonRpcMessage::Notification(notification) = message else {
            return;
        };
        let ClientNotification::CancelledNotification(cancelled) = &notification.notification
        else {
            return;
        };
        let Some(tracked) = self.tracked(session) else {
            return;
        };
        let Some(lane) = tracked.handler.get() else {
            return;
        };
        let Some(id) = &cancelled.params.request_id else {
            return;
        };
        let token = lane
            .calls
            .lock()
            .ok()
            .and_then(|calls| calls.get(id).cloned());
        if let Some(token) = token {
            token.cancel();
        }
    }
}

/// What [`FrontSessions::answer_plain`] did with a request.
pub(crate) enum Plain {
    /// Served in place: the call's answer stream.
    Started(OneAnswer),
    /// Not served here: the request's head, handed back.
    NotHere(Box<Parts>),
}

/// Where a request of a session is served.
enum Served {
    /// Here: its answer stream.
    InPlace(OneAnswer),
    /// By rmcp's session: the request, handed back.
    BySession(Box<ClientJsonRpcMessage>),
}

/// Leaves a call's entry in its session when the call ends (answered,
/// cancelled or dropped), and counts as use of the session.
struct CallDone {
    tracked: Arc<Tracked>,
    id: RequestId,
    epoch: Instant,
}

impl Drop for CallDone {
    fn drop(&mut self) {
        if let Some(lane) = self.tracked.handler.get()
            && let Ok(mut calls) = lane.calls.lock()
        {
            calls.remove(&self.id);
        }
        let now = u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.tracked.last_seen.store(now, Ordering::Relaxed);
    }
}

/// The answer stream of a call served in place: one event, then the end.
///
/// The call runs as the stream is polled, on the task that writes the HTTP
/// answer: no task of its own and no channel back, so no wake-up of another
/// thread. Dropped early (the client went away), the call is dropped with
/// it, which cancels it at the backend.
pub(crate) struct OneAnswer {
    /// rmcp wants `Sync` answer streams; the call is only ever reached
    /// through `&mut` ([`Mutex::get_mut`], no locking).
    call: Option<Mutex<AnswerFuture>>,
}

type AnswerFuture = Pin<Box<dyn Future<Output = Option<Answer>> + Send>>;

/// The answer of a call served in place.
pub(crate) enum Answer {
    /// In rmcp's types.
    Message(Box<ServerJsonRpcMessage>),
    /// Encoded, with the backend's result unchanged (only for a call answered
    /// as plain JSON, which sends it on as it is).
    Encoded(Bytes),
}

impl Answer {
    /// The JSON-RPC response to `id` with `result` unchanged.
    fn encoded(id: &RequestId, result: &RawValue) -> Self {
        #[derive(Serialize)]
        struct Response<'a> {
            jsonrpc: &'static str,
            id: &'a RequestId,
            result: &'a RawValue,
        }
        let response = Response {
            jsonrpc: "2.0",
            id,
            result,
        };
        match serde_json::to_vec(&response) {
            Ok(json) => Self::Encoded(Bytes::from(json)),
            // Cannot fail (a valid id and valid JSON); answered as an error if it did.
            Err(e) => Self::Message(Box::new(ServerJsonRpcMessage::error(
                McpError::internal_error(format!("encoding the answer failed: {e}"), None),
                Some(id.clone()),
            ))),
        }
    }

    /// The answer as one JSON-RPC message, encoded.
    pub(crate) fn into_json(self) -> Result<Bytes, serde_json::Error> {
        match self {
            Self::Message(message) => serde_json::to_vec(&message).map(Bytes::from),
            Self::Encoded(json) => Ok(json),
        }
    }
}

impl OneAnswer {
    /// The call's answer (none when it was cancelled); the stream's one item.
    pub(crate) fn poll_answer(&mut self, cx: &mut Context<'_>) -> Poll<Option<Answer>> {
        let Some(call) = self.call.as_mut() else {
            return Poll::Ready(None);
        };
        let answer = match call.get_mut() {
            Ok(call) => ready!(call.as_mut().poll(cx)),
            Err(_) => None,
        };
        self.call = None;
        Poll::Ready(answer)
    }

    /// [`OneAnswer::poll_answer`] as a future.
    pub(crate) fn answer(&mut self) -> impl Future<Output = Option<Answer>> + '_ {
        std::future::poll_fn(|cx| self.poll_answer(cx))
    }
}

impl Stream for OneAnswer {
    type Item = ServerSseMessage;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let message = match ready!(self.poll_answer(cx)) {
            Some(Answer::Message(message)) => Some(*message),
            // Not made for rmcp's streams (see `Answer::Encoded`); decoded if it were.
            Some(Answer::Encoded(json)) => serde_json::from_slice(&json).ok(),
            None => None,
        };
        Poll::Ready(message.map(|message| {
            let mut event = ServerSseMessage::default();
            event.message = Some(Arc::new(message));
            event
        }))
    }
}

impl SessionManager for FrontSessions {
    type Error = LocalSessionManagerError;
    type Transport = WorkerTransport<LocalSessionWorker>;

    async fn create_session(&self) -> Result<(SessionId, Self::Transport), Self::Error> {
        let (id, transport) = self.local.create_session().await?;
        let tracked = Arc::new(Tracked {
            last_seen: AtomicU64::new(self.now()),
            handler: OnceLock::new(),
        });
        if let Ok(mut sessions) = self.sessions.lock() {
            sessions.insert(id.clone(), tracked);
        }
        Ok((id, transport))
    }

    async fn initialize_session(
        &self,
        id: &SessionId,
        message: ClientJsonRpcMessage,
    ) -> Result<ServerJsonRpcMessage, Self::Error> {
        self.local.initialize_session(id, message).await
    }

    async fn has_session(&self, id: &SessionId) -> Result<bool, Self::Error> {
        let has = self.local.has_session(id).await?;
        if has && let Some(tracked) = self.tracked(id) {
            self.touch(&tracked);
        }
        Ok(has)
    }

    async fn close_session(&self, id: &SessionId) -> Result<(), Self::Error> {
        self.forget(id);
        self.local.close_session(id).await
    }

    async fn create_stream(
        &self,
        id: &SessionId,
        message: ClientJsonRpcMessage,
    ) -> Result<impl Stream<Item = ServerSseMessage> + Send + Sync + 'static, Self::Error> {
        match self.in_place(id, message) {
            Served::InPlace(answer) => Ok(answer.left_stream()),
            Served::BySession(message) => {
                Ok(self.local.create_stream(id, *message).await?.right_stream())
            }
        }
    }

    async fn accept_message(
        &self,
        id: &SessionId,
        message: ClientJsonRpcMessage,
    ) -> Result<(), Self::Error> {
        self.cancel_in_place(id, &message);
        self.local.accept_message(id, message).await
    }

    async fn create_standalone_stream(
        &self,
        id: &SessionId,
    ) -> Result<impl Stream<Item = ServerSseMessage> + Send + Sync + 'static, Self::Error> {
        self.local.create_standalone_stream(id).await
    }

    async fn resume(
        &self,
        id: &SessionId,
        last_event_id: String,
    ) -> Result<impl Stream<Item = ServerSseMessage> + Send + Sync + 'static, Self::Error> {
        self.local.resume(id, last_event_id).await
    }

    async fn restore_session(
        &self,
        id: SessionId,
    ) -> Result<RestoreOutcome<Self::Transport>, Self::Error> {
        self.local.restore_session(id).await
    }

    fn event_store(
        &self,
    ) -> Option<Arc<dyn rmcp::transport::streamable_http_server::session::EventStore>> {
        self.local.event_store()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use rmcp::transport::streamable_http_server::session::SessionManager;

    use super::FrontSessions;

    #[tokio::test]
    async fn unused_sessions_are_closed_and_used_ones_kept() {
        let sessions = FrontSessions::new(Duration::from_millis(200));
        let (idle, _idle_transport) = sessions.create_session().await.unwrap();
        let (used, _used_transport) = sessions.create_session().await.unwrap();
        assert_eq!(sessions.len(), 2);
        for _ in 0..3 {
            tokio::time::sleep(Duration::from_millis(100)).await;
            assert!(sessions.has_session(&used).await.unwrap());
            sessions.reap_idle().await;
        }
        assert!(
            !sessions.has_session(&idle).await.unwrap(),
            "idle one closed"
        );
        assert!(sessions.has_session(&used).await.unwrap(), "used one kept");
        assert_eq!(sessions.len(), 1);
        sessions.close_session(&used).await.unwrap();
        assert_eq!(sessions.len(), 0);
    }
}
