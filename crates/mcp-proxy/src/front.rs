//! The MCP server the gateway shows its clients: lists come from the
//! aggregate catalog, calls are routed to the owning backend under the
//! item's original name, with a per-call timeout.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use rmcp::model::{
    CallToolRequestParams, CallToolResponse, ErrorCode, GetPromptRequestParams, GetPromptResponse,
    Implementation, ListPromptsResult, ListResourcesResult, ListToolsResult,
    PaginatedRequestParams, ReadResourceRequestParams, ReadResourceResponse, ServerCapabilities,
    ServerConfig,
};
use rmcp::service::{NotificationContext, RequestContext, RoleServer, ServiceError};
use rmcp::{ErrorData as McpError, ServerHandler};
use serde_json::json;

use crate::aggregate::Route;
use crate::backends::{Backend, Live};
use crate::gateway::Inner;

/// Gateway-specific JSON-RPC error code: the owning backend is down or failed.
pub const BACKEND_UNAVAILABLE: i32 = -32001;
/// Gateway-specific JSON-RPC error code: the backend did not answer in time.
pub const BACKEND_TIMEOUT: i32 = -32002;

/// The front MCP server; one clone per client session.
#[derive(Clone)]
pub(crate) struct GatewayHandler {
    pub(crate) inner: Arc<Inner>,
}

enum Kind {
    Tool,
    Prompt,
    Resource,
}

impl GatewayHandler {
    /// Resolves an exposed name to its backend's live connection.
    fn route(
        &self,
        kind: Kind,
        exposed: &str,
    ) -> Result<(Arc<Backend>, Arc<Live>, Route), McpError> {
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
        let live = backend
            .live()
            .ok_or_else(|| unavailable(&backend, exposed))?;
        Ok((backend, live, route))
    }

    fn timeout(&self, backend: &Backend) -> Duration {
        backend
            .config
            .timeout
            .unwrap_or(self.inner.config.call_timeout)
    }
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
async fn forward<T>(
    backend: &Backend,
    item: &str,
    timeout: Duration,
    call: impl Future<Output = Result<T, ServiceError>>,
) -> Result<T, McpError> {
    match tokio::time::timeout(timeout, call).await {
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

impl ServerHandler for GatewayHandler {
    fn get_info(&self) -> ServerConfig {
        let capabilities = ServerCapabilities::builder()
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
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, McpError> {
        Ok(ListToolsResult::with_all_items(
            self.inner.catalog().tools.clone(),
        ))
    }

    async fn call_tool(
        &self,
        mut request: CallToolRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, McpError> {
        let exposed = request.name.to_string();
        let (backend, live, route) = self.route(Kind::Tool, &exposed)?;
        request.name = route.original.into();
        let timeout = self.timeout(&backend);
        forward(
            &backend,
            &exposed,
            timeout,
            live.peer.call_tool_once(request),
        )
        .await
    }

    async fn list_prompts(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListPromptsResult, McpError> {
        Ok(ListPromptsResult::with_all_items(
            self.inner.catalog().prompts.clone(),
        ))
    }

    async fn get_prompt(
        &self,
        mut request: GetPromptRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<GetPromptResponse, McpError> {
        let exposed = request.name.clone();
        let (backend, live, route) = self.route(Kind::Prompt, &exposed)?;
        request.name = route.original;
        let timeout = self.timeout(&backend);
        forward(
            &backend,
            &exposed,
            timeout,
            live.peer.get_prompt_once(request),
        )
        .await
    }

    async fn list_resources(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListResourcesResult, McpError> {
        Ok(ListResourcesResult::with_all_items(
            self.inner.catalog().resources.clone(),
        ))
    }

    async fn read_resource(
        &self,
        request: ReadResourceRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<ReadResourceResponse, McpError> {
        let uri = request.uri.clone();
        let (backend, live, _route) = self.route(Kind::Resource, &uri)?;
        let timeout = self.timeout(&backend);
        forward(
            &backend,
            &uri,
            timeout,
            live.peer.read_resource_once(request),
        )
        .await
    }

    async fn on_initialized(&self, context: NotificationContext<RoleServer>) {
        self.inner.register_peer(context.peer);
    }
}
