//! [`OktaSimBuilder`]: configure users, clients and servers, then start the simulator.

use std::collections::{HashMap, HashSet};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use crate::client_auth::{ClientKeys, ReplayStore};
use crate::config::{AuthServer, AuthServerId, ClientCredential, GroupsClaim, SimClient, SimUser};
use crate::controls::Controls;
use crate::error::Error;
use crate::keys::{KeySet, SigningKey};
use crate::sim::OktaSim;
use crate::state::{ClientRecord, OIDC_SCOPES, ServerState, SimState};
use crate::tokens::RefreshStore;

/// The id of the custom server every simulated org has.
pub const DEFAULT_AUTH_SERVER: &str = "default";

/// Configures and starts an [`OktaSim`]. Created by [`OktaSim::builder`].
///
/// ```
/// # async fn demo() -> Result<(), okta_sim::Error> {
/// use okta_sim::{AuthServer, GroupsClaim, OktaSim, SimClient, SimUser};
/// let sim = OktaSim::builder()
///     .user(SimUser::new("alice", "pw-alice").groups(["mcp-developers"]))
///     .client(SimClient::secret("agent", "agent-secret"))
///     .auth_server(AuthServer::new("default").scopes(["mcp:read"])
///         .groups_claim(GroupsClaim::starts_with("mcp-")))
///     .start()
///     .await?;
/// # drop(sim); Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct OktaSimBuilder {
    listen: SocketAddr,
    public_base_url: Option<String>,
    users: Vec<SimUser>,
    clients: Vec<SimClient>,
    servers: Vec<AuthServer>,
    jwks_max_age: Duration,
    org_groups_claim: GroupsClaim,
    org_access_token_ttl: Duration,
    authorization_code_ttl: Duration,
    max_registered_clients: usize,
}

impl Default for OktaSimBuilder {
    fn default() -> Self {
        Self {
            listen: SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0),
            public_base_url: None,
            users: Vec::new(),
            clients: Vec::new(),
            servers: Vec::new(),
            jwks_max_age: Duration::from_secs(300),
            org_groups_claim: GroupsClaim::all(),
            org_access_token_ttl: Duration::from_secs(3600),
            authorization_code_ttl: crate::codes::DEFAULT_CODE_TTL,
            max_registered_clients: crate::registry::DEFAULT_MAX_REGISTERED,
        }
    }
}

impl OktaSimBuilder {
    /// The address to listen on (default `127.0.0.1:0`: a random free port on loopback).
    pub fn listen(mut self, addr: SocketAddr) -> Self {
        self.listen = addr;
        self
    }

    /// The org URL to advertise as issuer and in discovery documents instead of
    /// `http://{bound address}` (e.g. when the simulator is reached through a proxy).
    /// A trailing `/` is removed.
    pub fn public_base_url(mut self, url: impl Into<String>) -> Self {
        let url: String = url.into();
        self.public_base_url = Some(url.trim_end_matches('/').to_owned());
        self
    }

    /// Adds a user. Logins must be unique.
    pub fn user(mut self, user: SimUser) -> Self {
        self.users.push(user);
        self
    }

    /// Adds a client. Client ids must be unique.
    pub fn client(mut self, client: SimClient) -> Self {
        self.clients.push(client);
        self
    }

    /// Adds a custom authorization server (one with id `default` replaces the stock one).
    pub fn auth_server(mut self, server: AuthServer) -> Self {
        self.servers.push(server);
        self
    }

    /// The `Cache-Control: max-age` of every JWKS response (default 300 s).
    pub fn jwks_max_age(mut self, max_age: Duration) -> Self {
        self.jwks_max_age = max_age;
        self
    }

    /// The groups claim of the org server's ID tokens (default [`GroupsClaim::all`]; the
    /// org server never puts groups in access tokens, as on Okta).
    pub fn org_groups_claim(mut self, claim: GroupsClaim) -> Self {
        self.org_groups_claim = claim;
        self
    }

    /// Lifetime of the org server's access and ID tokens (default 1 hour).
    pub fn org_token_ttl(mut self, ttl: Duration) -> Self {
        self.org_access_token_ttl = ttl;
        self
    }

    /// Lifetime of authorization codes issued at `/v1/authorize` (default 60 s, as Okta).
    pub fn authorization_code_ttl(mut self, ttl: Duration) -> Self {
        self.authorization_code_ttl = ttl;
        self
    }

