//! Keeps HTTP connections to a backend reusable.
//!
//! rmcp's streamable-HTTP client stops reading a request's SSE answer once
//! the JSON-RPC response is in, and drops the stream before the end of the
//! HTTP body. hyper cannot put a connection with an unread body back in the
//! pool, so every call opened (and closed) a new TCP connection to the
//! backend: measured with `strace`, one `connect` per call, and the hop cost
//! about 290 µs of CPU per call in the `front` bench. [`Reusable`] wraps the
//! client and reads the rest of an abandoned answer stream in the background
//! (a conforming server ends it right after the response, so this takes
//! microseconds), bounded by [`DRAIN_LIMIT`], after which the stream is
//! dropped as before.
//!
//! It also carries the token of a per-caller backend session
//! ([`TokenSlot`]): the front puts the caller's current token in the slot
//! before each call and every request of the session sends it, so a renewed
//! token needs no new session.

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use super::lane::SessionHeaders;
use futures::{Stream, StreamExt};
use http::{HeaderName, HeaderValue};
use rmcp::model::ClientJsonRpcMessage;
use rmcp::transport::common::client_side_sse::BoxedSseResponse;
use rmcp::transport::streamable_http_client::{
    StreamableHttpClient, StreamableHttpError, StreamableHttpPostResponse,
    StreamableHttpResponseLimits,
};

/// How long an abandoned answer stream is read before it is dropped (and its
/// connection closed). Long enough for the end of a finished body, short
/// enough that a server still streaming sees the client go away promptly.
pub(crate) const DRAIN_LIMIT: Duration = Duration::from_millis(100);

/// A [`StreamableHttpClient`] whose POST answer streams, when dropped before
/// their end, are read to the end in the background so the connection goes
/// back to the pool. Long-lived GET streams are passed through unchanged.
/// With a [`TokenSlot`], every request sends the slot's token as its bearer.
#[derive(Clone)]
pub(crate) struct Reusable<C> {
    inner: C,
    token: Option<TokenSlot>,
    /// Where the session's request headers are captured for the fast lane.
    capture: Option<Arc<SessionHeaders>>,
}

impl<C> Reusable<C> {
    /// Wraps `inner`; requests send `token`'s current value when given, and
    /// their headers are captured into `capture` when given.
    pub(crate) fn new(
        inner: C,
        token: Option<TokenSlot>,
        capture: Option<Arc<SessionHeaders>>,
    ) -> Self {
        Self {
            inner,
            token,
            capture,
        }
    }

    fn auth(&self, auth_header: Option<String>) -> Option<String> {
        match &self.token {
            Some(slot) => Some(slot.get()),
            None => auth_header,
        }
    }

    /// The bearer for a POST, after capturing what the POST sends.
    fn post_auth(
        &self,
        session_id: &Option<Arc<str>>,
        custom_headers: &HashMap<HeaderName, HeaderValue>,
        auth_header: Option<String>,
    ) -> Option<String> {
        let auth = self.auth(auth_header);
        if let Some(capture) = &self.capture {
            capture.capture(session_id, custom_headers, &auth);
        }
        auth
    }
}

/// The bearer token of one caller's backend session, replaced by the front
/// before each call with the caller's current one.
#[derive(Clone, Default)]
pub(crate) struct TokenSlot(Arc<std::sync::RwLock<String>>);

impl TokenSlot {
    /// A slot holding `token`.
    pub(crate) fn new(token: String) -> Self {
        Self(Arc::new(std::sync::RwLock::new(token)))
    }

    /// Replaces the token (when it changed).
    pub(crate) fn set(&self, token: &str) {
        if self.get() != token
            && let Ok(mut slot) = self.0.write()
        {
            token.clone_into(&mut slot);
        }
    }

    pub(crate) fn get(&self) -> String {
        self.0.read().map(|t| t.clone()).unwrap_or_default()
    }
}

/// An SSE answer stream that drains itself when dropped early.
struct DrainOnDrop {
    stream: Option<BoxedSseResponse>,
    ended: bool,
}

impl Stream for DrainOnDrop {
    type Item = <BoxedSseResponse as Stream>::Item;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let Some(stream) = self.stream.as_mut() else {
            return Poll::Ready(None);
        };
        let next = stream.poll_next_unpin(cx);
        if let Poll::Ready(None) = next {
            self.ended = true;
        }
        next
    }
}

