//! The running gateway: backends, the aggregate catalog kept up to date, and
//! the HTTP front (`/mcp`, `/healthz`, `/readyz`, RFC 9728 metadata).

use std::future::Future;
use std::sync::{Arc, RwLock};

use axum::Router;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::serve::ListenerExt;
use rmcp::service::RoleServer;
use rmcp::transport::IntoTransport;
use rmcp::transport::{StreamableHttpServerConfig, StreamableHttpService};
use rmcp::{Peer, ServiceExt};
use serde_json::json;
use tokio::net::TcpListener;

use crate::aggregate::{self, Catalog};
use crate::audit::{Auditor, Entry};
use crate::auth::{self, FrontAuth};
use crate::backends::{BackendStatus, Backends, LogLevel};
use crate::config::GatewayConfig;
use crate::drain::InFlight;
use crate::endpoint::McpEndpoint;
use crate::error::ProxyError;
use crate::front::GatewayHandler;
use crate::front_sessions::FrontSessions;
use crate::metrics::{CONTENT_TYPE as METRICS_CONTENT_TYPE, Metrics};
use crate::sessions::{SessionOwners, bind_sessions};
use crate::stdio::{StdioCaller, StdioFront, TOKEN_ENV};

/// Shared state behind every front session.
/// How long a shutdown waits for calls in flight before closing sessions.
const DRAIN_LIMIT: std::time::Duration = std::time::Duration::from_secs(30);

pub(crate) struct Inner {
    pub(crate) config: GatewayConfig,
    pub(crate) backends: Backends,
    catalog: RwLock<Arc<Catalog>>,
    auth: Option<FrontAuth>,
    pub(crate) authz: Option<mcp_authz::Authorizer>,
    pub(crate) audit: Option<Auditor>,
    /// `None` when `metrics.enabled` is false.
    pub(crate) metrics: Option<Arc<Metrics>>,
    stop_sessions: Box<dyn Fn() + Send + Sync>,
    http: StreamableHttpServerConfig,
    /// Who opened each MCP session.
    sessions: Arc<SessionOwners>,
    /// The front's MCP sessions (calls served in place, idle timeout).
    pub(crate) front_sessions: Arc<FrontSessions>,
    /// MCP requests in flight (graceful shutdown lets them finish).
    in_flight: Arc<InFlight>,
}

impl Inner {
    /// The current catalog snapshot.
    pub(crate) fn catalog(&self) -> Arc<Catalog> {
        self.catalog
            .read()
            .map(|c| Arc::clone(&c))
            .unwrap_or_default()
    }

    /// The one place a routed request's end is recorded: its audit line
    /// (when audit is on) and its metrics (when enabled).
    pub(crate) fn record(&self, entry: &Entry<'_>) {
        if let Some(metrics) = &self.metrics {
            metrics.record(entry);
        }
        if let Some(auditor) = &self.audit {
            auditor.record(entry);
        }
    }

    /// The `Host` values the MCP endpoint accepts (rmcp's `allowed_hosts`).
    pub(crate) fn allowed_hosts(&self) -> &[String] {
        &self.http.allowed_hosts
    }

    /// Where the RFC 9728 metadata is served, when auth is configured.
    pub(crate) fn resource_metadata_url(&self) -> Option<String> {
        self.auth.as_ref()?.metadata.metadata_url().ok()
    }

    /// Remembers a connected client so it hears about list changes and
    /// receives the backends' log messages at or above `level`.
    pub(crate) fn register_peer(&self, peer: Peer<RoleServer>, level: Arc<LogLevel>) {
        self.backends.clients.register(peer, level);
    }

    /// Rebuilds the catalog from the backends' current lists.
    pub(crate) fn rebuild(&self) {
        match aggregate::build(&self.backends.list, &self.config.separator, false) {
            Ok(catalog) => {
                if let Ok(mut slot) = self.catalog.write() {
                    *slot = Arc::new(catalog);
                }
            }
            Err(e) => tracing::error!("rebuilding the catalog failed: {e}"),
        }
    }

