//! The rmcp client handler the gateway uses towards each backend, and what it
//! relays to the gateway's own clients: `list_changed` notifications become
//! refresh signals, `notifications/progress` goes to the client whose call it
//! reports on (under that client's progress token), `notifications/message`
//! (logging) goes to every connected client whose `logging/setLevel` lets it
//! through. Requests from the backend (`sampling/createMessage`,
//! `elicitation/create`, `roots/list`) go to the client whose call the backend
//! is serving, never to another session (see [`relay`](super::relay)); the
//! gateway declares `sampling`, `elicitation` and `roots` to every backend so
//! that backends send them.

// Logging is deprecated by SEP-2577 but still part of the protocol versions
// that have `initialize`, which the gateway speaks on both sides.
#![allow(deprecated)]

use std::collections::HashMap;
use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use rmcp::model::{
    CancelledNotificationParam, ClientCapabilities, ClientConfig, ClientResult,
    CreateMessageRequest, CreateMessageRequestParams, CreateMessageResult, ElicitRequest,
    ElicitRequestParams, ElicitResult, ElicitationCapability, Implementation, ListRootsRequest,
    ListRootsResult, LoggingLevel, LoggingMessageNotificationParam, ProgressNotificationParam,
    ProgressToken, RequestId, RootsCapabilities, SamplingCapability, ServerRequest,
};
use rmcp::service::{NotificationContext, RequestContext, RoleClient, RoleServer};
use rmcp::{ClientHandler, ErrorData as McpError, Peer};
use tokio::sync::{Notify, mpsc};

use super::relay::{Callers, relay};

/// Client side of one backend connection.
#[derive(Clone)]
pub(crate) struct BackendClient {
    backend: Arc<str>,
    refresh: mpsc::UnboundedSender<()>,
    progress: Arc<ProgressRoutes>,
    clients: Arc<Clients>,
    callers: Arc<Callers>,
}

impl BackendClient {
    pub(crate) fn new(
        backend: &str,
        refresh: mpsc::UnboundedSender<()>,
        progress: Arc<ProgressRoutes>,
        clients: Arc<Clients>,
        callers: Arc<Callers>,
    ) -> Self {
        Self {
            backend: backend.into(),
            refresh,
            progress,
            clients,
            callers,
        }
    }

    async fn relay(
        &self,
        request: ServerRequest,
        context: RequestContext<RoleClient>,
    ) -> Result<ClientResult, McpError> {
        relay(&self.backend, &self.callers, request, context).await
    }

    fn changed(&self) -> std::future::Ready<()> {
        // The supervisor may be gone during shutdown; nothing to refresh then.
        let _ = self.refresh.send(());
        std::future::ready(())
    }
}

impl ClientHandler for BackendClient {
    fn get_info(&self) -> ClientConfig {
        // What the gateway can relay to its clients (each relay checks that
        // the calling client declared it). Plain `sampling` (no `tools`) and
        // form-mode `elicitation`: the modes every client that has the
        // capability supports; roots without `listChanged` (client
        // notifications are not relayed to backends).
        let mut capabilities = ClientCapabilities::default();
        capabilities.sampling = Some(SamplingCapability::default());
        capabilities.elicitation = Some(ElicitationCapability::default());
        capabilities.roots = Some(RootsCapabilities::default());
        ClientConfig::new(
            capabilities,
            Implementation::new("mcp-proxy", env!("CARGO_PKG_VERSION")),
        )
    }

    async fn create_message(
        &self,
        params: CreateMessageRequestParams,
        context: RequestContext<RoleClient>,
    ) -> Result<CreateMessageResult, McpError> {
        let request = ServerRequest::CreateMessageRequest(CreateMessageRequest::new(params));
        match self.relay(request, context).await? {
            ClientResult::CreateMessageResult(result) => Ok(*result),
            _ => Err(unexpected("sampling/createMessage")),
        }
    }

    async fn create_elicitation(
        &self,
        params: ElicitRequestParams,
        context: RequestContext<RoleClient>,
    ) -> Result<ElicitResult, McpError> {
        let request = ServerRequest::ElicitRequest(ElicitRequest::new(params));
        match self.relay(request, context).await? {
            ClientResult::ElicitResult(result) => Ok(result),
            _ => Err(unexpected("elicitation/create")),
        }
    }

    async fn list_roots(
        &self,
        context: RequestContext<RoleClient>,
    ) -> Result<ListRootsResult, McpError> {
        let request = ServerRequest::ListRootsRequest(ListRootsRequest::default());
        match self.relay(request, context).await? {
            ClientResult::ListRootsResult(result) => Ok(result),
            _ => Err(unexpected("roots/list")),
        }
    }