impl Drop for DrainOnDrop {
    fn drop(&mut self) {
        if self.ended {
            return;
        }
        let (Some(mut stream), Ok(runtime)) =
            (self.stream.take(), tokio::runtime::Handle::try_current())
        else {
            return;
        };
        runtime.spawn(async move {
            let _ = tokio::time::timeout(DRAIN_LIMIT, async {
                while stream.next().await.is_some() {}
            })
            .await;
        });
    }
}

fn reusable(response: StreamableHttpPostResponse) -> StreamableHttpPostResponse {
    match response {
        StreamableHttpPostResponse::Sse(stream, session) => StreamableHttpPostResponse::Sse(
            DrainOnDrop {
                stream: Some(stream),
                ended: false,
            }
            .boxed(),
            session,
        ),
        other => other,
    }
}

impl<C: StreamableHttpClient + Sync> StreamableHttpClient for Reusable<C> {
    type Error = C::Error;

    async fn post_message(
        &self,
        uri: Arc<str>,
        message: ClientJsonRpcMessage,
        session_id: Option<Arc<str>>,
        auth_header: Option<String>,
        custom_headers: HashMap<HeaderName, HeaderValue>,
    ) -> Result<StreamableHttpPostResponse, StreamableHttpError<Self::Error>> {
        self.inner
            .post_message(
                uri,
                message,
                session_id,
                self.auth(auth_header),
                custom_headers,
            )
            .await
            .map(reusable)
    }

    async fn post_message_with_max_sse_event_size(
        &self,
        uri: Arc<str>,
        message: ClientJsonRpcMessage,
        session_id: Option<Arc<str>>,
        auth_header: Option<String>,
        custom_headers: HashMap<HeaderName, HeaderValue>,
        max_sse_event_size: usize,
    ) -> Result<StreamableHttpPostResponse, StreamableHttpError<Self::Error>> {
        let auth = self.post_auth(&session_id, &custom_headers, auth_header);
        self.inner
            .post_message_with_max_sse_event_size(
                uri,
                message,
                session_id,
                auth,
                custom_headers,
                max_sse_event_size,
            )
            .await
            .map(reusable)
    }

    async fn post_message_with_response_limits(
        &self,
        uri: Arc<str>,
        message: ClientJsonRpcMessage,
        session_id: Option<Arc<str>>,
        auth_header: Option<String>,
        custom_headers: HashMap<HeaderName, HeaderValue>,
        limits: StreamableHttpResponseLimits,
    ) -> Result<StreamableHttpPostResponse, StreamableHttpError<Self::Error>> {
        let auth = self.post_auth(&session_id, &custom_headers, auth_header);
        self.inner
            .post_message_with_response_limits(
                uri,
                message,
                session_id,
                auth,
                custom_headers,
                limits,
            )
            .await
            .map(reusable)
    }

    async fn delete_session(
        &self,
        uri: Arc<str>,
        session_id: Arc<str>,
        auth_header: Option<String>,
        custom_headers: HashMap<HeaderName, HeaderValue>,
    ) -> Result<(), StreamableHttpError<Self::Error>> {
        self.inner
            .delete_session(uri, session_id, self.auth(auth_header), custom_headers)
            .await
    }

    async fn get_stream(
        &self,
        uri: Arc<str>,
        session_id: Option<Arc<str>>,
        last_event_id: Option<String>,
        auth_header: Option<String>,
        custom_headers: HashMap<HeaderName, HeaderValue>,
    ) -> Result<BoxedSseResponse, StreamableHttpError<Self::Error>> {
        self.inner
            .get_stream(
                uri,
                session_id,
                last_event_id,
                self.auth(auth_header),
                custom_headers,
            )
            .await
    }

    async fn get_stream_with_max_sse_event_size(
        &self,
        uri: Arc<str>,
        session_id: Option<Arc<str>>,
        last_event_id: Option<String>,
        auth_header: Option<String>,
        custom_headers: HashMap<HeaderName, HeaderValue>,
        max_sse_event_size: usize,
    ) -> Result<BoxedSseResponse, StreamableHttpError<Self::Error>> {
        self.inner
            .get_stream_with_max_sse_event_size(
                uri,
                session_id,
                last_event_id,
                self.auth(auth_header),
                custom_headers,
                max_sse_event_size,
            )
            .await
    }
}
