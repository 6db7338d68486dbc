//! [`AuthorizedHttpClient`]: [`McpAuthClient`] under rmcp's streamable HTTP client transport
//! (feature `rmcp`).

use std::collections::HashMap;
use std::sync::Arc;

use http::{HeaderName, HeaderValue, StatusCode};
use rmcp::model::ClientJsonRpcMessage;
use rmcp::transport::common::client_side_sse::BoxedSseResponse;
use rmcp::transport::streamable_http_client::{
    StreamableHttpClient, StreamableHttpError, StreamableHttpPostResponse,
    StreamableHttpResponseLimits,
};

use super::McpAuthClient;
use super::send::{Next, next, rejected, still_insufficient};
use crate::{AccessToken, Error};

/// An rmcp [`StreamableHttpClient`] that authorizes every request with an [`McpAuthClient`]:
/// it adds the cached bearer token for the server URL, and on the `401` / `403
/// insufficient_scope` answers that the inner client reports as
/// [`StreamableHttpError::AuthRequired`] / [`StreamableHttpError::InsufficientScope`] it
/// authorizes or steps up once and retries once (see [`McpAuthClient`]).
///
/// Why a `StreamableHttpClient` wrapper: it is the seam rmcp itself uses for its own OAuth
/// client (`AuthClient`), it sees every POST, GET (SSE) and DELETE of the transport with the
/// server URL and the parsed challenge, and it keeps the inner client (reqwest by default)
/// and all of rmcp's response limits untouched.
///
/// When the transport is configured with its own `auth_header`, that token is passed through
/// unchanged and this wrapper does nothing. Authorization failures reach rmcp as
/// [`StreamableHttpError::Io`] wrapping an [`Error`]; get it back with [`auth_error`].
///
/// ```no_run
/// use okta_auth::ClientAuth;
/// use okta_auth::mcp_client::{AuthorizedHttpClient, ClientCredentials, McpAuthClient};
/// use rmcp::ServiceExt;
/// use rmcp::transport::StreamableHttpClientTransport;
/// use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let auth = McpAuthClient::builder(ClientCredentials::new(
///     ClientAuth::client_secret_basic("agent", "agent-secret"),
/// ))
/// .build()?;
/// let http = AuthorizedHttpClient::new(reqwest::Client::new(), auth);
/// let transport = StreamableHttpClientTransport::with_client(
///     http,
///     StreamableHttpClientTransportConfig::with_uri("https://mcp.example.com/mcp"),
/// );
/// let client = ().serve(transport).await?;
/// let tools = client.list_all_tools().await?;
/// # let _ = tools; Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct AuthorizedHttpClient<C = reqwest::Client> {
    inner: C,
    auth: McpAuthClient,
}

impl<C> AuthorizedHttpClient<C> {
    /// Wraps `inner` (e.g. a `reqwest::Client`) so its requests are authorized by `auth`.
    pub fn new(inner: C, auth: McpAuthClient) -> Self {
        Self { inner, auth }
    }

    /// The authorization client (shared with clones).
    pub fn auth(&self) -> &McpAuthClient {
        &self.auth
    }

    /// The wrapped HTTP client.
    pub fn inner(&self) -> &C {
        &self.inner
    }
}

/// The [`Error`] inside a transport error produced by [`AuthorizedHttpClient`], if it is one.
pub fn auth_error<E>(error: &StreamableHttpError<E>) -> Option<&Error>
where
    E: std::error::Error + Send + Sync + 'static,
{
    match error {
        StreamableHttpError::Io(io) => io.get_ref()?.downcast_ref::<Error>(),
        _ => None,
    }
}

fn wrap<E>(error: Error) -> StreamableHttpError<E>
where
    E: std::error::Error + Send + Sync + 'static,
{
    StreamableHttpError::Io(std::io::Error::other(error))
}

