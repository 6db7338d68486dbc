//! Backend sessions of one caller each, for credentials that depend on who
//! calls (`passthrough`, `id_jag`).
//!
//! A spec-following MCP server binds a session to the user who opened it, so
//! one shared session cannot carry several users' tokens. Each caller (the
//! verified token's `iss` + `sub`) gets a session of its own, opened on its
//! first list or call and closed after [`IDLE_LIMIT`] without use or when the
//! gateway stops. The session sends whatever token the front last put in its
//! [`TokenSlot`], so a renewed caller token needs no new session. The first
//! session to come up (and any whose lists differ) publishes the backend's
//! tools, prompts and resources to the catalog; its peer is never used for
//! another caller's requests.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use std::sync::atomic::{AtomicBool, Ordering};

use tokio::sync::mpsc;

use super::client::{BackendClient, Clients, ProgressRoutes};
use super::connect::connect;
use super::relay::Callers;
use super::reuse::TokenSlot;
use super::{Backend, CONNECT_TIMEOUT, Live, State};

/// A caller session unused this long is closed.
pub(crate) const IDLE_LIMIT: Duration = Duration::from_secs(600);
/// At most this many caller sessions per backend; more callers are refused
/// (fail closed) until idle ones close.
pub(crate) const MAX_SESSIONS: usize = 10_000;

/// The open caller sessions of one backend.
#[derive(Default)]
pub(crate) struct CallerSessions {
    slots: Mutex<HashMap<String, Slot>>,
}

/// One caller's place: locked while its session opens, so a caller's
/// concurrent first requests open one session.
type Slot = Arc<tokio::sync::Mutex<Option<Arc<CallerSession>>>>;

/// One caller's session with the backend.
pub(crate) struct CallerSession {
    live: Arc<Live>,
    token: TokenSlot,
    last_used: Mutex<Instant>,
    /// Set once the session has ended (or is ending).
    closed: AtomicBool,
}

impl CallerSession {
    fn touch(&self) {
        if let Ok(mut at) = self.last_used.lock() {
            *at = Instant::now();
        }
    }

    fn idle(&self) -> Duration {
        self.last_used
            .lock()
            .map(|at| at.elapsed())
            .unwrap_or_default()
    }
}

impl CallerSessions {
    /// Open sessions (for the backend's status).
    pub(crate) fn len(&self) -> usize {
        self.slots.lock().map(|s| s.len()).unwrap_or_default()
    }
}

impl Backend {
    /// The live session of the caller `key`, opened with `token` if it has
    /// none yet; an open session gets `token` for its next requests.
    pub(crate) async fn caller_session(
        self: &Arc<Self>,
        key: &str,
        token: &str,
    ) -> Result<Arc<Live>, String> {
        let Some(callers) = &self.per_caller else {
            return Err("this backend is shared, not per caller".to_owned());
        };
        let slot = {
            let mut slots = callers
                .slots
                .lock()
                .map_err(|_| "caller sessions unavailable".to_owned())?;
            if !slots.contains_key(key) && slots.len() >= MAX_SESSIONS {
                return Err(format!(
                    "too many caller sessions ({MAX_SESSIONS}); try again later"
                ));
            }
            Arc::clone(slots.entry(key.to_owned()).or_default())
        };
        let mut slot = slot.lock().await;
        if let Some(session) = slot.as_ref().filter(|s| !s.closed.load(Ordering::Acquire)) {
            session.token.set(token);
            session.touch();
            return Ok(Arc::clone(&session.live));
        }
        let session = tokio::time::timeout(CONNECT_TIMEOUT, self.open_caller(key, token))
            .await
            .unwrap_or_else(|_| Err(format!("no answer within {}s", CONNECT_TIMEOUT.as_secs())));
        let session = match session {
            Ok(session) => session,
            Err(reason) => {
                drop(slot);
                self.forget_caller(key, None);
                return Err(reason);
            }
        };
        let live = Arc::clone(&session.live);
        *slot = Some(session);
        self.publish_lists(&live);
        Ok(live)
    }

