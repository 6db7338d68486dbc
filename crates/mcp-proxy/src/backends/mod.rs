//! Backends: one supervisor task per configured MCP server keeps a connection
//! up (restarting children and reconnecting with exponential backoff), keeps
//! its tool/prompt/resource lists fresh, and publishes every change.

mod client;
mod connect;
mod lane;
mod outgoing;
mod per_caller;
mod relay;
mod reuse;

use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use rmcp::Peer;
use rmcp::model::{ClientRequest, PingRequest, Prompt, Resource, Tool};
use rmcp::service::{RoleClient, ServiceError};
use serde::Serialize;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;

use crate::config::BackendConfig;
use client::BackendClient;
pub(crate) use client::{CancelOnDrop, Clients, LogLevel, ProgressRoutes};
use connect::connect;
pub(crate) use lane::{Lane, RawSlot, Sent};
pub(crate) use outgoing::CallerCredentials;
use outgoing::Outgoing;
pub use relay::RELAY_FAILED;
pub(crate) use relay::{Caller, Callers};

/// How often a live backend is pinged to notice a dead connection.
const PING_INTERVAL: Duration = Duration::from_secs(10);
/// How long a ping may take.
const PING_TIMEOUT: Duration = Duration::from_secs(5);
/// A connection that lived this long resets the backoff.
const STABLE_AFTER: Duration = Duration::from_secs(60);
/// Why a connection is closed on purpose before its token expires.
const RENEWING: &str = "renewing its credentials";
/// How long a backend gets to finish its handshake and first listing.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);

/// What a live backend offers, with the peer to call it.
pub(crate) struct Live {
    pub(crate) peer: Peer<RoleClient>,
    pub(crate) tools: Vec<Tool>,
    pub(crate) prompts: Vec<Prompt>,
    pub(crate) resources: Vec<Resource>,
    pub(crate) pid: Option<u32>,
    /// Where this connection's progress notifications go.
    pub(crate) progress: Arc<ProgressRoutes>,
    /// Who made each call in flight (where the backend's requests go).
    pub(crate) callers: Arc<Callers>,
    /// The fast lane of an HTTP connection ([`lane`]), when it has one.
    pub(crate) lane: Option<Arc<Lane>>,
}

enum State {
    Starting,
    /// A per-caller backend no caller has opened a session with yet.
    OnDemand,
    Up(Arc<Live>),
    Down(String),
    Stopped,
}

/// One backend and its current state.
pub(crate) struct Backend {
    pub(crate) config: BackendConfig,
    outgoing: Outgoing,
    state: RwLock<State>,
    restarts: std::sync::atomic::AtomicU64,
    generation: Arc<watch::Sender<u64>>,
    /// The gateway's clients, which hear this backend's log messages.
    clients: Arc<Clients>,
    /// One session per caller, for credentials that depend on the caller.
    per_caller: Option<per_caller::CallerSessions>,
    /// Turns true when the gateway stops.
    shutdown: watch::Receiver<bool>,
}

/// A snapshot of a backend's health, for `/readyz`, logs and tests.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[non_exhaustive]
pub struct BackendStatus {
    /// Backend name.
    pub name: String,
    /// `starting`, `up`, `down`, `stopped`, or `on_demand` (a per-caller
    /// backend no caller has opened a session with yet).
    pub state: &'static str,
    /// Why it is down.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Number of tools it offers now.
    pub tools: usize,
    /// Times it was (re)connected after the first connection.
    pub restarts: u64,
    /// Open caller sessions (per-caller backends: `passthrough`, `id_jag`).
    #[serde(skip_serializing_if = "is_zero")]
    pub caller_sessions: usize,
    /// Process id of the child (stdio and demo backends), for operators.
    #[serde(skip)]
    pub pid: Option<u32>,
}

impl Backend {
    fn set(&self, state: State) {
        if let Ok(mut guard) = self.state.write() {
            *guard = state;
        }
        self.generation.send_modify(|g| *g = g.wrapping_add(1));
    }

    /// The live connection, when the backend is up. For a per-caller backend
    /// it is the session that published the lists: use it for its lists only,
    /// never for calls (those go through [`Backend::caller_session`]).
    pub(crate) fn live(&self) -> Option<Arc<Live>> {
        match &*self.state.read().ok()? {
            State::Up(live) => Some(Arc::clone(live)),
            _ => None,
        }
    }

