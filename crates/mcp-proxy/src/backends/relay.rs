//! Requests from a backend to a client (`sampling/createMessage`,
//! `elicitation/create`, `roots/list`), relayed to the client whose call the
//! backend is serving, never to another session.
//!
//! Each backend connection keeps the gateway's calls in flight on it
//! ([`Callers`]): the backend-side request id of every forwarded `tools/call`,
//! `prompts/get` and `resources/read` → the calling client session, for as
//! long as the call runs ([`CallerGuard`]). Which call a backend request
//! belongs to:
//!
//! - **streamable HTTP**: rmcp's client transport marks a request that
//!   arrived on the SSE answer stream of one of our POSTs with that POST's
//!   request id (SEP-2260, [`InboundStreamOrigin`]); it goes to that call's
//!   client. A request on the standalone GET stream belongs to no call.
//! - **stdio** (no streams, nothing on the wire says it): relayed only when
//!   it is unambiguous, i.e. every call in flight on the connection is one
//!   client session's; otherwise the backend gets [`RELAY_FAILED`] saying the
//!   gateway cannot tell which client it is for. The gateway's own requests
//!   (listings, pings) are no client's and do not count: a request a stdio
//!   backend makes while one session's calls are in flight goes to that
//!   session.
//!
//! A request that belongs to no call: `roots/list` is answered with an empty
//! list (roots are the client machine's, and a backend connection is shared
//! by every client of the gateway), the others with [`RELAY_FAILED`].
//!
//! The caller must have declared the capability (`sampling`, `elicitation`
//! with the mode asked for, `roots`, and `sampling.tools` for a request with
//! tools) in its `initialize`, and speak a protocol that has server-to-client
//! requests (before 2026-07-28); otherwise the backend gets [`RELAY_FAILED`]
//! naming what is missing. The client's result or JSON-RPC error goes back
//! to the backend unchanged. A relay ends with its call: when the call
//! finishes, is cancelled or passes its timeout, the client gets
//! `notifications/cancelled` and the backend an error; a backend cancelling
//! its request cancels it at the client too.

// Sampling and roots are deprecated by SEP-2577 but still part of the
// protocol versions that have server-to-client requests.
#![allow(deprecated)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use rmcp::ErrorData as McpError;
use rmcp::Peer;
use rmcp::model::{
    CancelledNotificationParam, ClientCapabilities, ClientResult, ElicitRequestParams, ErrorCode,
    GetExtensions, ListRootsResult, ProtocolVersion, RequestId, ServerRequest,
};
use rmcp::service::{
    InboundStreamOrigin, OriginatingRequestId, PeerRequestOptions, RequestContext, RoleClient,
    RoleServer, ServiceError,
};
use serde_json::json;
use tokio::sync::watch;

use crate::audit::Outcome;

/// Gateway-specific JSON-RPC error code, sent to a backend: its request to a
/// client (sampling, elicitation, roots) was not relayed or not answered;
/// `data.reason` says why.
pub const RELAY_FAILED: i32 = -32013;

/// Records how one relayed request ended (its audit line and metrics):
/// the method, the outcome, and when the relay started.
pub(crate) type RecordRelay = Box<dyn Fn(&str, Outcome, Instant) + Send + Sync>;

/// The client a call in flight was made by.
pub(crate) struct Caller {
    /// Tells sessions apart (one per front session).
    pub(crate) session: u64,
    /// The client's session.
    pub(crate) peer: Peer<RoleServer>,
    /// The client's request id of the call: a relayed request rides that
    /// request's answer stream on the HTTP front.
    pub(crate) request: RequestId,
    /// The protocol the call was made under.
    pub(crate) protocol: Option<ProtocolVersion>,
    /// When the call times out; a relay never outlives it.
    pub(crate) deadline: tokio::time::Instant,
    /// The call's name as the client used it (for error messages).
    pub(crate) exposed: String,
    pub(crate) record: RecordRelay,
}

/// The calls in flight on one backend connection.
#[derive(Default)]
pub(crate) struct Callers {
    calls: Mutex<Calls>,
}

#[derive(Default)]
struct Calls {
    next: u64,
    /// Every call in flight, by slot (also before its request id is known).
    entries: HashMap<u64, Entry>,
    /// Backend-side request id → slot.
    ids: HashMap<RequestId, u64>,
}

struct Entry {
    caller: Arc<Caller>,
    ended: watch::Receiver<()>,
}

/// Which call a backend request belongs to.
enum Found {
    Call(Arc<Caller>, watch::Receiver<()>),
    /// No call: the GET stream, a stdio request while nothing is in flight,
    /// or a stream of a request that is no client's call (or has ended).
    NoCall,
    /// stdio: calls of several sessions are in flight.
    Ambiguous,
}