    /// Connects one caller's session and watches it until it ends, idles out
    /// or the gateway stops.
    async fn open_caller(
        self: &Arc<Self>,
        key: &str,
        token: &str,
    ) -> Result<Arc<CallerSession>, String> {
        // Log messages and list changes of a caller's session are not relayed:
        // they could reach other users; lists are read again on the next session.
        let (refresh, _) = mpsc::unbounded_channel();
        let progress = Arc::new(ProgressRoutes::default());
        let callers = Arc::new(Callers::default());
        let client = BackendClient::new(
            &self.config.name,
            refresh,
            Arc::clone(&progress),
            Arc::new(Clients::default()),
            Arc::clone(&callers),
        );
        let slot = TokenSlot::new(token.to_owned());
        let connection = connect(&self.config, client, None, None, Some(slot.clone())).await?;
        // Log messages of a caller's session are not relayed (see above).
        let (service, live) = self
            .listed(
                connection,
                progress,
                callers,
                Arc::new(Clients::default()),
                Some(slot.clone()),
            )
            .await?;
        let session = Arc::new(CallerSession {
            live: Arc::new(live),
            token: slot,
            last_used: Mutex::new(Instant::now()),
            closed: AtomicBool::new(false),
        });
        let watched = Arc::downgrade(&session);
        let backend = Arc::downgrade(self);
        let mut shutdown = self.shutdown.clone();
        let key = key.to_owned();
        tokio::spawn(async move {
            let cancel = service.cancellation_token();
            let mut waiting = Box::pin(service.waiting());
            let mut check = tokio::time::interval(IDLE_LIMIT / 10);
            let ended = loop {
                tokio::select! {
                    _ = &mut waiting => break true,
                    _ = check.tick() => {
                        if watched.upgrade().is_none_or(|s| s.idle() >= IDLE_LIMIT) {
                            break false;
                        }
                    }
                    _ = shutdown.changed() => break false,
                }
            };
            if let Some(session) = watched.upgrade() {
                session.closed.store(true, Ordering::Release);
            }
            if !ended {
                cancel.cancel();
                let _ = tokio::time::timeout(Duration::from_secs(5), waiting).await;
            }
            if let (Some(backend), Some(session)) = (backend.upgrade(), watched.upgrade()) {
                backend.forget_caller(&key, Some(&session));
            }
        });
        Ok(session)
    }

    /// Drops `key`'s slot (if it still holds `session`, or any when `None`).
    fn forget_caller(&self, key: &str, session: Option<&Arc<CallerSession>>) {
        let Some(callers) = &self.per_caller else {
            return;
        };
        let Ok(mut slots) = callers.slots.lock() else {
            return;
        };
        let Some(slot) = slots.get(key) else { return };
        let stale = match slot.try_lock() {
            Ok(guard) => match (guard.as_ref(), session) {
                (None, _) => true,
                (Some(current), Some(ended)) => Arc::ptr_eq(current, ended),
                (Some(_), None) => false,
            },
            // Someone is opening or using it right now: leave it.
            Err(_) => false,
        };
        if stale {
            slots.remove(key);
        }
    }

    /// Makes a caller session's lists the backend's catalog entries when they
    /// are new (first session, or the backend changed its lists).
    fn publish_lists(&self, live: &Arc<Live>) {
        let same = |current: &Live| {
            names(&current.tools, |t| t.name.as_ref()) == names(&live.tools, |t| t.name.as_ref())
                && names(&current.prompts, |p| p.name.as_str())
                    == names(&live.prompts, |p| p.name.as_str())
                && names(&current.resources, |r| r.uri.as_str())
                    == names(&live.resources, |r| r.uri.as_str())
        };
        if self.live().is_some_and(|current| same(&current)) {
            return;
        }
        self.set(State::Up(Arc::clone(live)));
    }

    /// Whether this backend opens a session per caller.
    pub(crate) fn is_per_caller(&self) -> bool {
        self.per_caller.is_some()
    }

    /// Open caller sessions (0 for a shared backend).
    pub(crate) fn caller_sessions(&self) -> usize {
        self.per_caller.as_ref().map_or(0, CallerSessions::len)
    }
}

fn names<'a, T>(items: &'a [T], key: impl Fn(&'a T) -> &'a str) -> Vec<&'a str> {
    items.iter().map(key).collect()
}