    async fn notify_list_changed(&self) {
        for peer in self.backends.clients.peers() {
            let _ = peer.notify_tool_list_changed().await;
            let _ = peer.notify_prompt_list_changed().await;
            let _ = peer.notify_resource_list_changed().await;
        }
    }
}

/// A started gateway. Build one with [`Gateway::start`], serve it with
/// [`Gateway::serve`] (or mount [`Gateway::router`] yourself).
///
/// ```no_run
/// # async fn run() -> Result<(), mcp_proxy::ProxyError> {
/// use mcp_proxy::{Gateway, config::GatewayConfig};
/// let config = GatewayConfig::load("gateway.yaml".as_ref())?;
/// let gateway = Gateway::start(config).await?;
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await.unwrap();
/// gateway.serve(listener, async { let _ = tokio::signal::ctrl_c().await; }).await?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Gateway {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Gateway {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gateway")
            .field("backends", &self.inner.backends.status())
            .finish_non_exhaustive()
    }
}

impl Gateway {
    /// Starts every backend, waits for each one's first connection attempt,
    /// and builds the catalog. A name collision among the backends that came
    /// up is an error (the backends are stopped again); a backend that did not
    /// come up is retried in the background.
    pub async fn start(config: GatewayConfig) -> Result<Self, ProxyError> {
        let resource = config
            .auth
            .as_ref()
            .and_then(|a| a.resource.clone())
            .unwrap_or_else(|| format!("http://{}{}", config.listen, config.path));
        let auth = match &config.auth {
            Some(auth_config) => Some(auth::build(auth_config, &resource).await?),
            None => None,
        };
        let authz = config.authorizer()?;
        let audit = Auditor::start(&config.audit).await?;
        let backends = Backends::start(&config.backends)?;
        backends.first_attempts().await;
        let catalog = match aggregate::build(&backends.list, &config.separator, true) {
            Ok(catalog) => catalog,
            Err(e) => {
                backends.shutdown().await;
                return Err(e);
            }
        };
        let mut http = StreamableHttpServerConfig::default()
            .with_max_request_body_bytes(config.max_body_bytes)
            .with_sse_keep_alive(Some(std::time::Duration::from_secs(15)));
        if let Some(hosts) = &config.allowed_hosts {
            http = http.with_allowed_hosts(hosts.iter().cloned());
        }
        http = if config.allowed_origins.is_empty() {
            http.enforce_origin_validation()
        } else {
            http.with_allowed_origins(config.allowed_origins.iter().cloned())
        };
        let token = http.cancellation_token.clone();
        let metrics = config.metrics.enabled.then(|| Arc::new(Metrics::new()));
        let front_sessions = Arc::new(FrontSessions::new(config.session_idle_timeout));
        let inner = Arc::new(Inner {
            config,
            metrics,
            catalog: RwLock::new(Arc::new(catalog)),
            auth,
            authz,
            audit,
            stop_sessions: Box::new(move || token.cancel()),
            http,
            backends,
            sessions: Arc::default(),
            front_sessions,
            in_flight: Arc::default(),
        });
        FrontSessions::spawn_reaper(&inner.front_sessions);
        let watcher = Arc::downgrade(&inner);
        let mut changes = inner.backends.subscribe();
        tokio::spawn(async move {
            while changes.changed().await.is_ok() {
                let Some(inner) = watcher.upgrade() else {
                    break;
                };
                inner.rebuild();
                inner.notify_list_changed().await;
            }
        });
        Ok(Gateway { inner })
    }