    /// The token a per-caller backend receives for `caller` (their own, or
    /// their ID token exchanged through cross-app access).
    pub(crate) async fn caller_token(
        &self,
        caller: &CallerCredentials<'_>,
    ) -> Result<String, String> {
        self.outgoing.token_for(caller).await
    }

    /// The request header an `id_jag` backend reads the caller's ID token from.
    pub(crate) fn id_token_header(&self) -> Option<&http::HeaderName> {
        self.outgoing.id_token_header()
    }

    /// Why the backend is not up (for error messages).
    pub(crate) fn unavailable_reason(&self) -> String {
        match self.state.read().as_deref() {
            Ok(State::Starting) => "it is still starting".to_owned(),
            Ok(State::OnDemand) => "no session with it is open".to_owned(),
            Ok(State::Down(reason)) => {
                format!("it is down ({reason}); the gateway is reconnecting")
            }
            Ok(State::Stopped) => "the gateway is shutting down".to_owned(),
            Ok(State::Up(_)) => "it just went away".to_owned(),
            Err(_) => "its state is unavailable".to_owned(),
        }
    }

    pub(crate) fn status(&self) -> BackendStatus {
        let restarts = self.restarts.load(std::sync::atomic::Ordering::Relaxed);
        let (state, reason, tools, pid) = match self.state.read().as_deref() {
            Ok(State::Starting) => ("starting", None, 0, None),
            Ok(State::OnDemand) => ("on_demand", None, 0, None),
            Ok(State::Up(live)) => ("up", None, live.tools.len(), live.pid),
            Ok(State::Down(reason)) => ("down", Some(reason.clone()), 0, None),
            Ok(State::Stopped) | Err(_) => ("stopped", None, 0, None),
        };
        BackendStatus {
            name: self.config.name.clone(),
            state,
            reason,
            tools,
            restarts,
            caller_sessions: self.caller_sessions(),
            pid,
        }
    }

