//! The resource authorization server side: validating ID-JAGs presented with the
//! JWT-bearer grant (draft-ietf-oauth-identity-assertion-authz-grant).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use okta_auth::{JwksCache, Verifier};
use serde_json::{Map, Value, json};

use crate::replay::{ReplayCheck, ReplayStore};
use crate::{Error, Rejection};

/// The JOSE header `typ` of an ID-JAG.
pub const ID_JAG_TYP: &str = "oauth-id-jag+jwt";

/// Default number of remembered `jti`s.
pub const DEFAULT_REPLAY_CAPACITY: usize = 100_000;

/// Default clock leeway for `exp`/`iat`.
pub const DEFAULT_LEEWAY: Duration = Duration::from_secs(30);

/// The claims of a validated ID-JAG.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct IdJagClaims {
    /// `iss`: the IdP that issued the assertion.
    pub iss: String,
    /// `sub`: the user.
    pub sub: String,
    /// `client_id`: the client the assertion was issued to (equal to the authenticated client).
    pub client_id: String,
    /// `jti`: the assertion id (now used up).
    pub jti: String,
    /// `exp`, seconds since the epoch.
    pub exp: u64,
    /// `iat`, seconds since the epoch.
    pub iat: u64,
    /// Scopes from `scope` (space-separated), empty when absent.
    pub scopes: Vec<String>,
    /// `resource`: the RFC 8707 resource indicators, one for a string claim, each of an array
    /// claim in order; empty when absent. Any other shape is rejected as malformed.
    pub resources: Vec<String>,
    /// Every claim.
    pub raw: Map<String, Value>,
}

impl IdJagClaims {
    /// The scopes to grant: those of the assertion that `allowed` contains (all of `allowed`'s
    /// order is kept out; the assertion's order is kept).
    pub fn granted_scopes<S: AsRef<str>>(&self, allowed: &[S]) -> Vec<String> {
        self.scopes
            .iter()
            .filter(|s| allowed.iter().any(|a| a.as_ref() == s.as_str()))
            .cloned()
            .collect()
    }

    /// Claims for the access token this authorization server mints in exchange, shaped like
    /// Okta's: `ver`, `jti` (fresh), `iss` (this AS), `aud`, `iat`, `exp` (`lifetime` from
    /// now), `cid` (the client), `sub` and `uid`-less user subject, `scp` (an array).
    /// Sign them with your key; okta-sim does exactly that.
    pub fn access_token_claims(
        &self,
        issuer: &str,
        audience: &str,
        scopes: &[String],
        lifetime: Duration,
    ) -> Map<String, Value> {
        let now = now_secs();
        let mut claims = Map::new();
        claims.insert("ver".into(), json!(1));
        claims.insert(
            "jti".into(),
            json!(format!("AT.{}", uuid::Uuid::new_v4().simple())),
        );
        claims.insert("iss".into(), json!(issuer));
        claims.insert("aud".into(), json!(audience));
        claims.insert("iat".into(), json!(now));
        claims.insert("exp".into(), json!(now + lifetime.as_secs()));
        claims.insert("cid".into(), json!(self.client_id));
        claims.insert("sub".into(), json!(self.sub));
        claims.insert("scp".into(), json!(scopes));
        claims
    }
}