impl Callers {
    /// Registers a call of `caller`, before it is sent (so that, on stdio, no
    /// backend request can be attributed while the call is in flight but not
    /// yet known), until the returned guard is dropped: the call ended, was
    /// cancelled or timed out, and relays under way for it end then too.
    /// [`CallerGuard::bind`] adds the backend-side request id once sent.
    pub(crate) fn register(self: &Arc<Self>, caller: Caller) -> CallerGuard {
        let (ended_tx, ended) = watch::channel(());
        let caller = Arc::new(caller);
        let entry = Entry {
            caller: Arc::clone(&caller),
            ended,
        };
        let slot = match self.calls.lock() {
            Ok(mut calls) => {
                calls.next = calls.next.wrapping_add(1);
                let slot = calls.next;
                calls.entries.insert(slot, entry);
                slot
            }
            Err(_) => 0,
        };
        CallerGuard {
            callers: Arc::clone(self),
            slot,
            id: None,
            caller,
            ended: ended_tx,
        }
    }

    fn find(&self, origin: Option<&InboundStreamOrigin>) -> Found {
        let Ok(calls) = self.calls.lock() else {
            return Found::Ambiguous;
        };
        let found = |entry: &Entry| Found::Call(Arc::clone(&entry.caller), entry.ended.clone());
        match origin {
            Some(InboundStreamOrigin::OutboundRequest(id)) => calls
                .ids
                .get(id)
                .and_then(|slot| calls.entries.get(slot))
                .map_or(Found::NoCall, found),
            Some(InboundStreamOrigin::Unassociated) => Found::NoCall,
            // No stream association (stdio): only when there is one session.
            None => {
                let mut entries = calls.entries.values();
                let Some(first) = entries.next() else {
                    return Found::NoCall;
                };
                let session = first.caller.session;
                let mut chosen = first;
                for entry in entries {
                    if entry.caller.session != session {
                        return Found::Ambiguous;
                    }
                    // Several calls of the same session: the one that lasts
                    // longest bounds the relay.
                    if entry.caller.deadline > chosen.caller.deadline {
                        chosen = entry;
                    }
                }
                found(chosen)
            }
        }
    }
}

/// A call in [`Callers`], removed when dropped.
pub(crate) struct CallerGuard {
    callers: Arc<Callers>,
    slot: u64,
    id: Option<RequestId>,
    caller: Arc<Caller>,
    /// Dropped with the guard: relays under way see the call ended.
    ended: watch::Sender<()>,
}

impl CallerGuard {
    /// The call was sent as backend request `id`.
    pub(crate) fn bind(&mut self, id: RequestId) {
        if let Ok(mut calls) = self.callers.calls.lock() {
            // Sent again (the fast lane's request was refused): the old id is done.
            if let Some(old) = &self.id {
                calls.ids.remove(old);
            }
            calls.ids.insert(id.clone(), self.slot);
        }
        self.id = Some(id);
    }

    /// The registered call's client.
    pub(crate) fn caller(&self) -> &Arc<Caller> {
        &self.caller
    }

    /// Changes when the call ends (this guard is dropped).
    pub(crate) fn ended(&self) -> watch::Receiver<()> {
        self.ended.subscribe()
    }
}

impl Drop for CallerGuard {
    fn drop(&mut self) {
        if let Ok(mut calls) = self.callers.calls.lock() {
            calls.entries.remove(&self.slot);
            if let Some(id) = self.id.take() {
                calls.ids.remove(&id);
            }
        }
    }
}

/// The method name of a relayable request.
fn method(request: &ServerRequest) -> &'static str {
    match request {
        ServerRequest::CreateMessageRequest(_) => "sampling/createMessage",
        ServerRequest::ElicitRequest(_) => "elicitation/create",
        ServerRequest::ListRootsRequest(_) => "roots/list",
        // Not relayed (rmcp answers pings; custom requests are refused).
        _ => "other",
    }
}

/// The capability `request` needs that `capabilities` lacks, if any.
fn missing_capability(
    request: &ServerRequest,
    capabilities: Option<&ClientCapabilities>,
) -> Option<&'static str> {
    let caps = capabilities;
    match request {
        ServerRequest::CreateMessageRequest(r) => {
            let sampling = caps.and_then(|c| c.sampling.as_ref());
            match sampling {
                None => Some("sampling"),
                Some(s)
                    if (r.params.tools.is_some() || r.params.tool_choice.is_some())
                        && s.tools.is_none() =>
                {
                    Some("sampling.tools")
                }
                Some(_) => None,
            }
        }
        ServerRequest::ElicitRequest(r) => {
            let elicitation = caps.and_then(|c| c.elicitation.as_ref());
            match (elicitation, &r.params) {
                (None, _) => Some("elicitation"),
                // `elicitation: {}` means form mode (MCP 2025-11-25).
                (Some(e), ElicitRequestParams::FormElicitationParams { .. })
                    if e.form.is_none() && e.url.is_some() =>
                {
                    Some("elicitation.form")
                }
                (Some(e), ElicitRequestParams::UrlElicitationParams { .. }) if e.url.is_none() => {
                    Some("elicitation.url")
                }
                _ => None,
            }
        }
        ServerRequest::ListRootsRequest(_) => caps
            .and_then(|c| c.roots.as_ref())
            .is_none()
            .then_some("roots"),
        _ => None,
    }
}

