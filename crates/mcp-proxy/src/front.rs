//! The MCP server the gateway shows its clients: lists come from the
//! aggregate catalog, calls are routed to the owning backend under the
//! item's original name, with a per-call timeout. A call's progress
//! notifications come back to its caller, a client's `notifications/cancelled`
//! cancels the backend request, and `logging/setLevel` chooses which backend
//! log messages a session receives. Each call is registered with its backend
//! connection while it runs, so that the backend's requests made for it
//! (sampling, elicitation, roots) reach this caller and no one else.

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use rmcp::model::{
    CallToolRequest, CallToolRequestParams, CallToolResponse, CallToolResult, ClientRequest,
    ErrorCode, GetPromptRequest, GetPromptRequestParams, GetPromptResponse, Implementation,
    JsonObject, ListPromptsResult, ListResourcesResult, ListToolsResult, PaginatedRequestParams,
    ProgressToken, ReadResourceRequest, ReadResourceRequestParams, ReadResourceResponse,
    ServerCapabilities, ServerConfig, ServerResult,
};
use rmcp::service::{
    NotificationContext, PeerRequestOptions, RequestContext, RoleServer, ServiceError,
};
use rmcp::{ErrorData as McpError, Peer, ServerHandler};
use serde_json::json;

use mcp_authz::{PROMPTS_GET, RESOURCES_READ, Request, TOOLS_CALL};

use crate::aggregate::{Catalog, Route};
use crate::audit::{Entry, Outcome};
use crate::backends::{
    Backend, Caller, CallerCredentials, CancelOnDrop, Live, LogLevel, RawSlot, Sent,
};
use crate::gateway::Inner;
use crate::identity::{anonymous, identity_of};
use crate::metrics::SessionGuard;
use crate::stdio::SessionIdentity;
use crate::step_up::Decided;

/// Gateway-specific JSON-RPC error code: the owning backend is down or failed.
pub const BACKEND_UNAVAILABLE: i32 = -32010;
/// Gateway-specific JSON-RPC error code: the backend did not answer in time.
pub const BACKEND_TIMEOUT: i32 = -32011;
/// JSON-RPC error code of a request the policy denied (as mcp-authz's layer uses).
pub const FORBIDDEN: i32 = -32003;
/// JSON-RPC error code of a request its client cancelled (the answer is not
/// sent; it only shows in logs).
const REQUEST_CANCELLED: i32 = -32800;

/// The front MCP server; one per client session.
#[derive(Clone)]
pub(crate) struct GatewayHandler {
    pub(crate) inner: Arc<Inner>,
    /// The lowest level of backend log messages this session wants.
    log_level: Arc<LogLevel>,
    /// Counts this session in `mcp_proxy_sessions` from its `initialized`
    /// notification until the session's handler is dropped.
    session: Arc<OnceLock<SessionGuard>>,
    /// Tells this session's calls from other sessions' (relaying backend
    /// requests on stdio backends).
    id: u64,
}

/// The next [`GatewayHandler::id`].
static SESSIONS: AtomicU64 = AtomicU64::new(0);

/// An admitted request on its way to the backend (for the audit line).
struct Ticket {
    identity: mcp_authz::Identity,
    decision: Option<mcp_authz::Decision>,
    started: Instant,
    arguments: Option<JsonObject>,
    backend: Arc<Backend>,
    original: String,
    exposed: String,
    method: &'static str,
}

/// A routed request: the backend, its shared connection (none for a
/// per-caller backend) and the item's route.
type Routed = (Arc<Backend>, Option<Arc<Live>>, Route);

enum Kind {
    Tool,
    Prompt,
    Resource,
}

impl GatewayHandler {
    /// The handler of one new client session.
    pub(crate) fn new(inner: Arc<Inner>) -> Self {
        Self {
            inner,
            log_level: Arc::default(),
            session: Arc::default(),
            id: SESSIONS.fetch_add(1, Ordering::Relaxed),
        }
    }