impl<C> AuthorizedHttpClient<C>
where
    C: StreamableHttpClient + Sync,
{
    async fn authorized<T, F, Fut>(
        &self,
        uri: &str,
        caller_token: Option<String>,
        call: F,
    ) -> Result<T, StreamableHttpError<C::Error>>
    where
        F: Fn(Option<String>) -> Fut,
        Fut: Future<Output = Result<T, StreamableHttpError<C::Error>>>,
    {
        if caller_token.is_some() {
            return call(caller_token).await;
        }
        let mut token: Option<AccessToken> = self.auth.token_for(uri).await.map_err(wrap)?;
        let (mut authorized, mut stepped_up) = (false, false);
        loop {
            let sent = token.as_ref().map(|t| t.secret().to_owned());
            let (status, challenge, original) = match call(sent.clone()).await {
                Err(StreamableHttpError::AuthRequired(e)) => (
                    StatusCode::UNAUTHORIZED,
                    e.www_authenticate_header.clone(),
                    StreamableHttpError::AuthRequired(e),
                ),
                Err(StreamableHttpError::InsufficientScope(e)) => (
                    StatusCode::FORBIDDEN,
                    e.www_authenticate_header.clone(),
                    StreamableHttpError::InsufficientScope(e),
                ),
                other => return other,
            };
            match next(status, Some(&challenge), authorized, stepped_up) {
                Next::Done => return Err(original),
                Next::Rejected => return Err(wrap(rejected(uri, Some(&challenge)))),
                Next::StillInsufficient => {
                    return Err(wrap(still_insufficient(&self.auth, uri, Some(&challenge))));
                }
                Next::Authorize => {
                    authorized = true;
                    let fresh = self
                        .auth
                        .authorize(uri, Some(&challenge), sent.as_deref())
                        .await
                        .map_err(wrap)?;
                    token = Some(fresh);
                }
                Next::StepUp => {
                    stepped_up = true;
                    let wider = self
                        .auth
                        .step_up(uri, &challenge, sent.as_deref())
                        .await
                        .map_err(wrap)?;
                    token = Some(wider);
                }
            }
        }
    }
}

impl<C> StreamableHttpClient for AuthorizedHttpClient<C>
where
    C: StreamableHttpClient + Sync,
{
    type Error = C::Error;

    async fn post_message(
        &self,
        uri: Arc<str>,
        message: ClientJsonRpcMessage,
        session_id: Option<Arc<str>>,
        auth_header: Option<String>,
        custom_headers: HashMap<HeaderName, HeaderValue>,
    ) -> Result<StreamableHttpPostResponse, StreamableHttpError<Self::Error>> {
        self.authorized(&uri, auth_header, |token| {
            self.inner.post_message(
                uri.clone(),
                message.clone(),
                session_id.clone(),
                token,
                custom_headers.clone(),
            )
        })
        .await
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
        self.authorized(&uri, auth_header, |token| {
            self.inner.post_message_with_max_sse_event_size(
                uri.clone(),
                message.clone(),
                session_id.clone(),
                token,
                custom_headers.clone(),
                max_sse_event_size,
            )
        })
        .await
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
        self.authorized(&uri, auth_header, |token| {
            self.inner.post_message_with_response_limits(
                uri.clone(),
                message.clone(),
                session_id.clone(),
                token,
                custom_headers.clone(),
                limits,
            )
        })
        .await
    }

    async fn delete_session(
        &self,
        uri: Arc<str>,
        session_id: Arc<str>,
        auth_header: Option<String>,
        custom_headers: HashMap<HeaderName, HeaderValue>,
    ) -> Result<(), StreamableHttpError<Self::Error>> {
        self.authorized(&uri, auth_header, |token| {
            self.inner.delete_session(
                uri.clone(),
                session_id.clone(),
                token,
                custom_headers.clone(),
            )
        })
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
        self.authorized(&uri, auth_header, |token| {
            self.inner.get_stream(
                uri.clone(),
                session_id.clone(),
                last_event_id.clone(),
                token,
                custom_headers.clone(),
            )
        })
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
        self.authorized(&uri, auth_header, |token| {
            self.inner.get_stream_with_max_sse_event_size(
                uri.clone(),
                session_id.clone(),
                last_event_id.clone(),
                token,
                custom_headers.clone(),
                max_sse_event_size,
            )
        })
        .await
    }
}
