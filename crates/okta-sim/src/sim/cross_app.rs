//! Controls for cross-app access (ID-JAG): managed connections and consent.

use std::time::Duration;

use serde_json::{Map, json};

use super::OktaSim;
use crate::error::Error;
use crate::state::{lock, read};
use crate::tokens::{KidHeader, encode_jwt, random_id, unix_now};

impl OktaSim {
    /// Lets `client_id` exchange users' ID tokens at the org server for ID-JAGs whose
    /// audience is custom server `auth_server_id` (an Okta "managed connection" of an AI
    /// agent to an authorization server). Without one the exchange answers `invalid_target`.
    pub fn add_managed_connection(
        &self,
        client_id: impl Into<String>,
        auth_server_id: impl Into<String>,
    ) {
        lock(&self.state.cross_app.managed).insert((client_id.into(), auth_server_id.into()));
    }

    /// Removes a managed connection added with [`OktaSim::add_managed_connection`].
    pub fn remove_managed_connection(&self, client_id: &str, auth_server_id: &str) {
        lock(&self.state.cross_app.managed)
            .remove(&(client_id.to_owned(), auth_server_id.to_owned()));
    }

    /// While `consent_url` is `Some`, token exchanges for custom server `auth_server_id`
    /// answer `interaction_required` with `interaction_uri` = the URL (the user has not
    /// consented yet, as in Okta's brokered consent); `None` means consent was given.
    pub fn set_consent_required(
        &self,
        auth_server_id: impl Into<String>,
        consent_url: Option<String>,
    ) {
        let mut map = lock(&self.state.cross_app.consent_required);
        match consent_url {
            Some(url) => map.insert(auth_server_id.into(), url),
            None => map.remove(&auth_server_id.into()),
        };
    }

    /// Mints an org-server ID token for user `login` issued to `client_id` that expires
    /// `expires_in` from now, or — with `expired` — that expired `expires_in` ago (for
    /// "expired subject token" tests of the token exchange).
    pub fn mint_org_id_token(
        &self,
        login: &str,
        client_id: &str,
        expires_in: Duration,
        expired: bool,
    ) -> Result<String, Error> {
        let user = self
            .state
            .users
            .get(login)
            .ok_or_else(|| Error::UnknownUser(login.to_owned()))?;
        let now = unix_now();
        let offset = i64::try_from(expires_in.as_secs()).unwrap_or(i64::MAX / 2);
        let exp = if expired { now - offset } else { now + offset };
        let mut claims = Map::new();
        claims.insert("ver".into(), json!(1));
        claims.insert("jti".into(), json!(format!("ID.{}", random_id(16)?)));
        claims.insert("iss".into(), json!(self.state.org.issuer));
        claims.insert("sub".into(), json!(user.user_id()));
        claims.insert("aud".into(), json!(client_id));
        claims.insert("iat".into(), json!(exp.min(now) - 60));
        claims.insert("exp".into(), json!(exp));
        claims.insert("auth_time".into(), json!(exp.min(now) - 60));
        claims.insert("preferred_username".into(), json!(user.login()));
        let key = read(&self.state.org.keys).current();
        encode_jwt(&key, &KidHeader::Signing, None, &claims)
    }
}