    /// The caller of an admitted request, to whom the backend's requests made
    /// while serving it are relayed (each relayed request audited like the
    /// call, under the call's JSON-RPC id).
    fn caller(
        &self,
        context: &RequestContext<RoleServer>,
        ticket: &Arc<Ticket>,
        timeout: Duration,
    ) -> Caller {
        let inner = Arc::clone(&self.inner);
        let ticket = Arc::clone(ticket);
        let request_id = serde_json::to_value(&context.id).unwrap_or_default();
        let session = session_of(context).map(str::to_owned);
        Caller {
            session: self.id,
            peer: context.peer.clone(),
            request: context.id.clone(),
            protocol: context.protocol_version(),
            deadline: tokio::time::Instant::now() + timeout,
            exposed: ticket.exposed.clone(),
            record: Box::new(move |method, outcome, started| {
                if inner.audit.is_none() && inner.metrics.is_none() {
                    return;
                }
                inner.record(&Entry {
                    request_id: request_id.clone(),
                    session: session.as_deref(),
                    identity: &ticket.identity,
                    method,
                    backend: &ticket.backend.config.name,
                    tool: &ticket.original,
                    exposed: &ticket.exposed,
                    arguments: None,
                    decision: None,
                    outcome,
                    started,
                });
            }),
        }
    }

    /// Resolves an exposed name to its backend and, for a shared backend, its
    /// live connection (a per-caller backend's session is opened once the
    /// request is admitted: [`GatewayHandler::caller_live`]).
    fn route(&self, kind: Kind, exposed: &str) -> Result<Routed, McpError> {
        let catalog = self.inner.catalog();
        let (route, what) = match kind {
            Kind::Tool => (catalog.tool(exposed), "tool"),
            Kind::Prompt => (catalog.prompt(exposed), "prompt"),
            Kind::Resource => (catalog.resource(exposed), "resource"),
        };
        let Some(route) = route.cloned() else {
            // The name may belong to a backend that is down right now: say so.
            let separator = &self.inner.config.separator;
            let owner = self.inner.backends.list.iter().find(|b| {
                let prefix = b.config.prefix();
                !prefix.is_empty()
                    && exposed
                        .strip_prefix(prefix)
                        .is_some_and(|rest| rest.starts_with(separator.as_str()))
                    && b.live().is_none()
            });
            return Err(match owner {
                Some(backend) => unavailable(backend, exposed),
                None => McpError::invalid_params(
                    format!("unknown {what} `{exposed}`; call {what}s/list for the available ones"),
                    None,
                ),
            });
        };
        let backend = self
            .inner
            .backends
            .list
            .get(route.backend)
            .cloned()
            .ok_or_else(|| McpError::internal_error("routing table out of date", None))?;
        if backend.is_per_caller() {
            return Ok((backend, None, route));
        }
        let live = backend
            .live()
            .ok_or_else(|| unavailable(&backend, exposed))?;
        Ok((backend, Some(live), route))
    }

    /// The caller's own session with a per-caller backend (opened on first
    /// use); a failure is audited as a backend error and answered clearly.
    async fn caller_live(
        &self,
        context: &RequestContext<RoleServer>,
        ticket: &Ticket,
        live: Option<Arc<Live>>,
    ) -> Result<Arc<Live>, McpError> {
        if let Some(live) = live {
            return Ok(live);
        }
        let backend = &ticket.backend;
        // Boxed, as below: opening a session is a large future that every
        // call's future would otherwise carry (see `send`).
        match Box::pin(open_caller_session(context, backend)).await {
            Ok(live) => Ok(live),
            Err(reason) => {
                let error = McpError::new(
                    ErrorCode(BACKEND_UNAVAILABLE),
                    format!(
                        "backend `{}` cannot serve `{}` for you: {reason}",
                        backend.config.name, ticket.exposed
                    ),
                    Some(json!({ "backend": backend.config.name, "reason": "caller_credentials" })),
                );
                let failed: Result<(), McpError> = Err(error.clone());
                self.finish(context, ticket, &failed, |()| false);
                Err(error)
            }
        }
    }