    fn on_tool_list_changed(
        &self,
        _context: NotificationContext<RoleClient>,
    ) -> impl Future<Output = ()> + Send + '_ {
        self.changed()
    }

    fn on_prompt_list_changed(
        &self,
        _context: NotificationContext<RoleClient>,
    ) -> impl Future<Output = ()> + Send + '_ {
        self.changed()
    }

    fn on_resource_list_changed(
        &self,
        _context: NotificationContext<RoleClient>,
    ) -> impl Future<Output = ()> + Send + '_ {
        self.changed()
    }

    async fn on_progress(
        &self,
        params: ProgressNotificationParam,
        _context: NotificationContext<RoleClient>,
    ) {
        // Progress for a call no client is waiting on (finished, cancelled, or
        // made without a progress token) is dropped.
        let Some(relay) = self.progress.start(&params.progress_token) else {
            return;
        };
        let mut relayed = params;
        relayed.progress_token = relay.token.clone();
        if let Err(e) = relay.peer.notify_progress(relayed).await {
            tracing::debug!(backend = %self.backend, "relaying progress failed: {e}");
        }
    }

    async fn on_logging_message(
        &self,
        params: LoggingMessageNotificationParam,
        _context: NotificationContext<RoleClient>,
    ) {
        self.clients.log(&self.backend, params).await;
    }
}

/// The client answered a relayed request with a result of another kind.
fn unexpected(method: &str) -> McpError {
    McpError::internal_error(
        format!("the client answered `{method}` with a result of another request"),
        None,
    )
}

/// Where a backend's progress notifications go: the backend-side progress
/// token of each call in flight (the one rmcp put in the forwarded request)
/// → the calling client's session and its own token. One per connection.
#[derive(Default)]
pub(crate) struct ProgressRoutes {
    routes: Mutex<HashMap<ProgressToken, Arc<Destination>>>,
}

/// One call's progress destination, and its relays under way.
struct Destination {
    peer: Peer<RoleServer>,
    token: ProgressToken,
    relaying: AtomicUsize,
    idle: Notify,
}

impl ProgressRoutes {
    /// Routes `backend_token`'s progress to `client` under `client_token`
    /// until the returned guard is dropped.
    pub(crate) fn route(
        self: &Arc<Self>,
        backend_token: ProgressToken,
        client: Peer<RoleServer>,
        client_token: ProgressToken,
    ) -> ProgressRoute {
        let destination = Arc::new(Destination {
            peer: client,
            token: client_token,
            relaying: AtomicUsize::new(0),
            idle: Notify::new(),
        });
        if let Ok(mut routes) = self.routes.lock() {
            routes.insert(backend_token.clone(), Arc::clone(&destination));
        }
        ProgressRoute {
            routes: Arc::clone(self),
            token: backend_token,
            destination,
        }
    }

    /// Starts relaying one notification of `backend_token`, if it has a route.
    fn start(&self, backend_token: &ProgressToken) -> Option<Relay> {
        let destination = Arc::clone(self.routes.lock().ok()?.get(backend_token)?);
        destination.relaying.fetch_add(1, Ordering::SeqCst);
        Some(Relay(destination))
    }
}

/// One progress notification being relayed (counted until dropped).
struct Relay(Arc<Destination>);

impl std::ops::Deref for Relay {
    type Target = Destination;
    fn deref(&self) -> &Destination {
        &self.0
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        if self.0.relaying.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.0.idle.notify_waiters();
        }
    }
}

/// A progress route, removed when dropped (the call ended).
pub(crate) struct ProgressRoute {
    routes: Arc<ProgressRoutes>,
    token: ProgressToken,
    destination: Arc<Destination>,
}

impl ProgressRoute {
    /// Call when the backend answered, before answering the client: lets the
    /// progress notifications the backend sent before its answer finish
    /// reaching the client, so none arrives after the answer (MCP wants
    /// progress to stop with it). rmcp hands each notification to its own
    /// task, started before the answer is delivered; this yields once so
    /// those tasks run, then waits (at most [`SETTLE_LIMIT`]) for the relays
    /// under way.
    pub(crate) async fn settle(&self) {
        tokio::task::yield_now().await;
        let relayed = async {
            loop {
                let idle = self.destination.idle.notified();
                let mut idle = std::pin::pin!(idle);
                idle.as_mut().enable();
                if self.destination.relaying.load(Ordering::SeqCst) == 0 {
                    return;
                }
                idle.await;
            }
        };
        let _ = tokio::time::timeout(SETTLE_LIMIT, relayed).await;
    }
}

/// How long a finished call waits for its progress relays (a client that
/// does not read its stream must not hold the answer).
const SETTLE_LIMIT: std::time::Duration = std::time::Duration::from_secs(2);