    /// How many clients may register through dynamic client registration
    /// (`POST /oauth2/v1/clients`, default 1000, at most 100 000); further registrations
    /// answer 503 `temporarily_unavailable`.
    pub fn max_registered_clients(mut self, max: usize) -> Self {
        self.max_registered_clients = max;
        self
    }

    /// Validates the configuration, generates one RSA-2048 key per server, binds the
    /// listener and starts serving on the current tokio runtime.
    ///
    /// # Errors
    /// [`Error::Config`] for an invalid configuration (duplicate ids, bad server id, bad
    /// client JWK, bad groups regex), [`Error::Bind`] if the address cannot be bound,
    /// [`Error::KeyGeneration`] if the crypto library fails.
    pub async fn start(self) -> Result<OktaSim, Error> {
        let plan = self.validate()?;
        let listener = tokio::net::TcpListener::bind(self.listen)
            .await
            .map_err(|source| Error::Bind {
                addr: self.listen,
                source,
            })?;
        let local_addr = listener.local_addr().map_err(|source| Error::Bind {
            addr: self.listen,
            source,
        })?;
        let base_url = match &self.public_base_url {
            Some(url) => url.clone(),
            None => format!("http://{}", advertised(local_addr)),
        };
        let key_count = plan.servers.len() + 1;
        let mut keys = tokio::task::spawn_blocking(move || generate_keys(key_count))
            .await
            .map_err(|_| Error::KeyGeneration)??;
        let org_key = keys.pop().ok_or(Error::KeyGeneration)?;
        let org = ServerState {
            id: AuthServerId::Org,
            issuer: base_url.clone(),
            endpoint_base: format!("{base_url}/oauth2"),
            audience: base_url.clone(),
            scopes: OIDC_SCOPES
                .iter()
                .map(|s| (*s).to_owned())
                .chain(["groups".to_owned()])
                .collect(),
            default_scopes: Vec::new(),
            groups_claim: self.org_groups_claim.compile()?,
            access_token_ttl: self.org_access_token_ttl,
            id_token_ttl: self.org_access_token_ttl,
            refresh_token_ttl: Duration::from_secs(7 * 24 * 3600),
            keys: RwLock::new(KeySet::new(org_key)),
            resources: RwLock::new(Vec::new()),
            registration_endpoint: format!("{base_url}/oauth2/v1/clients"),
        };
        let mut custom = HashMap::new();
        for (server, key) in plan.servers.into_iter().zip(keys) {
            let issuer = format!("{base_url}/oauth2/{}", server.id);
            let mut scopes = server.scopes.clone();
            for scope in OIDC_SCOPES {
                if !scopes.iter().any(|s| s == scope) {
                    scopes.push(scope.to_owned());
                }
            }
            let state = ServerState {
                id: AuthServerId::Custom(server.id.clone()),
                endpoint_base: issuer.clone(),
                issuer,
                audience: server
                    .audience
                    .clone()
                    .unwrap_or_else(|| format!("api://{}", server.id)),
                scopes,
                default_scopes: server.default_scopes.clone(),
                groups_claim: server.groups_claim.compile()?,
                access_token_ttl: server.access_token_ttl,
                id_token_ttl: server.id_token_ttl,
                refresh_token_ttl: server.refresh_token_ttl,
                keys: RwLock::new(KeySet::new(key)),
                resources: RwLock::new(server.resources.clone()),
                registration_endpoint: format!("{base_url}/oauth2/v1/clients"),
            };
            custom.insert(server.id, state);
        }
        let state = Arc::new(SimState {
            base_url,
            org,
            custom,
            users: plan.users,
            deactivated: RwLock::new(HashSet::new()),
            clients: plan.clients,
            controls: Controls::default(),
            replay: Mutex::new(ReplayStore::default()),
            refresh_tokens: Mutex::new(RefreshStore::default()),
            jwks_max_age: self.jwks_max_age,
            cross_app: crate::grants::CrossAppState::default(),
            codes: Mutex::new(crate::codes::CodeStore::new(self.authorization_code_ttl)),
            registry: crate::registry::ClientRegistry::new(self.max_registered_clients),
        });
        Ok(OktaSim::serve(state, listener, local_addr))
    }

