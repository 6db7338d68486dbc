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

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use futures::StreamExt;
use http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use rmcp::model::{
    CallToolResult, ClientJsonRpcMessage, ClientRequest, ClientResult, GetMeta, GetPromptResult,
    JsonRpcRequest, NumberOrString, ProgressToken, ProtocolVersion, ReadResourceResult, RequestId,
    ServerJsonRpcMessage, ServerNotification, ServerResult,
};
use rmcp::service::{RoleServer, ServiceError};
use rmcp::{ErrorData as McpError, Peer};
use serde::Deserialize;
use serde::de::IgnoredAny;
use serde_json::value::RawValue;

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

/// Where the lane leaves a call's result as the backend wrote it, for a
/// caller that sends it on unchanged (a call answered as plain JSON): the
/// result is then not decoded into rmcp's types and encoded again, which
/// `perf` showed at about 5 % of a call with a one-line answer and grows with
/// the answer. Only a plain complete result of the type the request expects
/// (tool result with `content`, prompt with `messages`, resource with
/// `contents`) is left here; anything else is decoded as before. The call's
/// handler sees a stand-in of the right type with the result's `isError`.
#[derive(Clone, Default)]
pub(crate) struct RawSlot(Arc<std::sync::Mutex<Option<Box<RawValue>>>>);

impl RawSlot {
    /// The result left here, if any.
    pub(crate) fn take(&self) -> Option<Box<RawValue>> {
        self.0.lock().ok()?.take()
    }

    fn put(&self, result: &RawValue) {
        if let Ok(mut slot) = self.0.lock() {
            *slot = Some(result.to_owned());
        }
    }
}

/// The fast lane of one backend connection.
pub(crate) struct Lane {
    backend: Arc<str>,
    /// Parsed once: reqwest parses a string URL on every request (IDNA
    /// included), which `perf` showed at about 1.5 % of a call.
    url: reqwest::Url,
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
    /// The backend refused before doing anything: send the request (handed
    /// back) through rmcp's client.
    Refused(Box<ClientRequest>),
}