    /// The HTTP routes: the MCP endpoint (behind okta-auth when configured),
    /// the RFC 9728 metadata, `/healthz`, `/readyz` and, unless
    /// `metrics.enabled` is false, the Prometheus metrics at `metrics.path`
    /// (unauthenticated like `/healthz`; no user data).
    pub fn router(&self) -> Result<Router, ProxyError> {
        let inner = Arc::clone(&self.inner);
        let factory = move || Ok(GatewayHandler::new(Arc::clone(&inner)));
        let mcp = StreamableHttpService::new(
            factory,
            Arc::clone(&self.inner.front_sessions),
            self.inner.http.clone(),
        );
        let mut mcp_router = Router::new()
            .route_service(
                &self.inner.config.path,
                McpEndpoint::new(Arc::clone(&self.inner), mcp),
            )
            .layer(axum::middleware::from_fn_with_state(
                Arc::clone(&self.inner.sessions),
                bind_sessions,
            ))
            .layer(axum::middleware::from_fn_with_state(
                Arc::clone(&self.inner.in_flight),
                crate::drain::track,
            ));
        let mut router = Router::new();
        if let Some(auth) = &self.inner.auth {
            mcp_router = mcp_router.layer(auth.layer.clone());
            // Public metadata: any origin may read it (browser-based MCP clients).
            let cors = tower_http::cors::CorsLayer::new()
                .allow_origin(tower_http::cors::Any)
                .allow_methods([http::Method::GET]);
            router = router.merge(auth.metadata.router()?.layer(cors));
        }
        let ready = Arc::clone(&self.inner);
        if self.inner.metrics.is_some() {
            let scraped = Arc::clone(&self.inner);
            router = router.route(
                &self.inner.config.metrics.path,
                get(move || metrics(Arc::clone(&scraped))),
            );
        }
        Ok(router
            .merge(mcp_router)
            .route("/healthz", get(|| async { "ok" }))
            .route("/readyz", get(move || readyz(Arc::clone(&ready)))))
    }

    /// Serves on `listener` until `shutdown` resolves, then stops sessions,
    /// lets in-flight requests finish and stops the backends.
    pub async fn serve(
        self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), ProxyError> {
        let router = self.router()?;
        let inner = Arc::clone(&self.inner);
        let signal = async move {
            shutdown.await;
            tracing::info!(
                in_flight = inner.in_flight.count(),
                "shutting down: no new connections; finishing calls in flight, then closing sessions and backends"
            );
            // The server stops accepting now; calls in flight finish (bounded),
            // then closing the sessions ends the server streams so it can stop.
            tokio::spawn(async move {
                if tokio::time::timeout(DRAIN_LIMIT, inner.in_flight.idle())
                    .await
                    .is_err()
                {
                    tracing::warn!(
                        in_flight = inner.in_flight.count(),
                        "calls still in flight after {DRAIN_LIMIT:?}; closing sessions anyway"
                    );
                }
                (inner.stop_sessions)();
            });
        };
        // Answers are SSE written in pieces: without TCP_NODELAY, Nagle holds the
        // last piece until the client's delayed ACK (~40 ms a call on Linux).
        let listener = listener.tap_io(|tcp| {
            if let Err(e) = tcp.set_nodelay(true) {
                tracing::debug!("cannot set TCP_NODELAY: {e}");
            }
        });
        let result = axum::serve(listener, router)
            .with_graceful_shutdown(signal)
            .await
            .map_err(|source| ProxyError::Io {
                context: "serving HTTP".into(),
                source,
            });
        self.shutdown().await;
        result
    }