    fn validate(&self) -> Result<Plan, Error> {
        let mut users = HashMap::new();
        for user in &self.users {
            if user.login.is_empty() {
                return Err(Error::Config("a user has an empty login".to_owned()));
            }
            if users.insert(user.login.clone(), user.clone()).is_some() {
                return Err(Error::Config(format!(
                    "user `{}` is configured twice",
                    user.login
                )));
            }
        }
        let mut clients = HashMap::new();
        for client in &self.clients {
            if client.id.is_empty() {
                return Err(Error::Config("a client has an empty client id".to_owned()));
            }
            let keys = match &client.credential {
                ClientCredential::Secret(secret) if secret.is_empty() => {
                    return Err(Error::Config(format!(
                        "client `{}` has an empty secret",
                        client.id
                    )));
                }
                ClientCredential::Secret(_) => None,
                ClientCredential::PublicJwk(jwk) => Some(ClientKeys::parse(&client.id, jwk)?),
                ClientCredential::None => None,
            };
            crate::grants::check_client_config(client)?;
            let record = ClientRecord {
                config: client.clone(),
                keys,
            };
            if clients.insert(client.id.clone(), record).is_some() {
                return Err(Error::Config(format!(
                    "client `{}` is configured twice",
                    client.id
                )));
            }
        }
        let mut servers: Vec<AuthServer> = Vec::new();
        for server in &self.servers {
            validate_server_id(&server.id)?;
            crate::grants::check_server_config(server)?;
            if servers.iter().any(|s| s.id == server.id) {
                return Err(Error::Config(format!(
                    "authorization server `{}` is configured twice",
                    server.id
                )));
            }
            servers.push(server.clone());
        }
        if !servers.iter().any(|s| s.id == DEFAULT_AUTH_SERVER) {
            servers.push(AuthServer::new(DEFAULT_AUTH_SERVER));
        }
        Ok(Plan {
            users,
            clients,
            servers,
        })
    }
}

struct Plan {
    users: HashMap<String, SimUser>,
    clients: HashMap<String, ClientRecord>,
    servers: Vec<AuthServer>,
}

fn validate_server_id(id: &str) -> Result<(), Error> {
    let valid_chars = id
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if id.is_empty() || id.len() > 64 || !valid_chars {
        return Err(Error::Config(format!(
            "authorization server id `{id}` must be 1-64 ASCII letters, digits, `-` or `_`"
        )));
    }
    if id == "v1" {
        return Err(Error::Config(
            "authorization server id `v1` would clash with the org server's /oauth2/v1 paths"
                .to_owned(),
        ));
    }
    Ok(())
}

/// Generates `count` keys, spreading the work over two threads (RSA generation dominates
/// start-up time).
fn generate_keys(count: usize) -> Result<Vec<SigningKey>, Error> {
    let half = count / 2;
    std::thread::scope(|scope| {
        let helper = std::thread::Builder::new()
            .name("okta-sim-keygen".to_owned())
            .spawn_scoped(scope, move || {
                (0..half)
                    .map(|_| SigningKey::generate())
                    .collect::<Result<Vec<_>, _>>()
            });
        let mut mine = (half..count)
            .map(|_| SigningKey::generate())
            .collect::<Result<Vec<_>, _>>()?;
        let theirs = match helper {
            Ok(handle) => handle.join().map_err(|_| Error::KeyGeneration)??,
            // No second thread available: generate the rest here.
            Err(_) => (0..half)
                .map(|_| SigningKey::generate())
                .collect::<Result<Vec<_>, _>>()?,
        };
        mine.extend(theirs);
        Ok(mine)
    })
}

/// The address to put in URLs: a wildcard bind is advertised as loopback.
fn advertised(addr: SocketAddr) -> SocketAddr {
    match addr.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => {
            SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), addr.port())
        }
        IpAddr::V6(ip) if ip.is_unspecified() => {
            SocketAddr::new(IpAddr::V6(Ipv6Addr::LOCALHOST), addr.port())
        }
        _ => addr,
    }
}

#[cfg(test)]
mod tests {
    use super::validate_server_id;

    #[test]
    fn server_ids_are_checked() {
        assert!(validate_server_id("default").is_ok());
        assert!(validate_server_id("aus1abc_X-2").is_ok());
        assert!(validate_server_id("").is_err());
        assert!(validate_server_id("a/b").is_err());
        assert!(validate_server_id("v1").is_err());
    }
}
