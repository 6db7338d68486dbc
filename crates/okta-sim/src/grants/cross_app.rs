//! Shared state of cross-app access (ID-JAG): managed connections, consent switches, and the
//! key cache, ID-token verifier and per-server [`id_jag::IdJagValidator`]s built on first use.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;

use id_jag::IdJagValidator;
use okta_auth::{JwksCache, Verifier};
use tokio::sync::OnceCell;

use crate::http::errors::OAuthError;
use crate::state::{SimState, lock};

/// Managed connections and consent switches (set through [`crate::OktaSim`] controls), plus
/// lazily built verifiers.
#[derive(Default)]
pub(crate) struct CrossAppState {
    /// `(client id, custom server id)` pairs that may get ID-JAGs for that server.
    pub(crate) managed: Mutex<HashSet<(String, String)>>,
    /// Custom server id -> consent URL: exchanges for that audience answer
    /// `interaction_required` until cleared.
    pub(crate) consent_required: Mutex<HashMap<String, String>>,
    verifiers: OnceCell<Verifiers>,
}

impl std::fmt::Debug for CrossAppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CrossAppState")
            .field("managed", &*lock(&self.managed))
            .field("consent_required", &*lock(&self.consent_required))
            .finish_non_exhaustive()
    }
}

/// Verifiers that use the org server's published keys, fetched over HTTP like any relying
/// party would (so key rotation and outages behave as for real clients).
pub(crate) struct Verifiers {
    /// Verifies org ID tokens presented as `subject_token`.
    pub(crate) id_tokens: Verifier,
    /// One ID-JAG validator per custom server issuer (each with its own replay store).
    pub(crate) id_jags: HashMap<String, IdJagValidator>,
}

impl CrossAppState {
    /// Whether `client_id` has a managed connection to custom server `server_id`.
    pub(crate) fn is_managed(&self, client_id: &str, server_id: &str) -> bool {
        lock(&self.managed).contains(&(client_id.to_owned(), server_id.to_owned()))
    }

    /// The consent URL, when consent is required for `server_id`.
    pub(crate) fn consent_url(&self, server_id: &str) -> Option<String> {
        lock(&self.consent_required).get(server_id).cloned()
    }

    /// The verifiers, built on first use. A failure (e.g. the org keys cannot be fetched
    /// during an outage) is an error for this request and retried on the next.
    pub(crate) async fn verifiers(&self, state: &SimState) -> Result<&Verifiers, OAuthError> {
        self.verifiers
            .get_or_try_init(|| build_verifiers(state))
            .await
            .map_err(|e| {
                OAuthError::temporarily_unavailable(format!(
                    "The org signing keys are unavailable: {e}"
                ))
            })
    }
}

async fn build_verifiers(state: &SimState) -> Result<Verifiers, String> {
    let jwks = JwksCache::builder()
        .jwks_uri(state.org.jwks_uri())
        .build()
        .await
        .map_err(|e| e.to_string())?;
    let id_tokens = Verifier::builder(jwks.clone())
        .issuer(state.org.issuer.clone())
        .audiences(state.clients.keys().cloned())
        .cache_capacity(0)
        .build()
        .map_err(|e| e.to_string())?;
    let mut id_jags = HashMap::new();
    for server in state.custom.values() {
        let validator = IdJagValidator::builder(server.issuer.clone())
            .trust(state.org.issuer.clone(), jwks.clone())
            .build()
            .map_err(|e| e.to_string())?;
        id_jags.insert(server.issuer.clone(), validator);
    }
    Ok(Verifiers { id_tokens, id_jags })
}