impl Lane {
    /// The lane of a backend session at `url`; none if the URL does not
    /// parse (rmcp's client, which opened the session, carries every call).
    pub(crate) fn new(
        backend: &str,
        url: &str,
        http: reqwest::Client,
        headers: Arc<SessionHeaders>,
        clients: Arc<Clients>,
        token: Option<TokenSlot>,
    ) -> Option<Self> {
        let url = reqwest::Url::parse(url).ok()?;
        Some(Self {
            backend: backend.into(),
            url,
            http,
            headers,
            clients,
            token,
            next_id: AtomicU64::new(0),
        })
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
        raw: Option<&RawSlot>,
    ) -> Sent {
        let Some(mut captured) = self.headers.get() else {
            return Sent::Refused(Box::new(request));
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
        let expect = Expect::of(&request);
        let n = self.next_id.fetch_add(1, Ordering::Relaxed);
        let id = RequestId::String(format!("gw-{n}").into());
        let token = ProgressToken(NumberOrString::String(format!("gw-{n}").into()));
        if progress.is_some() {
            request.get_meta_mut().set_progress_token(token.clone());
        }
        guard.bind(id.clone());
        // The request alone serializes as the JSON-RPC message (rmcp's message
        // enum is untagged) and stays ours to hand back if it is refused.
        let message = JsonRpcRequest::new(id.clone(), request);
        // Dropped from here on (the client cancelled, the call timed out), the
        // backend may have the request: cancel it there (an unknown id is ignored).
        let pending = CancelOnDrop::new(rmcp_peer, id.clone());
        let response = match post(&self.http, self.url.clone(), &captured, &message).await {
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
            return Sent::Refused(Box::new(message.request));
        }
        // Boxed: reading an SSE answer is a large future, which would make
        // every future around this one larger (see `front::send`).
        let answer = Box::pin(self.read_answer(
            response,
            &Ours {
                id,
                token,
                expect,
                raw,
            },
            progress,
            guard,
            &captured,
        ))
        .await;
        pending.disarm();
        Sent::Answer(Box::new(answer))
    }

    async fn read_answer(
        &self,
        response: reqwest::Response,
        ours: &Ours<'_>,
        progress: Option<(Peer<RoleServer>, ProgressToken)>,
        guard: &CallerGuard,
        captured: &Arc<Captured>,
    ) -> Result<ServerResult, ServiceError> {
        let Ours {
            id,
            token,
            expect,
            raw,
        } = ours;
        let (id, token, expect, raw) = (id, token, *expect, *raw);
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
            return match decode(&bytes, id, expect, raw).map_err(|e| unexpected(&e))? {
                Decoded::Answer(answer) => answer,
                _ => Err(unexpected("not the answer to this request")),
            };
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
            let message = match decode(data.as_bytes(), id, expect, raw) {
                Ok(Decoded::Answer(answer)) => {
                    // Read the end of the stream too, so the connection is reused.
                    tokio::spawn(async move {
                        let _ = tokio::time::timeout(DRAIN_LIMIT, async {
                            while events.next().await.is_some() {}
                        })
                        .await;
                    });
                    return answer;
                }
                Ok(Decoded::Message(message)) => message,
                Ok(Decoded::Foreign) => continue,
                Err(e) => {
                    tracing::debug!(backend = %self.backend, "skipped an SSE event that is not JSON-RPC: {e}");
                    continue;
                }
            };
            match message {
                ServerJsonRpcMessage::Response(_) | ServerJsonRpcMessage::Error(_) => {}
                ServerJsonRpcMessage::Notification(notification) => {
                    self.notified(notification.notification, token, progress.as_ref())
                        .await;
                }
                ServerJsonRpcMessage::Request(request) => {
                    let caller = Arc::clone(guard.caller());
                    let ended = guard.ended();
                    let lane = LaneReply {
                        http: self.http.clone(),
                        url: self.url.clone(),
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
    url: reqwest::Url,
    captured: Arc<Captured>,
}

impl LaneReply {
    async fn reply(self, id: RequestId, result: Result<ClientResult, McpError>) {
        let message = match result {
            Ok(result) => ClientJsonRpcMessage::response(result, id),
            Err(error) => ClientJsonRpcMessage::error(error, Some(id)),
        };
        match post(&self.http, self.url, &self.captured, &message).await {
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
    url: reqwest::Url,
    captured: &Captured,
    message: &impl serde::Serialize,
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

/// The result type a request expects: decoded directly, not through rmcp's
/// untagged `ServerResult` (which tries some fifteen other shapes first and
/// was about a tenth of a call's time).
#[derive(Clone, Copy)]
enum Expect {
    Tool,
    Prompt,
    Resource,
    Other,
}

impl Expect {
    fn of(request: &ClientRequest) -> Self {
        match request {
            ClientRequest::CallToolRequest(_) => Self::Tool,
            ClientRequest::GetPromptRequest(_) => Self::Prompt,
            ClientRequest::ReadResourceRequest(_) => Self::Resource,
            _ => Self::Other,
        }
    }

    /// `result` as the expected type, when it is a plain complete result;
    /// anything else (a task, `input_required`) through `ServerResult`. With
    /// `raw`, a plain result is left there and stood in for (see [`RawSlot`]).
    fn decode(
        self,
        result: &RawValue,
        raw: Option<&RawSlot>,
    ) -> Result<ServerResult, serde_json::Error> {
        let json = result.get();
        let shape: Shape = serde_json::from_str(json)?;
        let plain = shape.task.is_none()
            && shape
                .result_type
                .is_none_or(|t| t.as_str() == Some("complete"));
        let expected = plain
            && match self {
                Self::Tool => shape.content.is_some(),
                Self::Prompt => shape.messages.is_some(),
                Self::Resource => shape.contents.is_some(),
                Self::Other => false,
            };
        if !expected {
            return serde_json::from_str(json);
        }
        if let Some(raw) = raw {
            raw.put(result);
            return Ok(match self {
                Self::Tool => {
                    let mut stand_in = CallToolResult::default();
                    stand_in.is_error = shape.is_error.and_then(|e| e.as_bool());
                    ServerResult::CallToolResult(stand_in)
                }
                Self::Prompt => ServerResult::GetPromptResult(GetPromptResult::new(vec![])),
                _ => ServerResult::ReadResourceResult(ReadResourceResult::new(vec![])),
            });
        }
        match self {
            Self::Tool => serde_json::from_str(json).map(ServerResult::CallToolResult),
            Self::Prompt => serde_json::from_str(json).map(ServerResult::GetPromptResult),
            _ => serde_json::from_str(json).map(ServerResult::ReadResourceResult),
        }
    }
}

/// The keys of a result that tell its type (a scan without allocations).
#[derive(Deserialize)]
struct Shape {
    task: Option<IgnoredAny>,
    #[serde(rename = "resultType")]
    result_type: Option<serde_json::Value>,
    content: Option<IgnoredAny>,
    messages: Option<IgnoredAny>,
    contents: Option<IgnoredAny>,
    #[serde(rename = "isError")]
    is_error: Option<serde_json::Value>,
}

/// The keys of a backend's JSON-RPC message, left raw: the message is
/// decoded once, straight into the type it turns out to be (not into a
/// `Value` tree first, which `perf` showed at about 3 % of a call).
#[derive(Deserialize)]
struct Envelope<'a> {
    #[serde(borrow)]
    method: Option<&'a RawValue>,
    #[serde(borrow)]
    id: Option<&'a RawValue>,
    #[serde(borrow)]
    result: Option<&'a RawValue>,
    #[serde(borrow)]
    error: Option<&'a RawValue>,
}

/// What identifies our request in the backend's answer.
struct Ours<'a> {
    id: RequestId,
    /// The progress token sent with it (when the caller asked for progress).
    token: ProgressToken,
    expect: Expect,
    /// Where to leave the result unchanged, when the caller wants that.
    raw: Option<&'a RawSlot>,
}

/// One JSON-RPC message of a backend's answer.
enum Decoded {
    /// The answer to our request.
    Answer(Result<ServerResult, ServiceError>),
    /// A notification or a request of the backend.
    Message(ServerJsonRpcMessage),
    /// An answer to another request (not ours to handle).
    Foreign,
}

fn decode(
    data: &[u8],
    id: &RequestId,
    expect: Expect,
    raw: Option<&RawSlot>,
) -> Result<Decoded, String> {
    let message: Envelope = serde_json::from_slice(data).map_err(|e| e.to_string())?;
    if message.method.is_some() {
        return serde_json::from_slice(data)
            .map(Decoded::Message)
            .map_err(|e| e.to_string());
    }
    // Ours are strings: any other id (a number, null) is not ours.
    let ours = match (id, message.id) {
        (RequestId::String(ours), Some(theirs)) => {
            serde_json::from_str::<Cow<str>>(theirs.get()).is_ok_and(|theirs| *theirs == **ours)
        }
        _ => false,
    };
    if !ours {
        return Ok(Decoded::Foreign);
    }
    if let Some(error) = message.error {
        let error: McpError = serde_json::from_str(error.get()).map_err(|e| e.to_string())?;
        return Ok(Decoded::Answer(Err(ServiceError::McpError(error))));
    }
    let result = message
        .result
        .ok_or("a response without `result` or `error`")?;
    Ok(Decoded::Answer(expect.decode(result, raw).map_err(|e| {
        unexpected(&format!("undecodable result: {e}"))
    })))
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

#[cfg(test)]
mod tests {
    use rmcp::model::{RequestId, ServerJsonRpcMessage, ServerResult};
    use serde_json::json;

    use super::{Decoded, Expect, RawSlot, decode};

    fn ours() -> RequestId {
        RequestId::String("gw-7".into())
    }

    fn answer(message: serde_json::Value, expect: Expect) -> Decoded {
        decode(message.to_string().as_bytes(), &ours(), expect, None).unwrap()
    }

    #[test]
    fn answers_decode_as_the_expected_result_or_through_server_result() {
        let tool = json!({"jsonrpc": "2.0", "id": "gw-7", "result": {
            "content": [{"type": "text", "text": "hi"}], "isError": false}});
        let Decoded::Answer(Ok(ServerResult::CallToolResult(result))) = answer(tool, Expect::Tool)
        else {
            panic!("not a tool result")
        };
        assert_eq!(result.is_error, Some(false));
        let prompt = json!({"jsonrpc": "2.0", "id": "gw-7", "result": {"messages": []}});
        assert!(matches!(
            answer(prompt, Expect::Prompt),
            Decoded::Answer(Ok(ServerResult::GetPromptResult(_)))
        ));
        let read = json!({"jsonrpc": "2.0", "id": "gw-7", "result": {"contents": []}});
        assert!(matches!(
            answer(read, Expect::Resource),
            Decoded::Answer(Ok(ServerResult::ReadResourceResult(_)))
        ));
        // A result that is not a plain complete one goes through ServerResult,
        // as rmcp's client would decode it.
        let empty = json!({"jsonrpc": "2.0", "id": "gw-7", "result": {}});
        let Decoded::Answer(Ok(generic)) = answer(empty.clone(), Expect::Tool) else {
            panic!("not decoded")
        };
        let rmcp: ServerJsonRpcMessage = serde_json::from_value(empty).unwrap();
        let ServerJsonRpcMessage::Response(response) = rmcp else {
            panic!("not a response")
        };
        assert_eq!(
            serde_json::to_value(&generic).unwrap(),
            serde_json::to_value(&response.result).unwrap()
        );
    }

    #[test]
    fn errors_notifications_and_other_answers_are_told_apart() {
        let error = json!({"jsonrpc": "2.0", "id": "gw-7",
            "error": {"code": -32602, "message": "bad key"}});
        let Decoded::Answer(Err(rmcp::service::ServiceError::McpError(error))) =
            answer(error, Expect::Tool)
        else {
            panic!("not an error")
        };
        assert_eq!((error.code.0, error.message.as_ref()), (-32602, "bad key"));
        let other = json!({"jsonrpc": "2.0", "id": 7, "result": {"content": []}});
        assert!(matches!(answer(other, Expect::Tool), Decoded::Foreign));
        for id in [json!("gw-8"), json!(null), json!(["gw-7"])] {
            let other = json!({"jsonrpc": "2.0", "id": id, "result": {"content": []}});
            assert!(
                matches!(answer(other, Expect::Tool), Decoded::Foreign),
                "{id}"
            );
        }
        let escaped = br#"{"jsonrpc":"2.0","id":"gw\u002d7","result":{"content":[]}}"#;
        assert!(matches!(
            decode(escaped, &ours(), Expect::Tool, None),
            Ok(Decoded::Answer(Ok(ServerResult::CallToolResult(_))))
        ));
        let note = json!({"jsonrpc": "2.0", "method": "notifications/progress",
            "params": {"progressToken": "gw-7", "progress": 1}});
        assert!(matches!(
            answer(note, Expect::Tool),
            Decoded::Message(ServerJsonRpcMessage::Notification(_))
        ));
        assert!(decode(b"not json", &ours(), Expect::Tool, None).is_err());
        let bare = json!({"jsonrpc": "2.0", "id": "gw-7"});
        assert!(decode(bare.to_string().as_bytes(), &ours(), Expect::Tool, None).is_err());
    }

    #[test]
    fn a_plain_result_is_left_as_written_when_asked_and_stood_in_for() {
        let slot = RawSlot::default();
        let tool =
            br#"{"jsonrpc":"2.0","id":"gw-7","result":{"content":[], "isError":true, "x":1}}"#;
        let Ok(Decoded::Answer(Ok(ServerResult::CallToolResult(stand_in)))) =
            decode(tool, &ours(), Expect::Tool, Some(&slot))
        else {
            panic!("not a tool result")
        };
        assert_eq!((stand_in.is_error, stand_in.content.len()), (Some(true), 0));
        assert_eq!(
            slot.take().unwrap().get(),
            r#"{"content":[], "isError":true, "x":1}"#
        );
        assert!(slot.take().is_none(), "taken once");
        // Not a plain result of the expected type: decoded, nothing left.
        for other in [
            json!({"jsonrpc": "2.0", "id": "gw-7", "result": {"task": {"taskId": "t"}}}),
            json!({"jsonrpc": "2.0", "id": "gw-7", "result": {}}),
            json!({"jsonrpc": "2.0", "id": "gw-7", "error": {"code": -1, "message": "no"}}),
        ] {
            let _ = decode(
                other.to_string().as_bytes(),
                &ours(),
                Expect::Tool,
                Some(&slot),
            );
            assert!(slot.take().is_none(), "{other}");
        }
    }
}