    /// Opens this caller's session with every per-caller backend whose lists
    /// nobody has published yet, so their items can be listed and called.
    async fn publish_caller_lists(&self, context: &RequestContext<RoleServer>) {
        let mut published = false;
        for backend in &self.inner.backends.list {
            if backend.is_per_caller() && backend.live().is_none() {
                match Box::pin(open_caller_session(context, backend)).await {
                    Ok(_) => published = true,
                    Err(reason) => {
                        tracing::debug!(backend = %backend.config.name, "no caller session: {reason}");
                    }
                }
            }
        }
        if published {
            // Now, not when the change watcher gets to it: this request lists or routes next.
            self.inner.rebuild();
        }
    }

    /// Decides one routed request against the policy (when there is one);
    /// a denial is audited here and returned as the JSON-RPC error.
    fn admit(
        &self,
        context: &RequestContext<RoleServer>,
        method: &'static str,
        exposed: &str,
        backend: &Arc<Backend>,
        original: &str,
        arguments: Option<&JsonObject>,
    ) -> Result<Ticket, McpError> {
        let early = context
            .extensions
            .get::<http::request::Parts>()
            .and_then(|parts| {
                Decided::of(
                    parts,
                    &context.id,
                    method,
                    exposed,
                    (&backend.config.name, original),
                )
            });
        let (identity, decision) = match early {
            Some(decided) => (decided.identity.clone(), Some(decided.decision.clone())),
            None => {
                let identity = caller(context);
                let decision = self.inner.authz.as_ref().map(|authz| {
                    let mut request = Request::new(method, original).server(&backend.config.name);
                    if let Some(arguments) = arguments {
                        request = request.arguments(arguments);
                    }
                    authz.decide(&identity, &request)
                });
                (identity, decision)
            }
        };
        let ticket = Ticket {
            identity,
            decision,
            started: Instant::now(),
            arguments: self.inner.audit.as_ref().and(arguments.cloned()),
            backend: Arc::clone(backend),
            original: original.to_owned(),
            exposed: exposed.to_owned(),
            method,
        };
        match &ticket.decision {
            Some(decision) if !decision.allowed => {
                let error = McpError::new(
                    ErrorCode(FORBIDDEN),
                    format!("`{exposed}` is not allowed: {}", decision.reason),
                    Some(json!({ "rule": decision.rule, "missing_scope": decision.missing_scope })),
                );
                self.audit(context, &ticket, Outcome::Denied);
                Err(error)
            }
            _ => Ok(ticket),
        }
    }

    /// Audits the end of an admitted request.
    fn finish<T>(
        &self,
        context: &RequestContext<RoleServer>,
        ticket: &Ticket,
        result: &Result<T, McpError>,
        tool_error: impl Fn(&T) -> bool,
    ) {
        let outcome = match result {
            Ok(value) if tool_error(value) => Outcome::ToolError,
            Ok(_) => Outcome::Ok,
            Err(e) if e.code.0 == BACKEND_TIMEOUT => Outcome::Timeout,
            Err(_) => Outcome::BackendError,
        };
        self.audit(context, ticket, outcome);
    }

    /// Audits and counts (metrics) the end of a routed request.
    fn audit(&self, context: &RequestContext<RoleServer>, ticket: &Ticket, outcome: Outcome) {
        if self.inner.audit.is_none() && self.inner.metrics.is_none() {
            return;
        }
        let session = session_of(context);
        self.inner.record(&Entry {
            request_id: serde_json::to_value(&context.id).unwrap_or_default(),
            session,
            identity: &ticket.identity,
            method: ticket.method,
            backend: &ticket.backend.config.name,
            tool: &ticket.original,
            exposed: &ticket.exposed,
            arguments: ticket.arguments.as_ref(),
            decision: ticket.decision.as_ref(),
            outcome,
            started: ticket.started,
        });
    }

