//! [`AccessTokenSpec`]: tokens minted directly for tests (expired, future `nbf`, custom claims).

use std::time::Duration;

use serde_json::{Map, Value, json};

use super::claims::{IssueRequest, access_token_claims, secs};
use super::{KidHeader, encode_jwt, unix_now};
use crate::error::Error;
use crate::state::{ServerState, SimState, read};

/// The client id put in `cid` of minted user tokens unless [`AccessTokenSpec::client_id`] is set.
pub const MINTED_CLIENT_ID: &str = "okta-sim-minted";

/// Describes an access token to mint with [`crate::OktaSim::mint_access_token`], signed by the
/// server's current key with exactly the claims a token-endpoint token would have, then
/// adjusted as described. Tests use it for expired tokens, `nbf` in the future, foreign
/// audiences, odd `kid` headers and custom claims without a round trip through a grant.
///
/// ```
/// use std::time::Duration;
/// use okta_sim::AccessTokenSpec;
/// let expired = AccessTokenSpec::for_user("alice")
///     .scopes(["mcp:read"])
///     .expired_since(Duration::from_secs(120));
/// let service = AccessTokenSpec::for_client("agent")
///     .audience("api://other")
///     .claim("custom", serde_json::json!(1));
/// # let _ = (expired, service);
/// ```
#[derive(Debug, Clone)]
pub struct AccessTokenSpec {
    subject: Subject,
    client_id: Option<String>,
    scopes: Vec<String>,
    audience: Option<Value>,
    issuer: Option<String>,
    expiry: Expiry,
    not_before: Option<Duration>,
    groups: Option<Vec<String>>,
    kid: KidHeader,
    typ: Option<String>,
    extra: Map<String, Value>,
    removed: Vec<String>,
}

#[derive(Debug, Clone)]
enum Subject {
    User(String),
    Client(String),
}

#[derive(Debug, Clone, Copy)]
enum Expiry {
    ServerDefault,
    In(Duration),
    Since(Duration),
}

impl AccessTokenSpec {
    /// A user token for a configured user (`sub` = login, `uid`, `groups` per the server's
    /// groups claim rule). Minting for an unknown login fails with [`Error::UnknownUser`];
    /// deactivated users can still be minted for.
    pub fn for_user(login: impl Into<String>) -> Self {
        Self::new(Subject::User(login.into()))
    }

    /// A client-credentials token (`sub` = `cid` = `client_id`; the client need not exist).
    pub fn for_client(client_id: impl Into<String>) -> Self {
        Self::new(Subject::Client(client_id.into()))
    }

    fn new(subject: Subject) -> Self {
        Self {
            subject,
            client_id: None,
            scopes: Vec::new(),
            audience: None,
            issuer: None,
            expiry: Expiry::ServerDefault,
            not_before: None,
            groups: None,
            kid: KidHeader::Signing,
            typ: None,
            extra: Map::new(),
            removed: Vec::new(),
        }
    }

    /// The `cid` of a user token (default [`MINTED_CLIENT_ID`]).
    pub fn client_id(mut self, client_id: impl Into<String>) -> Self {
        self.client_id = Some(client_id.into());
        self
    }

    /// The `scp` array (default empty).
    pub fn scopes<I, S>(mut self, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.scopes = scopes.into_iter().map(Into::into).collect();
        self
    }

