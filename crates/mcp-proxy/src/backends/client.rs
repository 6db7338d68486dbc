//! The rmcp client handler the gateway uses towards each backend: it turns
//! the backend's `list_changed` notifications into refresh signals.

use rmcp::ClientHandler;
use rmcp::model::{ClientCapabilities, ClientConfig, Implementation};
use rmcp::service::{NotificationContext, RoleClient};
use tokio::sync::mpsc;

/// Client side of one backend connection.
#[derive(Clone)]
pub(crate) struct BackendClient {
    refresh: mpsc::UnboundedSender<()>,
}

impl BackendClient {
    pub(crate) fn new(refresh: mpsc::UnboundedSender<()>) -> Self {
        Self { refresh }
    }

    fn changed(&self) -> std::future::Ready<()> {
        // The supervisor may be gone during shutdown; nothing to refresh then.
        let _ = self.refresh.send(());
        std::future::ready(())
    }
}

impl ClientHandler for BackendClient {
    fn get_info(&self) -> ClientConfig {
        ClientConfig::new(
            ClientCapabilities::default(),
            Implementation::new("mcp-proxy", env!("CARGO_PKG_VERSION")),
        )
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
}