    /// Keeps the catalog items the caller may use.
    fn visible<T: Clone>(
        &self,
        context: &RequestContext<RoleServer>,
        method: &str,
        items: &[T],
        key: impl Fn(&T) -> &str,
        route: impl Fn(&Catalog, &str) -> Option<Route>,
    ) -> Vec<T> {
        let Some(authz) = &self.inner.authz else {
            return items.to_vec();
        };
        let identity = caller(context);
        let catalog = self.inner.catalog();
        items
            .iter()
            .filter(|item| {
                let Some(route) = route(&catalog, key(item)) else {
                    return false;
                };
                let Some(backend) = self.inner.backends.list.get(route.backend) else {
                    return false;
                };
                !authz
                    .filter(
                        &identity,
                        method,
                        Some(&backend.config.name),
                        vec![route.original.as_str()],
                    )
                    .is_empty()
            })
            .cloned()
            .collect()
    }

    fn timeout(&self, backend: &Backend) -> Duration {
        backend
            .config
            .timeout
            .unwrap_or(self.inner.config.call_timeout)
    }
}

/// Opens (or reuses) the caller's session with a per-caller `backend`: the
/// caller is the verified token's `iss` + `sub`, the backend's token is theirs
/// (`passthrough`) or an ID-JAG exchange of their ID token (`id_jag`).
async fn open_caller_session(
    context: &RequestContext<RoleServer>,
    backend: &Arc<Backend>,
) -> Result<Arc<Live>, String> {
    let parts = context
        .extensions
        .get::<http::request::Parts>()
        .ok_or("it acts as each caller, which needs the HTTP front and the caller's token")?;
    let claims = parts
        .extensions
        .get::<okta_auth::Verified<okta_auth::OktaClaims>>()
        .map(|verified| &verified.claims().raw)
        .ok_or("it acts as each caller, which needs a signed-in caller")?;
    let claim = |name: &str| claims.get(name).and_then(serde_json::Value::as_str);
    let (Some(issuer), Some(subject)) = (claim("iss"), claim("sub")) else {
        return Err("the caller's token has no `iss` or `sub`".to_owned());
    };
    let token =
        okta_auth::bearer_token(&parts.headers).ok_or("the caller's bearer token is missing")?;
    let id_token = backend
        .id_token_header()
        .and_then(|name| parts.headers.get(name))
        .and_then(|v| v.to_str().ok());
    let caller = CallerCredentials {
        token,
        id_token,
        user_id: claim("uid").or(Some(subject)),
    };
    let backend_token = backend.caller_token(&caller).await?;
    backend
        .caller_session(&format!("{issuer}\n{subject}"), &backend_token)
        .await
}

/// The caller of this request: the session's fixed identity on the stdio
/// front, else the HTTP request's token (anonymous without one).
fn caller(context: &RequestContext<RoleServer>) -> mcp_authz::Identity {
    if let Some(fixed) = context.extensions.get::<SessionIdentity>() {
        return fixed.0.clone();
    }
    context
        .extensions
        .get::<http::request::Parts>()
        .map(identity_of)
        .unwrap_or_else(anonymous)
}

/// The HTTP front's `Mcp-Session-Id` of this request.
fn session_of(context: &RequestContext<RoleServer>) -> Option<&str> {
    session_in(&context.extensions)
}

/// The `Mcp-Session-Id` of the HTTP request whose parts are in `extensions`.
fn session_in(extensions: &rmcp::model::Extensions) -> Option<&str> {
    extensions
        .get::<http::request::Parts>()
        .and_then(|p| p.headers.get("mcp-session-id"))
        .and_then(|v| v.to_str().ok())
}

fn unavailable(backend: &Backend, item: &str) -> McpError {
    McpError::new(
        ErrorCode(BACKEND_UNAVAILABLE),
        format!(
            "backend `{}` cannot serve `{item}`: {}",
            backend.config.name,
            backend.unavailable_reason()
        ),
        Some(json!({ "backend": backend.config.name, "reason": "unavailable" })),
    )
}