    /// A single `aud` string (default: the server's audience).
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        self.audience = Some(Value::String(audience.into()));
        self
    }

    /// `aud` as a JSON array of several audiences.
    pub fn audiences<I, S>(mut self, audiences: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let list: Vec<String> = audiences.into_iter().map(Into::into).collect();
        self.audience = Some(json!(list));
        self
    }

    /// Another `iss` (default: the server's issuer).
    pub fn issuer(mut self, issuer: impl Into<String>) -> Self {
        self.issuer = Some(issuer.into());
        self
    }

    /// `exp` = now + `ttl` (default: the server's access token lifetime).
    pub fn expires_in(mut self, ttl: Duration) -> Self {
        self.expiry = Expiry::In(ttl);
        self
    }

    /// An already expired token: `exp` = now − `ago`, `iat` = `exp` − the server's lifetime.
    pub fn expired_since(mut self, ago: Duration) -> Self {
        self.expiry = Expiry::Since(ago);
        self
    }

    /// Adds `nbf` = now + `delay` (a token not yet valid).
    pub fn not_before_in(mut self, delay: Duration) -> Self {
        self.not_before = Some(delay);
        self
    }

    /// Puts exactly these groups in the `groups` claim, bypassing the server's filter.
    pub fn groups<I, S>(mut self, groups: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.groups = Some(groups.into_iter().map(Into::into).collect());
        self
    }

    /// Puts this `kid` in the header instead of the signing key's (the signature is still
    /// made with the server's current key), e.g. to test unknown-`kid` handling.
    pub fn kid(mut self, kid: impl Into<String>) -> Self {
        self.kid = KidHeader::Custom(kid.into());
        self
    }

    /// Leaves `kid` out of the header.
    pub fn without_kid(mut self) -> Self {
        self.kid = KidHeader::Omit;
        self
    }

    /// Adds a `typ` header (Okta's access tokens have none), e.g. `at+jwt`.
    pub fn typ(mut self, typ: impl Into<String>) -> Self {
        self.typ = Some(typ.into());
        self
    }

    /// Sets a claim, replacing a standard one of the same name (applied after all else).
    pub fn claim(mut self, name: impl Into<String>, value: Value) -> Self {
        self.extra.insert(name.into(), value);
        self
    }

    /// Removes a claim from the token (e.g. `exp` to test a verifier's required claims).
    pub fn remove_claim(mut self, name: impl Into<String>) -> Self {
        self.removed.push(name.into());
        self
    }
}

/// Mints `spec` on `server` with its current signing key.
pub(crate) fn mint_access_token(
    state: &SimState,
    server: &ServerState,
    spec: AccessTokenSpec,
) -> Result<String, Error> {
    let now = unix_now();
    let (user, client_id) = match &spec.subject {
        Subject::User(login) => {
            let user = state
                .users
                .get(login)
                .ok_or_else(|| Error::UnknownUser(login.clone()))?;
            (
                Some(user),
                spec.client_id
                    .clone()
                    .unwrap_or_else(|| MINTED_CLIENT_ID.to_owned()),
            )
        }
        Subject::Client(id) => (None, id.clone()),
    };
    let request = IssueRequest {
        server,
        client_id: &client_id,
        user,
        scopes: &spec.scopes,
        auth_time: now,
        nonce: None,
    };
    let mut claims = access_token_claims(&request, now)?;
    if let Some(audience) = spec.audience {
        claims.insert("aud".into(), audience);
    }
    if let Some(issuer) = spec.issuer {
        claims.insert("iss".into(), json!(issuer));
    }
    match spec.expiry {
        Expiry::ServerDefault => {}
        Expiry::In(ttl) => {
            claims.insert("exp".into(), json!(now.saturating_add(secs(ttl))));
        }
        Expiry::Since(ago) => {
            let exp = now.saturating_sub(secs(ago));
            claims.insert("exp".into(), json!(exp));
            claims.insert(
                "iat".into(),
                json!(exp.saturating_sub(secs(server.access_token_ttl))),
            );
        }
    }
    if let Some(delay) = spec.not_before {
        claims.insert("nbf".into(), json!(now.saturating_add(secs(delay))));
    }
    if let Some(groups) = spec.groups {
        claims.insert("groups".into(), json!(groups));
    }
    claims.extend(spec.extra);
    for name in &spec.removed {
        claims.remove(name);
    }
    let key = read(&server.keys).current();
    encode_jwt(&key, &spec.kid, spec.typ.as_deref(), &claims)
}