fn failed(message: String, reason: &str, extra: serde_json::Value) -> McpError {
    let mut data = json!({ "reason": reason });
    if let (Some(data), Some(extra)) = (data.as_object_mut(), extra.as_object()) {
        data.extend(extra.clone());
    }
    McpError::new(ErrorCode(RELAY_FAILED), message, Some(data))
}

/// Relays a backend's request to the client whose call it belongs to and
/// returns the client's answer (see the module doc).
pub(crate) async fn relay(
    backend: &str,
    callers: &Callers,
    request: ServerRequest,
    context: RequestContext<RoleClient>,
) -> Result<ClientResult, McpError> {
    let method = method(&request);
    let origin = context.extensions.get::<InboundStreamOrigin>();
    let (caller, ended) = match callers.find(origin) {
        Found::Call(caller, ended) => (caller, ended),
        Found::NoCall => {
            tracing::info!(
                backend,
                method,
                "a backend request outside any client's call was not relayed"
            );
            if let ServerRequest::ListRootsRequest(_) = request {
                return Ok(ClientResult::ListRootsResult(ListRootsResult::default()));
            }
            return Err(failed(
                format!(
                    "the gateway relays `{method}` only to the client whose call you are serving, and this request belongs to no call in flight; send it while handling the client's request (streamable HTTP: on that request's answer stream)"
                ),
                "no_call",
                json!({}),
            ));
        }
        Found::Ambiguous => {
            tracing::info!(
                backend,
                method,
                "a stdio backend's request was not relayed: calls of several clients are in flight"
            );
            return Err(failed(
                format!(
                    "the gateway cannot tell which client `{method}` is for: on this stdio connection it has calls of several clients in flight, and stdio does not say which call your request belongs to; retry when only one client's calls are in flight"
                ),
                "ambiguous",
                json!({}),
            ));
        }
    };
    relay_to(backend, &caller, ended, request, context.ct.cancelled()).await
}

/// Relays `request` to `caller` (the client of the call it was made for),
/// until the client answers, the call ends (`ended` changes), its deadline
/// passes or the backend cancels (`cancelled` resolves).
pub(crate) async fn relay_to(
    backend: &str,
    caller: &Caller,
    mut ended: watch::Receiver<()>,
    request: ServerRequest,
    cancelled: impl Future<Output = ()>,
) -> Result<ClientResult, McpError> {
    let method = method(&request);
    let started = Instant::now();
    let finish = |outcome: Outcome| {
        tracing::info!(backend, method, outcome = outcome.as_str(), call = %caller.exposed, "relayed a backend request to its caller");
        (caller.record)(method, outcome, started);
    };

    if caller
        .protocol
        .as_ref()
        .is_some_and(|v| *v >= ProtocolVersion::V_2026_07_28)
    {
        finish(Outcome::Refused);
        return Err(failed(
            format!(
                "the client calling `{}` speaks MCP 2026-07-28 or later, which has no server-to-client requests such as `{method}`",
                caller.exposed
            ),
            "protocol",
            json!({}),
        ));
    }
    let info = caller.peer.peer_info();
    if let Some(capability) = missing_capability(&request, info.as_ref().map(|i| &i.capabilities)) {
        finish(Outcome::Refused);
        return Err(failed(
            format!(
                "the client calling `{}` did not declare the `{capability}` capability, so the gateway does not send it `{method}`",
                caller.exposed
            ),
            "missing_capability",
            json!({ "capability": capability }),
        ));
    }

    let mut request = request;
    request
        .extensions_mut()
        .insert(OriginatingRequestId(caller.request.clone()));
    // rmcp marks a request sent from inside a request handler with that
    // handler's request id, here the backend's: sent from a fresh task, it
    // keeps the caller's id set above (its answer stream on the HTTP front).
    let peer = caller.peer.clone();
    let sent = tokio::spawn(async move {
        peer.send_cancellable_request(request, PeerRequestOptions::no_options())
            .await
    })
    .await;
    let handle = match sent {
        Ok(Ok(handle)) => handle,
        Ok(Err(e)) => {
            finish(Outcome::ClientError);
            return Err(client_error(e, method));
        }
        Err(e) => {
            finish(Outcome::ClientError);
            return Err(McpError::internal_error(
                format!("relaying `{method}` failed: {e}"),
                None,
            ));
        }
    };
    let id = handle.id.clone();
    let answer = tokio::time::timeout_at(caller.deadline, handle.await_response());
    let (outcome, result, cancel) = tokio::select! {
        answer = answer => match answer {
            Ok(Ok(result)) => (Outcome::Ok, Ok(result), None),
            Ok(Err(e)) => (Outcome::ClientError, Err(client_error(e, method)), None),
            Err(_) => (
                Outcome::Timeout,
                Err(failed(
                    format!("the client did not answer `{method}` before the call `{}` timed out", caller.exposed),
                    "timeout",
                    json!({}),
                )),
                Some("the call it was made for timed out"),
            ),
        },
        // The sender is dropped with the call's guard.
        _ = ended.changed() => (
            Outcome::Cancelled,
            Err(failed(
                format!("the call `{}` ended (finished, cancelled or timed out) before the client answered `{method}`", caller.exposed),
                "cancelled",
                json!({}),
            )),
            Some("the call it was made for ended"),
        ),
        () = cancelled => (
            Outcome::Cancelled,
            Err(failed(format!("`{method}` was cancelled by the backend"), "cancelled", json!({}))),
            Some("the server cancelled it"),
        ),
    };
    if let Some(reason) = cancel {
        let params = CancelledNotificationParam::new(Some(id), Some(reason.to_owned()));
        if let Err(e) = caller.peer.notify_cancelled(params).await {
            tracing::debug!(
                backend,
                method,
                "cancelling a relayed request at the client failed: {e}"
            );
        }
    }
    finish(outcome);
    result
}