/// Validates ID-JAGs at a resource authorization server, as the draft requires:
/// JOSE `typ` = `oauth-id-jag+jwt`; signature by a trusted issuer's key (keys from
/// [`okta_auth::JwksCache`], algorithms from the key, never from the token); `iss` trusted;
/// `aud` = this server's issuer; `client_id` = the authenticated client; `exp` and `iat`
/// (with leeway); `iss`, `sub`, `aud`, `client_id`, `jti`, `exp`, `iat` present
/// ([`Rejection::MissingClaim`]); `resource` exposed whether a string or an array of URIs
/// (draft §3.1); `jti` not used before (kept until
/// the assertion expires, in a bounded store that refuses rather than forgets when full).
///
/// ```
/// use id_jag::{IdJagValidator, Rejection, Error};
/// use okta_auth::{JwksCache, SigningKey};
///
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let idp_key = SigningKey::generate_es256()?.with_kid("idp-1");
/// let jwks: jsonwebtoken::jwk::JwkSet =
///     serde_json::from_value(serde_json::json!({ "keys": [idp_key.public_jwk()] })).unwrap();
/// let validator = IdJagValidator::builder("https://mcp-as.example.com")
///     .trust("https://idp.example.com", JwksCache::from_jwks(&jwks)?)
///     .build()?;
/// let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
/// let claims = serde_json::json!({
///     "iss": "https://idp.example.com", "sub": "alice", "aud": "https://mcp-as.example.com",
///     "client_id": "agent", "jti": "j-1", "iat": now, "exp": now + 300, "scope": "mcp:connect",
/// });
/// let id_jag = idp_key.sign_jwt("oauth-id-jag+jwt", claims.as_object().unwrap())?;
///
/// let ok = validator.validate(&id_jag, "agent").await?;
/// assert_eq!(ok.sub, "alice");
/// // The same assertion again is a replay.
/// let err = validator.validate(&id_jag, "agent").await.unwrap_err();
/// assert!(matches!(err, Error::Rejected(Rejection::Replayed)));
/// # Ok::<(), Box<dyn std::error::Error>>(()) }).unwrap();
/// ```
#[derive(Clone)]
pub struct IdJagValidator {
    inner: Arc<Inner>,
}

struct Inner {
    issuer: String,
    verifiers: HashMap<String, Verifier>,
    replay: Mutex<ReplayStore>,
    leeway: Duration,
}

impl std::fmt::Debug for IdJagValidator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IdJagValidator")
            .field("issuer", &self.inner.issuer)
            .field("trusted", &self.inner.verifiers.keys().collect::<Vec<_>>())
            .field("leeway", &self.inner.leeway)
            .finish_non_exhaustive()
    }
}

/// Configures an [`IdJagValidator`].
#[must_use]
pub struct IdJagValidatorBuilder {
    issuer: String,
    trusted: Vec<(String, JwksCache)>,
    leeway: Duration,
    replay_capacity: usize,
}

impl IdJagValidatorBuilder {
    /// Trusts ID-JAGs from `issuer` (e.g. the Okta org, `https://{org}.okta.com`), verified
    /// with keys from `jwks` (e.g. `JwksCache::builder().issuer(issuer).build().await?`).
    pub fn trust(mut self, issuer: impl Into<String>, jwks: JwksCache) -> Self {
        self.trusted.push((issuer.into(), jwks));
        self
    }

    /// Clock leeway for `exp` and `iat` (default 30 s).
    pub fn leeway(mut self, leeway: Duration) -> Self {
        self.leeway = leeway;
        self
    }

    /// How many unexpired `jti`s to remember (default 100 000). When full, new assertions
    /// are refused ([`Rejection::ReplayStoreFull`]) rather than risking a replay.
    pub fn replay_capacity(mut self, capacity: usize) -> Self {
        self.replay_capacity = capacity;
        self
    }

    /// Builds the validator.
    pub fn build(self) -> Result<IdJagValidator, Error> {
        if self.trusted.is_empty() {
            return Err(Error::Config(
                "IdJagValidator trusts no issuer: call `.trust(issuer, jwks)`".into(),
            ));
        }
        let mut verifiers = HashMap::new();
        for (issuer, jwks) in self.trusted {
            let verifier = Verifier::builder(jwks)
                .issuer(issuer.clone())
                .audience(self.issuer.clone())
                .require_type([ID_JAG_TYP])
                .require_claims(["sub", "client_id", "jti", "iat"])
                .leeway(self.leeway)
                // Each assertion is single-use: caching verified results would only cost memory.
                .cache_capacity(0)
                .build()
                .map_err(|e| Error::Config(format!("trusted issuer {issuer}: {e}")))?;
            verifiers.insert(issuer, verifier);
        }
        Ok(IdJagValidator {
            inner: Arc::new(Inner {
                issuer: self.issuer,
                verifiers,
                replay: Mutex::new(ReplayStore::new(self.replay_capacity.max(1))),
                leeway: self.leeway,
            }),
        })
    }
}