    /// Serves one MCP session on `transport` (for `--stdio`: rmcp's
    /// `transport::io::stdio_pipes()`, the client's pipes) until the client
    /// closes it or `shutdown` resolves, then stops the backends.
    ///
    /// With `auth:` configured, `token` (the caller's Okta access token, read
    /// from [`TOKEN_ENV`](crate::TOKEN_ENV) by the binary) is verified first
    /// with the HTTP front's verifier, and its claims are the identity of every
    /// request; a missing, invalid or expired token is an error (the backends
    /// are stopped). Once it expires, lists and calls answer
    /// [`TOKEN_EXPIRED`](crate::TOKEN_EXPIRED). Without `auth:` the session is
    /// anonymous and `token` is ignored.
    pub async fn serve_stdio<T, E, A>(
        self,
        transport: T,
        token: Option<&str>,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), ProxyError>
    where
        T: IntoTransport<RoleServer, E, A>,
        E: std::error::Error + Send + Sync + 'static,
    {
        let caller = match self.stdio_caller(token).await {
            Ok(caller) => caller,
            Err(e) => {
                self.shutdown().await;
                return Err(e);
            }
        };
        match (caller.subject(), caller.valid_for()) {
            (Some(sub), Some(valid)) => tracing::info!(
                sub,
                "stdio session as `{sub}`; the token expires in {}s, then restart with a fresh one",
                valid.as_secs()
            ),
            _ => tracing::info!("stdio session, anonymous (no `auth:` in the config)"),
        }
        let front = StdioFront::new(GatewayHandler::new(Arc::clone(&self.inner)), caller);
        let result = match front.serve(transport).await {
            Ok(running) => {
                let stop = running.cancellation_token();
                tokio::select! {
                    quit = running.waiting() => {
                        tracing::info!("stdio client closed the session ({quit:?}); shutting down");
                    }
                    () = shutdown => {
                        tracing::info!("shutting down the stdio session");
                        stop.cancel();
                    }
                }
                Ok(())
            }
            Err(e) => Err(ProxyError::Stdio(format!(
                "the MCP handshake on stdin/stdout failed: {e}"
            ))),
        };
        self.shutdown().await;
        result
    }

    /// The caller of a stdio session (see [`Gateway::serve_stdio`]).
    async fn stdio_caller(&self, token: Option<&str>) -> Result<StdioCaller, ProxyError> {
        self.inner.config.check_stdio(token)?;
        match (&self.inner.auth, token) {
            (Some(auth), Some(token)) => StdioCaller::verify(auth, token).await,
            (None, Some(_)) => {
                tracing::warn!(
                    "{TOKEN_ENV} is set but the config has no `auth:`; the session is anonymous"
                );
                Ok(StdioCaller::anonymous())
            }
            // `check_stdio` refused a missing token when `auth:` is set.
            (_, None) => Ok(StdioCaller::anonymous()),
        }
    }

    /// Stops every backend (children end) and closes client sessions.
    pub async fn shutdown(&self) {
        (self.inner.stop_sessions)();
        self.inner.front_sessions.forget_all();
        self.inner.backends.shutdown().await;
    }

    /// MCP requests in flight (answers not yet fully sent).
    pub fn in_flight(&self) -> usize {
        self.inner.in_flight.count()
    }

    /// Health of each backend, in config order.
    pub fn backend_status(&self) -> Vec<BackendStatus> {
        self.inner.backends.status()
    }

    /// Exposed tool names, in catalog order.
    pub fn tool_names(&self) -> Vec<String> {
        self.inner
            .catalog()
            .tools
            .iter()
            .map(|t| t.name.to_string())
            .collect()
    }
}

/// The Prometheus exposition (no user data: see the `metrics` module).
async fn metrics(inner: Arc<Inner>) -> Response {
    let Some(metrics) = &inner.metrics else {
        return StatusCode::NOT_FOUND.into_response();
    };
    match metrics.encode(&inner.backends.status()) {
        Ok(text) => ([(http::header::CONTENT_TYPE, METRICS_CONTENT_TYPE)], text).into_response(),
        Err(e) => {
            tracing::error!("encoding the metrics failed: {e}");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

async fn readyz(inner: Arc<Inner>) -> Response {
    let backends = inner.backends.status();
    // A per-caller backend waiting for its first caller is ready to serve.
    let any_up = backends
        .iter()
        .any(|b| b.state == "up" || b.state == "on_demand");
    let keys = inner.auth.as_ref().map(|a| !a.jwks.kids().is_empty());
    let ready = any_up && keys.unwrap_or(true);
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let body = json!({
        "ready": ready,
        "config": "loaded",
        "jwks": match keys { Some(true) => "available", Some(false) => "unavailable", None => "not configured" },
        "backends": backends,
    });
    (status, axum::Json(body)).into_response()
}