    async fn run(self: Arc<Self>, mut shutdown: watch::Receiver<bool>, first: oneshot::Sender<()>) {
        let mut first = Some(first);
        let mut backoff = self.config.backoff_initial;
        let mut connected_before = false;
        loop {
            if *shutdown.borrow() {
                break;
            }
            let (refresh_tx, mut refresh_rx) = mpsc::unbounded_channel();
            let progress = Arc::new(ProgressRoutes::default());
            let callers = Arc::new(Callers::default());
            let client = BackendClient::new(
                &self.config.name,
                refresh_tx,
                Arc::clone(&progress),
                Arc::clone(&self.clients),
                Arc::clone(&callers),
            );
            let attempt = tokio::select! {
                r = tokio::time::timeout(CONNECT_TIMEOUT, self.open(client, progress, callers)) => {
                    r.unwrap_or_else(|_| Err(format!("no answer within {}s", CONNECT_TIMEOUT.as_secs())))
                }
                _ = shutdown.changed() => break,
            };
            let (service, live, renew_at) = match attempt {
                Ok(pair) => pair,
                Err(reason) => {
                    tracing::warn!(backend = %self.config.name, "backend unavailable: {reason}; retrying in {backoff:?}");
                    self.set(State::Down(reason));
                    if let Some(f) = first.take() {
                        let _ = f.send(());
                    }
                    if sleep_or_shutdown(backoff, &mut shutdown).await {
                        break;
                    }
                    backoff = (backoff * 2).min(self.config.backoff_max);
                    continue;
                }
            };
            if connected_before {
                self.restarts
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
            connected_before = true;
            tracing::info!(backend = %self.config.name, tools = live.tools.len(), "backend up");
            let peer = live.peer.clone();
            let pid = live.pid;
            let live_progress = Arc::clone(&live.progress);
            let live_callers = Arc::clone(&live.callers);
            let live_lane = live.lane.clone();
            self.set(State::Up(Arc::new(live)));
            if let Some(f) = first.take() {
                let _ = f.send(());
            }
            let started = Instant::now();
            let cancel = service.cancellation_token();
            let mut waiting = Box::pin(service.waiting());
            let mut ping = tokio::time::interval(PING_INTERVAL);
            ping.tick().await;
            let reason = loop {
                tokio::select! {
                    quit = &mut waiting => break format!("connection closed ({})", describe_quit(quit)),
                    Some(()) = refresh_rx.recv() => {
                        match list_all(&peer).await {
                            Ok((tools, prompts, resources)) => {
                                tracing::info!(backend = %self.config.name, tools = tools.len(), "lists changed");
                                let progress = Arc::clone(&live_progress);
                                let callers = Arc::clone(&live_callers);
                                let lane = live_lane.clone();
                                self.set(State::Up(Arc::new(Live { peer: peer.clone(), tools, prompts, resources, pid, progress, callers, lane })));
                            }
                            Err(e) => tracing::warn!(backend = %self.config.name, "refreshing lists failed: {e}"),
                        }
                    }
                    _ = renew(renew_at) => break RENEWING.to_owned(),
                    _ = ping.tick() => {
                        let ping = peer.send_request(ClientRequest::PingRequest(PingRequest::default()));
                        match tokio::time::timeout(PING_TIMEOUT, ping).await {
                            Ok(Ok(_)) => {}
                            Ok(Err(e)) => break format!("ping failed: {e}"),
                            Err(_) => break format!("no answer to ping within {}s", PING_TIMEOUT.as_secs()),
                        }
                    }
                    _ = shutdown.changed() => {
                        cancel.cancel();
                        let _ = tokio::time::timeout(Duration::from_secs(5), waiting).await;
                        self.set(State::Stopped);
                        return;
                    }
                }
            };
            cancel.cancel();
            drop(waiting);
            if reason == RENEWING {
                tracing::info!(backend = %self.config.name, "reconnecting with a fresh token");
                continue;
            }
            tracing::warn!(backend = %self.config.name, "backend down: {reason}; reconnecting in {backoff:?}");
            self.set(State::Down(reason));
            if started.elapsed() >= STABLE_AFTER {
                backoff = self.config.backoff_initial;
            }
            if sleep_or_shutdown(backoff, &mut shutdown).await {
                break;
            }
            backoff = (backoff * 2).min(self.config.backoff_max);
        }
        if let Some(f) = first.take() {
            let _ = f.send(());
        }
        self.set(State::Stopped);
    }

    async fn open(
        &self,
        client: BackendClient,
        progress: Arc<ProgressRoutes>,
        callers: Arc<Callers>,
    ) -> Result<Opened, String> {
        let auth = self.outgoing.for_connection().await?;
        let connection = connect(&self.config, client, auth.header, auth.mcp, None).await?;
        let (service, live) = self
            .listed(
                connection,
                progress,
                callers,
                Arc::clone(&self.clients),
                None,
            )
            .await?;
        Ok((service, live, auth.renew_at))
    }

    /// Lists what a new `connection` offers and wraps it as a [`Live`]; its
    /// fast lane (HTTP) relays log messages to `log_to` and, for a caller's
    /// session, sends the token in `token`.
    async fn listed(
        &self,
        connection: connect::Connection,
        progress: Arc<ProgressRoutes>,
        callers: Arc<Callers>,
        log_to: Arc<Clients>,
        token: Option<reuse::TokenSlot>,
    ) -> Result<(Service, Live), String> {
        let peer = connection.service.peer().clone();
        let (tools, prompts, resources) = list_all(&peer)
            .await
            .map_err(|e| format!("listing its tools, prompts and resources failed: {e}"))?;
        let lane = connection.lane.and_then(|(http, url, headers)| {
            Lane::new(&self.config.name, &url, http, headers, log_to, token).map(Arc::new)
        });
        let live = Live {
            peer,
            tools,
            prompts,
            resources,
            pid: connection.pid,
            progress,
            callers,
            lane,
        };
        Ok((connection.service, live))
    }
}

fn describe_quit(quit: Result<rmcp::service::QuitReason, tokio::task::JoinError>) -> String {
    match quit {
        Ok(reason) => format!("{reason:?}"),
        Err(e) => format!("task failed: {e}"),
    }
}

/// Resolves at `at` (never without one).
async fn renew(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at.into()).await,
        None => std::future::pending().await,
    }
}

/// Sleeps `delay`; true when shutdown was requested meanwhile.
async fn sleep_or_shutdown(delay: Duration, shutdown: &mut watch::Receiver<bool>) -> bool {
    tokio::select! {
        _ = tokio::time::sleep(delay) => *shutdown.borrow(),
        _ = shutdown.changed() => true,
    }
}