fn rejected(r: Rejection) -> Error {
    Error::Rejected(r)
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Decodes the payload without verifying it: only to pick the issuer's keys, or to explain a
/// failed verification.
fn peek_claims(assertion: &str) -> Result<Value, Rejection> {
    let payload = assertion
        .split('.')
        .nth(1)
        .ok_or_else(|| Rejection::Malformed("not a compact JWS".into()))?;
    let bytes = URL_SAFE_NO_PAD
        .decode(payload)
        .map_err(|_| Rejection::Malformed("payload is not base64url".into()))?;
    serde_json::from_slice(&bytes).map_err(|_| Rejection::Malformed("payload is not JSON".into()))
}

/// Reads `iss` from the unverified payload, only to pick the issuer's keys.
fn peek_issuer(assertion: &str) -> Result<String, Rejection> {
    peek_claims(assertion)?
        .get("iss")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| Rejection::MissingClaim("iss".into()))
}

fn map_verify_error(e: okta_auth::Error) -> Rejection {
    use okta_auth::Error as E;
    match e {
        E::WrongType => Rejection::WrongType,
        E::WrongAudience => Rejection::WrongAudience,
        E::Expired => Rejection::Expired,
        E::NotYetValid | E::IssuedInFuture => Rejection::NotYetValid,
        E::InvalidSignature | E::UnknownKid | E::MissingKid | E::AlgorithmNotAllowed { .. } => {
            Rejection::BadSignature
        }
        E::MissingClaim(claim) => Rejection::MissingClaim(claim),
        E::KeysUnavailable { reason } => Rejection::KeysUnavailable(reason),
        other => Rejection::Malformed(other.to_string()),
    }
}

/// The `resource` claim: "either a single URI or an array of URIs" (draft §3.1). Anything
/// else is malformed rather than read as "no resource", which would lift the restriction.
fn resource_list(value: Option<&Value>) -> Result<Vec<String>, Rejection> {
    let malformed =
        || Rejection::Malformed("`resource` is not a string or an array of strings".into());
    match value {
        None => Ok(Vec::new()),
        Some(Value::String(s)) => Ok(vec![s.clone()]),
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| item.as_str().map(str::to_owned).ok_or_else(malformed))
            .collect(),
        Some(_) => Err(malformed()),
    }
}

impl IdJagValidator {
    /// Starts configuring a validator for the authorization server whose issuer identifier
    /// is `issuer` (ID-JAGs must name it in `aud`).
    pub fn builder(issuer: impl Into<String>) -> IdJagValidatorBuilder {
        IdJagValidatorBuilder {
            issuer: issuer.into(),
            trusted: Vec::new(),
            leeway: DEFAULT_LEEWAY,
            replay_capacity: DEFAULT_REPLAY_CAPACITY,
        }
    }

    /// This authorization server's issuer identifier.
    pub fn issuer(&self) -> &str {
        &self.inner.issuer
    }