/// Runs `call` against `backend` within its timeout, mapping failures to
/// clear JSON-RPC errors; a backend's own JSON-RPC error passes through.
/// When the client cancels (`cancelled` resolves) the call is dropped, which
/// sends `notifications/cancelled` to the backend.
async fn forward<T>(
    backend: &Backend,
    item: &str,
    timeout: Duration,
    cancelled: impl Future<Output = ()>,
    call: impl Future<Output = Result<T, ServiceError>>,
) -> Result<T, McpError> {
    let outcome = tokio::select! {
        outcome = tokio::time::timeout(timeout, call) => outcome,
        () = cancelled => {
            tracing::info!(backend = %backend.config.name, item, "call cancelled by the client");
            return Err(McpError::new(
                ErrorCode(REQUEST_CANCELLED),
                format!("`{item}` was cancelled by the client"),
                Some(json!({ "backend": backend.config.name, "reason": "cancelled" })),
            ));
        }
    };
    match outcome {
        Err(_) => Err(McpError::new(
            ErrorCode(BACKEND_TIMEOUT),
            format!(
                "backend `{}` did not answer `{item}` within {} ms",
                backend.config.name,
                timeout.as_millis()
            ),
            Some(json!({ "backend": backend.config.name, "reason": "timeout" })),
        )),
        Ok(Err(ServiceError::McpError(error))) => Err(error),
        Ok(Err(other)) => Err(McpError::new(
            ErrorCode(BACKEND_UNAVAILABLE),
            format!(
                "backend `{}` failed on `{item}`: {other}",
                backend.config.name
            ),
            Some(json!({ "backend": backend.config.name, "reason": "backend_error" })),
        )),
        Ok(Ok(value)) => Ok(value),
    }
}

/// Sends one request to the backend for `caller`, registered as the
/// maker of the request while it runs (the backend's requests made for it
/// are relayed to it). When the client asked for progress (`progressToken`
/// in `_meta`), the backend's progress notifications for this request
/// (under the token rmcp put in the forwarded request) are relayed to
/// `client` under the client's own token while the call runs. Dropped
/// before the answer, it sends `notifications/cancelled` to the backend.
///
/// Callers box its future: it holds the whole backend exchange (~12 kB),
/// and the handler's futures that would otherwise hold it inline are moved,
/// so copied, several times per call (`perf`: memmove at ~6 % of a call).
async fn send(
    live: &Live,
    request: ClientRequest,
    caller: Caller,
    progress: Option<(Peer<RoleServer>, ProgressToken)>,
    raw: Option<&RawSlot>,
) -> Result<ServerResult, ServiceError> {
    // Registered before it is sent: on stdio a backend request is never
    // attributed while this call is in flight but unknown. Its id is known
    // once sent; a backend request on this call's HTTP answer stream comes a
    // round trip later at the earliest (and is refused, not misrouted, if
    // it came first).
    let mut registered = live.callers.register(caller);
    let mut request = request;
    // HTTP backends: one plain POST on rmcp's session (backends/lane.rs);
    // rmcp's client when the lane is refused or cannot serve this session.
    if let Some(lane) = &live.lane
        && lane.serves(
            live.peer
                .peer_info()
                .as_ref()
                .map(|info| &info.protocol_version),
        )
    {
        match lane
            .send(request, &mut registered, progress.clone(), &live.peer, raw)
            .await
        {
            Sent::Answer(answer) => return *answer,
            Sent::Refused(handed_back) => {
                tracing::debug!("fast lane refused by the backend; sending through rmcp's client");
                request = *handed_back;
            }
        }
    }
    let handle = live
        .peer
        .send_cancellable_request(request, PeerRequestOptions::no_options())
        .await?;
    registered.bind(handle.id.clone());
    let route = progress.map(|(peer, token)| {
        live.progress
            .route(handle.progress_token.clone(), peer, token)
    });
    let pending = CancelOnDrop::new(&live.peer, handle.id.clone());
    let result = handle.await_response().await;
    pending.disarm();
    if let Some(route) = &route {
        route.settle().await;
    }
    result
}

/// Where the call's result may be left unchanged: set by the caller of the
/// handler when it sends the answer on itself ([`RawSlot`]).
fn raw_slot(context: &RequestContext<RoleServer>) -> Option<&RawSlot> {
    context.extensions.get::<RawSlot>()
}

