//! [`OktaSim`]: the running simulator's handle: URLs and test controls.

use std::collections::HashMap;
use std::fmt;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::watch;
use tokio::task::JoinHandle;

mod authorize;
mod cross_app;

use crate::builder::OktaSimBuilder;
use crate::config::{AuthServerId, KeyRotation, SimUser};
use crate::error::Error;
use crate::keys::SigningKey;
use crate::state::{SimState, lock, read, write};
use crate::tokens::{AccessTokenSpec, mint_access_token};

/// How long [`OktaSim::shutdown`] waits for open connections before aborting the server.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// A running Okta simulator on `127.0.0.1` (or the configured address).
///
/// Dropping the handle stops the server (open connections finish their current request);
/// [`OktaSim::shutdown`] does the same and waits for it.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), okta_sim::Error> {
/// use okta_sim::{AccessTokenSpec, OktaSim, SimUser};
/// let sim = OktaSim::builder().user(SimUser::new("alice", "pw")).start().await?;
/// let token = sim.mint_access_token("default", AccessTokenSpec::for_user("alice"))?;
/// assert!(sim.jwks_uri("default").ends_with("/oauth2/default/v1/keys"));
/// assert_eq!(token.split('.').count(), 3);
/// sim.shutdown().await;
/// # Ok(()) }
/// ```
pub struct OktaSim {
    state: Arc<SimState>,
    local_addr: SocketAddr,
    shutdown: watch::Sender<bool>,
    task: Option<JoinHandle<()>>,
}

impl fmt::Debug for OktaSim {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OktaSim")
            .field("base_url", &self.state.base_url)
            .field("local_addr", &self.local_addr)
            .finish_non_exhaustive()
    }
}

impl OktaSim {
    /// Starts configuring a simulator.
    pub fn builder() -> OktaSimBuilder {
        OktaSimBuilder::default()
    }

    pub(crate) fn serve(
        state: Arc<SimState>,
        listener: tokio::net::TcpListener,
        local_addr: SocketAddr,
    ) -> Self {
        let (shutdown, mut signal) = watch::channel(false);
        let app = crate::http::router(Arc::clone(&state));
        let task = tokio::spawn(async move {
            let stopped = async move {
                // Resolves when `true` is sent or the sender is gone.
                let _ = signal.wait_for(|stop| *stop).await;
            };
            if let Err(error) = axum::serve(listener, app)
                .with_graceful_shutdown(stopped)
                .await
            {
                tracing::error!(%error, "okta-sim server stopped with an error");
            }
        });
        tracing::debug!(base_url = %state.base_url, "okta-sim started");
        Self {
            state,
            local_addr,
            shutdown,
            task: Some(task),
        }
    }

    /// Stops the server and waits (up to 5 s) for open connections to finish.
    pub async fn shutdown(mut self) {
        let _ = self.shutdown.send(true);
        if let Some(mut task) = self.task.take()
            && tokio::time::timeout(SHUTDOWN_GRACE, &mut task)
                .await
                .is_err()
        {
            task.abort();
        }
    }

    // ----- URLs -------------------------------------------------------------------------

    /// The org URL, e.g. `http://127.0.0.1:PORT` (no trailing slash); the org issuer.
    pub fn base_url(&self) -> &str {
        &self.state.base_url
    }

    /// The socket address the server listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The org authorization server's issuer (same as [`OktaSim::base_url`]).
    pub fn org_issuer(&self) -> &str {
        &self.state.base_url
    }

    /// The org server's token endpoint, `{base}/oauth2/v1/token`.
    pub fn org_token_endpoint(&self) -> String {
        format!("{}/oauth2/v1/token", self.state.base_url)
    }

    /// The org server's JWKS, `{base}/oauth2/v1/keys`.
    pub fn org_jwks_uri(&self) -> String {
        format!("{}/oauth2/v1/keys", self.state.base_url)
    }

    /// A custom server's issuer, `{base}/oauth2/{id}` (whether or not it is configured).
    pub fn issuer(&self, server_id: &str) -> String {
        format!("{}/oauth2/{server_id}", self.state.base_url)
    }

    /// A custom server's token endpoint, `{base}/oauth2/{id}/v1/token`.
    pub fn token_endpoint(&self, server_id: &str) -> String {
        format!("{}/v1/token", self.issuer(server_id))
    }

    /// A custom server's JWKS, `{base}/oauth2/{id}/v1/keys`.
    pub fn jwks_uri(&self, server_id: &str) -> String {
        format!("{}/v1/keys", self.issuer(server_id))
    }

    /// A custom server's OIDC discovery document URL.
    pub fn openid_configuration_url(&self, server_id: &str) -> String {
        format!(
            "{}/.well-known/openid-configuration",
            self.issuer(server_id)
        )
    }

    /// The `aud` of a server's access tokens, if the server is configured.
    pub fn audience(&self, server: impl Into<AuthServerId>) -> Option<String> {
        self.state
            .server(&server.into())
            .map(|s| s.audience.clone())
    }

