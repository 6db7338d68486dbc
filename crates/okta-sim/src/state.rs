//! The simulator's shared state: servers and their keys, users, clients, controls and stores.

use std::collections::{HashMap, HashSet};
use std::sync::{Mutex, MutexGuard, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::Duration;

use crate::client_auth::{ClientKeys, ReplayStore};
use crate::config::{AuthServerId, CompiledGroupsClaim, RefreshTokenRotation, SimUser};
use crate::controls::Controls;
use crate::keys::KeySet;
use crate::tokens::RefreshStore;

/// OIDC scopes every Okta authorization server has.
pub(crate) const OIDC_SCOPES: [&str; 6] = [
    "openid",
    "profile",
    "email",
    "address",
    "phone",
    "offline_access",
];

/// Everything the HTTP handlers and the control API share.
#[derive(Debug)]
pub(crate) struct SimState {
    pub(crate) base_url: String,
    pub(crate) org: ServerState,
    pub(crate) custom: HashMap<String, ServerState>,
    pub(crate) users: HashMap<String, SimUser>,
    pub(crate) deactivated: RwLock<HashSet<String>>,
    pub(crate) clients: HashMap<String, ClientRecord>,
    pub(crate) controls: Controls,
    pub(crate) replay: Mutex<ReplayStore>,
    pub(crate) refresh_tokens: Mutex<RefreshStore>,
    pub(crate) jwks_max_age: Duration,
    pub(crate) cross_app: crate::grants::CrossAppState,
    /// Authorization codes issued at `/v1/authorize`.
    pub(crate) codes: Mutex<crate::codes::CodeStore>,
    /// Clients registered through `/oauth2/v1/clients` (RFC 7591).
    pub(crate) registry: crate::registry::ClientRegistry,
}

impl SimState {
    /// The server named by `id`, if configured.
    pub(crate) fn server(&self, id: &AuthServerId) -> Option<&ServerState> {
        match id {
            AuthServerId::Org => Some(&self.org),
            AuthServerId::Custom(id) => self.custom.get(id),
        }
    }

    /// A configured or dynamically registered client.
    pub(crate) fn client(&self, client_id: &str) -> Option<&ClientRecord> {
        self.clients
            .get(client_id)
            .or_else(|| self.registry.get(client_id))
    }

    /// Whether the user exists and has not been deactivated.
    pub(crate) fn active_user(&self, login: &str) -> Option<&SimUser> {
        let user = self.users.get(login)?;
        if read(&self.deactivated).contains(login) {
            None
        } else {
            Some(user)
        }
    }
}

/// One authorization server (org or custom) with its resolved settings and keys.
#[derive(Debug)]
pub(crate) struct ServerState {
    pub(crate) id: AuthServerId,
    pub(crate) issuer: String,
    /// `{base}/oauth2` for the org server, the issuer for custom servers.
    pub(crate) endpoint_base: String,
    pub(crate) audience: String,
    /// Every scope this server knows (custom scopes followed by the OIDC scopes).
    pub(crate) scopes: Vec<String>,
    pub(crate) default_scopes: Vec<String>,
    /// Org server: applies to ID tokens. Custom servers: applies to access tokens.
    pub(crate) groups_claim: Option<CompiledGroupsClaim>,
    pub(crate) access_token_ttl: Duration,
    pub(crate) id_token_ttl: Duration,
    pub(crate) refresh_token_ttl: Duration,
    pub(crate) keys: RwLock<KeySet>,
    /// RFC 8707 resources (besides `audience`) this server issues tokens for.
    /// Grows at run time through [`crate::OktaSim::allow_resource`].
    pub(crate) resources: RwLock<Vec<String>>,
    /// The org's dynamic client registration endpoint (RFC 7591).
    pub(crate) registration_endpoint: String,
}

impl ServerState {
    pub(crate) fn is_org(&self) -> bool {
        self.id == AuthServerId::Org
    }

    pub(crate) fn token_endpoint(&self) -> String {
        format!("{}/v1/token", self.endpoint_base)
    }

    pub(crate) fn jwks_uri(&self) -> String {
        format!("{}/v1/keys", self.endpoint_base)
    }

    pub(crate) fn authorization_endpoint(&self) -> String {
        format!("{}/v1/authorize", self.endpoint_base)
    }

    pub(crate) fn has_scope(&self, scope: &str) -> bool {
        self.scopes.iter().any(|s| s == scope)
    }
}

/// A configured client with its parsed credentials.
#[derive(Debug)]
pub(crate) struct ClientRecord {
    pub(crate) config: crate::config::SimClient,
    /// Parsed public keys for `private_key_jwt` clients.
    pub(crate) keys: Option<ClientKeys>,
}

impl ClientRecord {
    pub(crate) fn refresh_rotation(&self) -> RefreshTokenRotation {
        self.config.refresh_rotation
    }
}

/// Locks a mutex, recovering the data if a panicking thread poisoned it (state stays usable).
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Read-locks an `RwLock`, recovering from poisoning.
pub(crate) fn read<T>(lock: &RwLock<T>) -> RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(PoisonError::into_inner)
}

/// Write-locks an `RwLock`, recovering from poisoning.
pub(crate) fn write<T>(lock: &RwLock<T>) -> RwLockWriteGuard<'_, T> {
    lock.write().unwrap_or_else(PoisonError::into_inner)
}