    /// Validates `assertion` presented by the client `authenticated_client_id` (authenticate
    /// the client first) and uses up its `jti`. Returns the claims to mint a token from.
    ///
    /// Errors are [`Error::Rejected`] with the [`Rejection`] saying which check failed.
    pub async fn validate(
        &self,
        assertion: &str,
        authenticated_client_id: &str,
    ) -> Result<IdJagClaims, Error> {
        let verifiers = &self.inner.verifiers;
        // With one trusted issuer (the common case) its verifier checks `iss` itself; the
        // payload is only peeked at to pick among several, or to name an untrusted issuer.
        let verifier = match verifiers.values().next() {
            Some(only) if verifiers.len() == 1 => only,
            _ => {
                let issuer = peek_issuer(assertion).map_err(rejected)?;
                verifiers
                    .get(&issuer)
                    .ok_or_else(|| rejected(Rejection::UntrustedIssuer(issuer)))?
            }
        };
        let verified = match verifier.verify(assertion).await {
            Ok(verified) => verified,
            Err(e) => {
                if let Ok(issuer) = peek_issuer(assertion)
                    && !verifiers.contains_key(&issuer)
                {
                    return Err(rejected(Rejection::UntrustedIssuer(issuer)));
                }
                // The audience is checked after the signature, so this payload is authentic:
                // no `aud` at all is a missing claim rather than a wrong one.
                if matches!(e, okta_auth::Error::WrongAudience)
                    && peek_claims(assertion).is_ok_and(|claims| claims.get("aud").is_none())
                {
                    return Err(rejected(Rejection::MissingClaim("aud".into())));
                }
                return Err(rejected(map_verify_error(e)));
            }
        };
        // Verified-token caching is off, so this is normally the only reference: no copy.
        let verified = Arc::try_unwrap(verified).unwrap_or_else(|shared| (*shared).clone());
        let issuer = verified.iss;
        let raw = verified.raw;
        let text = |name: &str| raw.get(name).and_then(Value::as_str).map(str::to_owned);
        let client_id = text("client_id");
        if client_id.as_deref() != Some(authenticated_client_id) {
            return Err(rejected(Rejection::ClientMismatch {
                authenticated: authenticated_client_id.to_owned(),
                claimed: client_id,
            }));
        }
        let sub = text("sub").ok_or_else(|| rejected(Rejection::MissingClaim("sub".into())))?;
        let jti = text("jti").ok_or_else(|| rejected(Rejection::MissingClaim("jti".into())))?;
        let iat = raw
            .get("iat")
            .and_then(Value::as_u64)
            .ok_or_else(|| rejected(Rejection::MissingClaim("iat".into())))?;
        let resources = resource_list(raw.get("resource")).map_err(rejected)?;
        let now = now_secs();
        let forget_after = verified.exp + self.inner.leeway.as_secs();
        let check = self
            .inner
            .replay
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .check_and_remember(&issuer, &jti, forget_after, now);
        match check {
            ReplayCheck::Fresh => {}
            ReplayCheck::Replayed => return Err(rejected(Rejection::Replayed)),
            ReplayCheck::Full => return Err(rejected(Rejection::ReplayStoreFull)),
        }
        let scopes = raw
            .get("scope")
            .and_then(Value::as_str)
            .map(|s| s.split_ascii_whitespace().map(str::to_owned).collect())
            .unwrap_or_default();
        Ok(IdJagClaims {
            iss: issuer,
            sub,
            client_id: authenticated_client_id.to_owned(),
            jti,
            exp: verified.exp,
            iat,
            scopes,
            resources,
            raw,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peek_issuer_rejects_garbage() {
        assert!(matches!(peek_issuer("abc"), Err(Rejection::Malformed(_))));
        assert!(matches!(
            peek_issuer("a.!!!.c"),
            Err(Rejection::Malformed(_))
        ));
        let no_iss = format!("a.{}.c", URL_SAFE_NO_PAD.encode(br#"{"sub":"x"}"#));
        assert_eq!(
            peek_issuer(&no_iss),
            Err(Rejection::MissingClaim("iss".into()))
        );
    }

    #[test]
    fn granted_scopes_intersect() {
        let claims = IdJagClaims {
            iss: "i".into(),
            sub: "s".into(),
            client_id: "c".into(),
            jti: "j".into(),
            exp: 0,
            iat: 0,
            scopes: vec!["a".into(), "b".into(), "c".into()],
            resources: vec![],
            raw: Map::new(),
        };
        assert_eq!(claims.granted_scopes(&["c", "a", "z"]), vec!["a", "c"]);
        let at = claims.access_token_claims("iss", "aud", &["a".into()], Duration::from_secs(60));
        assert_eq!(at["cid"], "c");
        assert_eq!(at["scp"], json!(["a"]));
        assert_eq!(
            at["exp"].as_u64().unwrap() - at["iat"].as_u64().unwrap(),
            60
        );
    }
}