/// The client's JSON-RPC error unchanged; anything else (its session ended)
/// as [`RELAY_FAILED`].
fn client_error(error: ServiceError, method: &str) -> McpError {
    match error {
        ServiceError::McpError(error) => error,
        other => failed(
            format!("the client did not answer `{method}`: {other}"),
            "client_gone",
            json!({}),
        ),
    }
}

#[cfg(test)]
mod tests {
    use rmcp::model::{
        ClientCapabilities, CreateMessageRequest, CreateMessageRequestParams, ElicitRequest,
        ElicitRequestParams, ElicitationCapability, ListRootsRequest, RootsCapabilities,
        SamplingCapability, ServerRequest, UrlElicitationCapability,
    };

    use super::missing_capability;

    fn sampling(tools: bool) -> ServerRequest {
        let mut params = CreateMessageRequestParams::new(Vec::new(), 10);
        if tools {
            params.tools = Some(Vec::new());
        }
        ServerRequest::CreateMessageRequest(CreateMessageRequest::new(params))
    }

    fn url_elicitation() -> ServerRequest {
        ServerRequest::ElicitRequest(ElicitRequest::new(
            ElicitRequestParams::UrlElicitationParams {
                meta: None,
                message: "sign in".into(),
                url: "https://example.com".into(),
                elicitation_id: "e1".into(),
            },
        ))
    }

    #[test]
    fn each_request_needs_its_capability() {
        let none = ClientCapabilities::default();
        assert_eq!(missing_capability(&sampling(false), None), Some("sampling"));
        assert_eq!(
            missing_capability(&sampling(false), Some(&none)),
            Some("sampling")
        );
        assert_eq!(
            missing_capability(
                &ServerRequest::ListRootsRequest(ListRootsRequest::default()),
                Some(&none)
            ),
            Some("roots")
        );
        assert_eq!(
            missing_capability(&url_elicitation(), Some(&none)),
            Some("elicitation")
        );

        let mut caps = ClientCapabilities::default();
        caps.sampling = Some(SamplingCapability::default());
        caps.roots = Some(RootsCapabilities::default());
        caps.elicitation = Some(ElicitationCapability::default());
        assert_eq!(missing_capability(&sampling(false), Some(&caps)), None);
        assert_eq!(
            missing_capability(&sampling(true), Some(&caps)),
            Some("sampling.tools")
        );
        assert_eq!(
            missing_capability(
                &ServerRequest::ListRootsRequest(ListRootsRequest::default()),
                Some(&caps)
            ),
            None
        );
        assert_eq!(
            missing_capability(&url_elicitation(), Some(&caps)),
            Some("elicitation.url")
        );
        let mut url_only = ElicitationCapability::default();
        url_only.url = Some(UrlElicitationCapability::default());
        caps.elicitation = Some(url_only);
        assert_eq!(missing_capability(&url_elicitation(), Some(&caps)), None);
    }
}