    // ----- Keys -------------------------------------------------------------------------

    /// Replaces a server's signing key with a fresh RSA-2048 key and returns the new `kid`.
    /// The old key stays in the JWKS for the grace period of [`KeyRotation::KeepOldFor`]
    /// (at most 8 retired keys are kept), or leaves it at once with [`KeyRotation::DropOld`].
    /// Generating the key takes a few milliseconds of CPU on the calling thread.
    ///
    /// # Errors
    /// [`Error::UnknownAuthServer`], or [`Error::KeyGeneration`].
    pub fn rotate_signing_key(
        &self,
        server: impl Into<AuthServerId>,
        rotation: KeyRotation,
    ) -> Result<String, Error> {
        let id = server.into();
        let server = self.state.server(&id).ok_or_else(|| unknown_server(&id))?;
        let next = SigningKey::generate()?;
        let kid = next.kid().to_owned();
        write(&server.keys).rotate(next, rotation, Instant::now());
        tracing::debug!(server = %id, %kid, "okta-sim rotated signing key");
        Ok(kid)
    }

    /// The `kid` currently signing tokens of a server, `None` if it is not configured.
    pub fn current_kid(&self, server: impl Into<AuthServerId>) -> Option<String> {
        let server = self.state.server(&server.into())?;
        Some(read(&server.keys).current().kid().to_owned())
    }

    /// The `kid` currently signing the org server's tokens.
    pub fn current_org_kid(&self) -> String {
        read(&self.state.org.keys).current().kid().to_owned()
    }

    // ----- Tokens -----------------------------------------------------------------------

    /// Mints an access token on `server` without a token request: same claims and key as
    /// the token endpoint would use, adjusted by `spec` (expiry, `nbf`, audience, claims…).
    ///
    /// # Errors
    /// [`Error::UnknownAuthServer`], [`Error::UnknownUser`] for a user spec naming an
    /// unconfigured login, [`Error::Signing`] if signing fails.
    pub fn mint_access_token(
        &self,
        server: impl Into<AuthServerId>,
        spec: AccessTokenSpec,
    ) -> Result<String, Error> {
        let id = server.into();
        let server = self.state.server(&id).ok_or_else(|| unknown_server(&id))?;
        mint_access_token(&self.state, server, spec)
    }

    // ----- Users ------------------------------------------------------------------------

    /// A configured user, by login.
    pub fn user(&self, login: &str) -> Option<&SimUser> {
        self.state.users.get(login)
    }

    /// Deactivates a user: password and refresh-token grants for them fail with
    /// `invalid_grant`, and their refresh tokens are revoked. Tokens already issued stay
    /// valid until they expire (JWTs cannot be recalled), as on Okta.
    ///
    /// # Errors
    /// [`Error::UnknownUser`].
    pub fn deactivate_user(&self, login: &str) -> Result<(), Error> {
        if !self.state.users.contains_key(login) {
            return Err(Error::UnknownUser(login.to_owned()));
        }
        write(&self.state.deactivated).insert(login.to_owned());
        lock(&self.state.refresh_tokens).revoke_user(login);
        Ok(())
    }

    /// Reactivates a deactivated user (their old refresh tokens stay revoked).
    ///
    /// # Errors
    /// [`Error::UnknownUser`].
    pub fn activate_user(&self, login: &str) -> Result<(), Error> {
        if !self.state.users.contains_key(login) {
            return Err(Error::UnknownUser(login.to_owned()));
        }
        write(&self.state.deactivated).remove(login);
        Ok(())
    }

    // ----- Switches and counters --------------------------------------------------------

    /// While on, every request (any path) is answered `503` with a
    /// `temporarily_unavailable` JSON error. Requests are still counted.
    pub fn set_outage(&self, on: bool) {
        self.state.controls.set_outage(on);
    }

    /// Adds this delay before every response (zero: none). Applies during outages too.
    pub fn set_latency(&self, latency: Duration) {
        self.state.controls.set_latency(latency);
    }

    /// How many requests reached `path` (e.g. `/oauth2/default/v1/keys`; no query string),
    /// including failed ones and those answered during an outage.
    ///
    /// At most 1024 distinct paths are counted; requests to further new paths are counted
    /// under `"<other>"`.
    pub fn request_count(&self, path: &str) -> u64 {
        self.state.controls.request_count(path)
    }

    /// All request counters by path.
    pub fn request_counts(&self) -> HashMap<String, u64> {
        self.state.controls.request_counts()
    }

    /// Sets every request counter back to zero.
    pub fn reset_counters(&self) {
        self.state.controls.reset_counters();
    }
}

impl Drop for OktaSim {
    fn drop(&mut self) {
        // Graceful: the server stops accepting and closes connections once idle.
        let _ = self.shutdown.send(true);
    }
}

fn unknown_server(id: &AuthServerId) -> Error {
    Error::UnknownAuthServer(id.to_string())
}