/// Sends `tools/call` to the backend (see [`send`]).
async fn call_tool(
    live: &Live,
    request: CallToolRequestParams,
    caller: Caller,
    progress: Option<(Peer<RoleServer>, ProgressToken)>,
    raw: Option<&RawSlot>,
) -> Result<CallToolResponse, ServiceError> {
    let request = ClientRequest::CallToolRequest(CallToolRequest::new(request));
    match Box::pin(send(live, request, caller, progress, raw)).await? {
        ServerResult::CallToolResult(result) => Ok(CallToolResponse::Complete(result)),
        ServerResult::InputRequiredResult(result) => Ok(CallToolResponse::InputRequired(result)),
        ServerResult::CreateTaskResult(result) => Ok(CallToolResponse::Task(result)),
        // A result without `content` decodes as the empty result.
        ServerResult::EmptyResult(_) => Ok(CallToolResponse::Complete(CallToolResult::default())),
        _ => Err(ServiceError::UnexpectedResponse),
    }
}

/// Sends `prompts/get` to the backend (see [`send`]).
async fn get_prompt(
    live: &Live,
    request: GetPromptRequestParams,
    caller: Caller,
    raw: Option<&RawSlot>,
) -> Result<GetPromptResponse, ServiceError> {
    let request = ClientRequest::GetPromptRequest(GetPromptRequest::new(request));
    match Box::pin(send(live, request, caller, None, raw)).await? {
        ServerResult::GetPromptResult(result) => Ok(GetPromptResponse::Complete(result)),
        ServerResult::InputRequiredResult(result) => Ok(GetPromptResponse::InputRequired(result)),
        _ => Err(ServiceError::UnexpectedResponse),
    }
}

/// Sends `resources/read` to the backend (see [`send`]). Not cached: rmcp's
/// client cache would share one user's read with every other.
async fn read_resource(
    live: &Live,
    request: ReadResourceRequestParams,
    caller: Caller,
    raw: Option<&RawSlot>,
) -> Result<ReadResourceResponse, ServiceError> {
    let request = ClientRequest::ReadResourceRequest(ReadResourceRequest::new(request));
    match Box::pin(send(live, request, caller, None, raw)).await? {
        ServerResult::ReadResourceResult(result) => Ok(ReadResourceResponse::Complete(result)),
        ServerResult::InputRequiredResult(result) => {
            Ok(ReadResourceResponse::InputRequired(result))
        }
        _ => Err(ServiceError::UnexpectedResponse),
    }
}