type Lists = (Vec<Tool>, Vec<Prompt>, Vec<Resource>);
/// A running connection to a backend.
type Service = rmcp::service::RunningService<RoleClient, BackendClient>;
type Opened = (Service, Live, Option<Instant>);

async fn list_all(peer: &Peer<RoleClient>) -> Result<Lists, ServiceError> {
    let caps = peer.peer_info().map(|info| info.capabilities.clone());
    let Some(caps) = caps else {
        return Ok((Vec::new(), Vec::new(), Vec::new()));
    };
    let tools = if caps.tools.is_some() {
        peer.list_all_tools().await?
    } else {
        Vec::new()
    };
    let prompts = if caps.prompts.is_some() {
        peer.list_all_prompts().await?
    } else {
        Vec::new()
    };
    let resources = if caps.resources.is_some() {
        peer.list_all_resources().await?
    } else {
        Vec::new()
    };
    Ok((tools, prompts, resources))
}

/// All backends, their supervisors, and the change counter the aggregate watches.
pub(crate) struct Backends {
    pub(crate) list: Vec<Arc<Backend>>,
    /// The gateway's connected clients (relayed list changes and log messages).
    pub(crate) clients: Arc<Clients>,
    generation: Arc<watch::Sender<u64>>,
    shutdown: watch::Sender<bool>,
    tasks: std::sync::Mutex<Vec<JoinHandle<()>>>,
    first_attempts: tokio::sync::Mutex<Vec<oneshot::Receiver<()>>>,
}

impl Backends {
    /// Starts one supervisor per backend (returns at once).
    pub(crate) fn start(configs: &[BackendConfig]) -> Result<Self, crate::ProxyError> {
        let generation = Arc::new(watch::channel(0u64).0);
        let clients = Arc::new(Clients::default());
        let (shutdown, shutdown_rx) = watch::channel(false);
        let mut list = Vec::new();
        let mut tasks = Vec::new();
        let mut first_attempts = Vec::new();
        for config in configs {
            let outgoing = Outgoing::build(&config.credentials).map_err(|message| {
                crate::ProxyError::Backend {
                    backend: config.name.clone(),
                    message,
                }
            })?;
            let per_caller = config.credentials.per_caller();
            let backend = Arc::new(Backend {
                config: config.clone(),
                outgoing,
                state: RwLock::new(if per_caller {
                    State::OnDemand
                } else {
                    State::Starting
                }),
                restarts: std::sync::atomic::AtomicU64::new(0),
                generation: Arc::clone(&generation),
                clients: Arc::clone(&clients),
                per_caller: per_caller.then(per_caller::CallerSessions::default),
                shutdown: shutdown_rx.clone(),
            });
            if per_caller {
                // Sessions open when callers come; nothing to supervise.
                list.push(backend);
                continue;
            }
            let (tx, rx) = oneshot::channel();
            first_attempts.push(rx);
            tasks.push(tokio::spawn(
                Arc::clone(&backend).run(shutdown_rx.clone(), tx),
            ));
            list.push(backend);
        }
        Ok(Backends {
            list,
            clients,
            generation,
            shutdown,
            tasks: std::sync::Mutex::new(tasks),
            first_attempts: tokio::sync::Mutex::new(first_attempts),
        })
    }

    /// Waits until every backend made its first connection attempt (success or not).
    pub(crate) async fn first_attempts(&self) {
        let receivers = std::mem::take(&mut *self.first_attempts.lock().await);
        for rx in receivers {
            let _ = rx.await;
        }
    }

    /// A receiver that changes whenever any backend's state or lists change.
    pub(crate) fn subscribe(&self) -> watch::Receiver<u64> {
        self.generation.subscribe()
    }

    /// Stops every backend (closing connections, ending children) and waits for them.
    pub(crate) async fn shutdown(&self) {
        let _ = self.shutdown.send(true);
        let tasks = match self.tasks.lock() {
            Ok(mut guard) => std::mem::take(&mut *guard),
            Err(_) => Vec::new(),
        };
        for task in tasks {
            let _ = task.await;
        }
    }

    /// Status of every backend, in config order.
    pub(crate) fn status(&self) -> Vec<BackendStatus> {
        self.list.iter().map(|b| b.status()).collect()
    }
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}