impl Drop for ProgressRoute {
    fn drop(&mut self) {
        if let Ok(mut routes) = self.routes.routes.lock() {
            routes.remove(&self.token);
        }
    }
}

/// Sends `notifications/cancelled` for a backend request when dropped before
/// [`CancelOnDrop::disarm`]: the caller cancelled, the call timed out, or the
/// gateway's handler went away.
pub(crate) struct CancelOnDrop {
    peer: Peer<RoleClient>,
    id: Option<RequestId>,
}

impl CancelOnDrop {
    pub(crate) fn new(peer: &Peer<RoleClient>, id: RequestId) -> Self {
        Self {
            peer: peer.clone(),
            id: Some(id),
        }
    }

    /// The request ended; nothing to cancel.
    pub(crate) fn disarm(mut self) {
        self.id = None;
    }
}

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        let Some(id) = self.id.take() else {
            return;
        };
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let peer = self.peer.clone();
        runtime.spawn(async move {
            let params = CancelledNotificationParam::new(
                Some(id),
                Some("cancelled by the gateway: its client cancelled or the call timed out".into()),
            );
            if let Err(e) = peer.notify_cancelled(params).await {
                tracing::debug!("sending notifications/cancelled to the backend failed: {e}");
            }
        });
    }
}

/// The gateway's connected client sessions (those that sent
/// `notifications/initialized`), for list changes and log messages.
#[derive(Default)]
pub(crate) struct Clients {
    list: Mutex<Vec<Client>>,
}

struct Client {
    peer: Peer<RoleServer>,
    level: Arc<LogLevel>,
}

impl Clients {
    /// Remembers a connected client and the log level it chooses.
    pub(crate) fn register(&self, peer: Peer<RoleServer>, level: Arc<LogLevel>) {
        if let Ok(mut list) = self.list.lock() {
            list.retain(|c| !c.peer.is_transport_closed());
            list.push(Client { peer, level });
        }
    }

    /// The clients still connected.
    pub(crate) fn peers(&self) -> Vec<Peer<RoleServer>> {
        match self.list.lock() {
            Ok(mut list) => {
                list.retain(|c| !c.peer.is_transport_closed());
                list.iter().map(|c| c.peer.clone()).collect()
            }
            Err(_) => Vec::new(),
        }
    }

    /// Relays one backend log message to every client whose level admits it;
    /// the logger names the backend (`<backend>` or `<backend>/<logger>`).
    pub(crate) async fn log(&self, backend: &str, mut params: LoggingMessageNotificationParam) {
        params.logger = Some(match params.logger.take() {
            Some(logger) => format!("{backend}/{logger}"),
            None => backend.to_owned(),
        });
        let peers: Vec<_> = match self.list.lock() {
            Ok(mut list) => {
                list.retain(|c| !c.peer.is_transport_closed());
                list.iter()
                    .filter(|c| c.level.admits(params.level))
                    .map(|c| c.peer.clone())
                    .collect()
            }
            Err(_) => return,
        };
        for peer in peers {
            if let Err(e) = peer.notify_logging_message(params.clone()).await {
                tracing::debug!(backend, "relaying a log message failed: {e}");
            }
        }
    }
}

/// The lowest log level one client session wants (`logging/setLevel`);
/// every level until it sets one.
#[derive(Default)]
pub(crate) struct LogLevel(AtomicU8);

impl LogLevel {
    pub(crate) fn set(&self, level: LoggingLevel) {
        self.0.store(rank(level), Ordering::Relaxed);
    }

    fn admits(&self, level: LoggingLevel) -> bool {
        rank(level) >= self.0.load(Ordering::Relaxed)
    }
}

/// Severity order of RFC 5424 levels, `debug` lowest (1); 0 means unset.
fn rank(level: LoggingLevel) -> u8 {
    match level {
        LoggingLevel::Debug => 1,
        LoggingLevel::Info => 2,
        LoggingLevel::Notice => 3,
        LoggingLevel::Warning => 4,
        LoggingLevel::Error => 5,
        LoggingLevel::Critical => 6,
        LoggingLevel::Alert => 7,
        LoggingLevel::Emergency => 8,
    }
}

#[cfg(test)]
mod tests {
    use super::{LogLevel, LoggingLevel};

    #[test]
    fn log_levels_filter_below_the_chosen_one() {
        let level = LogLevel::default();
        assert!(level.admits(LoggingLevel::Debug), "everything until set");
        level.set(LoggingLevel::Warning);
        assert!(!level.admits(LoggingLevel::Debug));
        assert!(!level.admits(LoggingLevel::Info));
        assert!(!level.admits(LoggingLevel::Notice));
        assert!(level.admits(LoggingLevel::Warning));
        assert!(level.admits(LoggingLevel::Emergency));
    }
}