impl ServerHandler for GatewayHandler {
    fn get_info(&self) -> ServerConfig {
        // Logging is deprecated by SEP-2577 but part of the `initialize` protocols.
        #[allow(deprecated)]
        let capabilities = ServerCapabilities::builder()
            .enable_logging()
            .enable_prompts()
            .enable_prompts_list_changed()
            .enable_resources()
            .enable_resources_list_changed()
            .enable_tools()
            .enable_tool_list_changed()
            .build();
        ServerConfig::new(capabilities)
            .with_server_info(Implementation::new("mcp-proxy", env!("CARGO_PKG_VERSION")))
            .with_instructions(
                "An MCP gateway: tools, prompts and resources of several servers, named <backend>_<name>.",
            )
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, McpError> {
        self.publish_caller_lists(&context).await;
        let catalog = self.inner.catalog();
        let tools = self.visible(
            &context,
            TOOLS_CALL,
            &catalog.tools,
            |t| &t.name,
            |c, n| c.tool(n).cloned(),
        );
        Ok(ListToolsResult::with_all_items(tools))
    }

    async fn call_tool(
        &self,
        mut request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, McpError> {
        let exposed = request.name.to_string();
        self.publish_caller_lists(&context).await;
        let (backend, live, route) = self.route(Kind::Tool, &exposed)?;
        let ticket = Arc::new(self.admit(
            &context,
            TOOLS_CALL,
            &exposed,
            &backend,
            &route.original,
            request.arguments.as_ref(),
        )?);
        let live = self.caller_live(&context, &ticket, live).await?;
        request.name = route.original.into();
        let timeout = self.timeout(&backend);
        let progress = context
            .meta
            .get_progress_token()
            .map(|token| (context.peer.clone(), token));
        let caller = self.caller(&context, &ticket, timeout);
        let result = forward(
            &backend,
            &exposed,
            timeout,
            context.ct.cancelled(),
            call_tool(&live, request, caller, progress, raw_slot(&context)),
        )
        .await;
        self.finish(
            &context,
            &ticket,
            &result,
            |r| matches!(r, CallToolResponse::Complete(c) if c.is_error == Some(true)),
        );
        result
    }

    async fn list_prompts(
        &self,
        _request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListPromptsResult, McpError> {
        self.publish_caller_lists(&context).await;
        let catalog = self.inner.catalog();
        let prompts = self.visible(
            &context,
            PROMPTS_GET,
            &catalog.prompts,
            |p| &p.name,
            |c, n| c.prompt(n).cloned(),
        );
        Ok(ListPromptsResult::with_all_items(prompts))
    }

    async fn get_prompt(
        &self,
        mut request: GetPromptRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<GetPromptResponse, McpError> {
        let exposed = request.name.clone();
        self.publish_caller_lists(&context).await;
        let (backend, live, route) = self.route(Kind::Prompt, &exposed)?;
        let ticket = Arc::new(self.admit(
            &context,
            PROMPTS_GET,
            &exposed,
            &backend,
            &route.original,
            request.arguments.as_ref(),
        )?);
        let live = self.caller_live(&context, &ticket, live).await?;
        request.name = route.original;
        let timeout = self.timeout(&backend);
        let caller = self.caller(&context, &ticket, timeout);
        let result = forward(
            &backend,
            &exposed,
            timeout,
            context.ct.cancelled(),
            get_prompt(&live, request, caller, raw_slot(&context)),
        )
        .await;
        self.finish(&context, &ticket, &result, |_| false);
        result
    }

    async fn list_resources(
        &self,
        _request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListResourcesResult, McpError> {
        self.publish_caller_lists(&context).await;
        let catalog = self.inner.catalog();
        let resources = self.visible(
            &context,
            RESOURCES_READ,
            &catalog.resources,
            |r| &r.uri,
            |c, u| c.resource(u).cloned(),
        );
        Ok(ListResourcesResult::with_all_items(resources))
    }

    async fn read_resource(
        &self,
        request: ReadResourceRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<ReadResourceResponse, McpError> {
        let uri = request.uri.clone();
        self.publish_caller_lists(&context).await;
        let (backend, live, route) = self.route(Kind::Resource, &uri)?;
        let ticket = Arc::new(self.admit(
            &context,
            RESOURCES_READ,
            &uri,
            &backend,
            &route.original,
            None,
        )?);
        let live = self.caller_live(&context, &ticket, live).await?;
        let timeout = self.timeout(&backend);
        let caller = self.caller(&context, &ticket, timeout);
        let result = forward(
            &backend,
            &uri,
            timeout,
            context.ct.cancelled(),
            read_resource(&live, request, caller, raw_slot(&context)),
        )
        .await;
        self.finish(&context, &ticket, &result, |_| false);
        result
    }

    #[allow(deprecated)] // logging: see `get_info`
    async fn set_level(
        &self,
        request: rmcp::model::SetLevelRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<(), McpError> {
        self.log_level.set(request.level);
        Ok(())
    }

    async fn on_initialized(&self, context: NotificationContext<RoleServer>) {
        if let Some(metrics) = &self.inner.metrics {
            let _ = self.session.set(metrics.session());
        }
        // HTTP front: this session's calls may now be served in place.
        if let Some(session) = session_in(&context.extensions) {
            let calls = Self {
                // The session is counted once, by this handler.
                session: Arc::default(),
                ..self.clone()
            };
            self.inner
                .front_sessions
                .register(session, calls, context.peer.clone());
        }
        self.inner
            .register_peer(context.peer, Arc::clone(&self.log_level));
    }
}
