//! `Verifier`: checks an Okta access token's signature and claims.

use std::str::FromStr;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, AlgorithmFamily};

use crate::Error;
use crate::claims::OktaClaims;
use crate::jwks::JwksCache;
use crate::token_cache::{TokenCache, hash_token};

/// Default clock-skew leeway for `exp`, `nbf` and `iat`: 30 seconds.
pub const DEFAULT_LEEWAY: Duration = Duration::from_secs(30);
/// Default maximum token length: 8 KiB (checked before any parsing).
pub const DEFAULT_MAX_TOKEN_LEN: usize = 8 * 1024;
/// Default capacity of the verified-token cache (entries).
pub const DEFAULT_CACHE_CAPACITY: usize = 10_000;
/// Default longest time a verified token is served from the cache before it is
/// verified again (so a key removed from the JWKS stops working within it).
pub const DEFAULT_CACHE_TTL: Duration = Duration::from_secs(300);

/// Configures a [`Verifier`]. Start with [`Verifier::builder`].
#[derive(Debug, Clone)]
#[must_use]
pub struct VerifierBuilder {
    jwks: JwksCache,
    issuer: Option<String>,
    audiences: Vec<String>,
    leeway: Duration,
    types: Option<Vec<String>>,
    required_claims: Vec<String>,
    max_token_len: usize,
    cache_capacity: usize,
    cache_ttl: Duration,
}

impl VerifierBuilder {
    /// The exact `iss` tokens must carry. Defaults to the issuer the
    /// [`JwksCache`] was built from, if any.
    pub fn issuer(mut self, issuer: impl Into<String>) -> Self {
        self.issuer = Some(issuer.into());
        self
    }

    /// Accept tokens whose `aud` contains `audience` (may be called repeatedly;
    /// any one match is enough). At least one audience is required.
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        self.audiences.push(audience.into());
        self
    }

    /// Accept any of these audiences (adds to [`audience`](Self::audience)).
    pub fn audiences<I, S>(mut self, audiences: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.audiences.extend(audiences.into_iter().map(Into::into));
        self
    }

    /// Clock-skew leeway for `exp`, `nbf` and `iat` (default [`DEFAULT_LEEWAY`], 30 s).
    pub fn leeway(mut self, leeway: Duration) -> Self {
        self.leeway = leeway;
        self
    }

    /// Require the header `typ` to be one of these (compared case-insensitively,
    /// `application/` prefix optional per RFC 7515 §4.1.9), e.g. `at+jwt`
    /// (RFC 9068) or `application/okta-internal-at+jwt`. Off by default
    /// because Okta's custom authorization servers send no `typ`.
    pub fn require_type<I, S>(mut self, types: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        self.types = Some(
            types
                .into_iter()
                .map(|t| normalize_typ(t.as_ref()))
                .collect(),
        );
        self
    }

    /// Claims that must be present (besides `iss` and `exp`, always required).
    pub fn require_claims<I, S>(mut self, claims: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.required_claims
            .extend(claims.into_iter().map(Into::into));
        self
    }

    /// Longest token accepted, in bytes (default [`DEFAULT_MAX_TOKEN_LEN`], 8 KiB).
    pub fn max_token_len(mut self, len: usize) -> Self {
        self.max_token_len = len;
        self
    }

    /// Capacity of the verified-token cache; `0` disables it (default
    /// [`DEFAULT_CACHE_CAPACITY`]).
    pub fn cache_capacity(mut self, entries: usize) -> Self {
        self.cache_capacity = entries;
        self
    }

    /// Longest time a token is served from the cache before it is verified
    /// again, whatever its `exp` (default [`DEFAULT_CACHE_TTL`], 5 min).
    pub fn cache_ttl(mut self, ttl: Duration) -> Self {
        self.cache_ttl = ttl;
        self
    }

    /// Builds the verifier.
    ///
    /// # Errors
    /// [`Error::Config`] when no issuer or no audience is configured.
    pub fn build(self) -> Result<Verifier, Error> {
        let issuer = match self
            .issuer
            .or_else(|| self.jwks.issuer().map(str::to_owned))
        {
            Some(issuer) => issuer,
            None => {
                return Err(Error::Config(
                    "Verifier needs .issuer(...) (or a JwksCache built from an issuer)".to_owned(),
                ));
            }
        };
        if self.audiences.is_empty() {
            return Err(Error::Config(
                "Verifier needs at least one .audience(...), e.g. \"api://default\"".to_owned(),
            ));
        }
        Ok(Verifier {
            inner: Arc::new(Inner {
                jwks: self.jwks,
                issuer,
                audiences: self.audiences,
                leeway: self.leeway.as_secs(),
                types: self.types,
                required_claims: self.required_claims,
                max_token_len: self.max_token_len,
                cache: (self.cache_capacity > 0).then(|| TokenCache::new(self.cache_capacity)),
                cache_ttl: self.cache_ttl.as_secs(),
            }),
        })
    }
}

struct Inner {
    jwks: JwksCache,
    issuer: String,
    audiences: Vec<String>,
    leeway: u64,
    types: Option<Vec<String>>,
    required_claims: Vec<String>,
    max_token_len: usize,
    cache: Option<TokenCache>,
    cache_ttl: u64,
}

/// Verifies Okta access tokens: signature with a key from the [`JwksCache`]
/// (algorithm allowed by the key type only; never `none`, never HMAC), then
/// `iss` (exact), `aud` (any of), `exp`/`nbf`/`iat` with leeway, optional
/// `typ`, required claims. Verified tokens are cached by their SHA-256 until
/// `exp` (or the cache TTL), so repeated calls are nearly free.
///
/// Headers `jku`, `x5u`, `jwk` and `x5c` are ignored: keys only ever come from
/// the configured key set. A header with `crit` is rejected.
///
/// Cheap to clone; clones share the token cache.
///
/// ```
/// # use jsonwebtoken::jwk::JwkSet;
/// # let set: JwkSet = serde_json::from_value(serde_json::json!({"keys": [{
/// #     "kty": "EC", "crv": "P-256", "kid": "k1",
/// #     "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
/// #     "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}]})).unwrap();
/// use okta_auth::{Error, JwksCache, Verifier};
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let verifier = Verifier::builder(JwksCache::from_jwks(&set)?)
///     .issuer("https://example.okta.com/oauth2/default")
///     .audience("api://default")
///     .build()?;
/// let err = verifier.verify("not.a-token").await.unwrap_err();
/// assert_eq!(err.to_string(), "malformed token: 2 segments, a JWS has 3");
/// # Ok::<(), Error>(()) }).unwrap();
/// ```
#[derive(Clone)]
pub struct Verifier {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verifier")
            .field("issuer", &self.inner.issuer)
            .field("audiences", &self.inner.audiences)
            .field("leeway_secs", &self.inner.leeway)
            .finish_non_exhaustive()
    }
}

#[derive(serde::Deserialize)]
struct RawHeader {
    alg: String,
    #[serde(default)]
    kid: Option<String>,
    #[serde(default)]
    typ: Option<String>,
    #[serde(default)]
    crit: Option<serde_json::Value>,
}

fn normalize_typ(typ: &str) -> String {
    let lower = typ.to_ascii_lowercase();
    match lower.strip_prefix("application/") {
        Some(rest) => rest.to_owned(),
        None => lower,
    }
}

/// An attacker-chosen `alg`, made safe to put in an error message.
fn sanitize_alg(alg: &str) -> String {
    alg.chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .take(16)
        .collect()
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn b64(part: &str, name: &'static str) -> Result<Vec<u8>, Error> {
    URL_SAFE_NO_PAD
        .decode(part)
        .map_err(|_| Error::BadBase64 { part: name })
}

impl Verifier {
    /// Starts configuring a verifier that takes keys from `jwks`.
    pub fn builder(jwks: JwksCache) -> VerifierBuilder {
        VerifierBuilder {
            jwks,
            issuer: None,
            audiences: Vec::new(),
            leeway: DEFAULT_LEEWAY,
            types: None,
            required_claims: Vec::new(),
            max_token_len: DEFAULT_MAX_TOKEN_LEN,
            cache_capacity: DEFAULT_CACHE_CAPACITY,
            cache_ttl: DEFAULT_CACHE_TTL,
        }
    }

    /// The issuer tokens must carry.
    pub fn issuer(&self) -> &str {
        &self.inner.issuer
    }

    /// The accepted audiences.
    pub fn audiences(&self) -> &[String] {
        &self.inner.audiences
    }

    /// The key cache in use.
    pub fn jwks(&self) -> &JwksCache {
        &self.inner.jwks
    }

    /// Verifies `token` (the compact JWS, without `Bearer `) and returns its claims.
    ///
    /// Awaits only when the token's `kid` is not among the current keys (a
    /// refetch, bounded by the cooldown).
    ///
    /// # Errors
    /// A variant naming exactly what was wrong: [`Error::TokenTooLong`],
    /// [`Error::MalformedToken`], [`Error::BadBase64`], [`Error::MalformedHeader`],
    /// [`Error::AlgorithmNotAllowed`], [`Error::WrongType`], [`Error::MissingKid`],
    /// [`Error::UnknownKid`], [`Error::InvalidSignature`], [`Error::ClaimsNotObject`],
    /// [`Error::MalformedClaim`], [`Error::MissingClaim`], [`Error::WrongIssuer`],
    /// [`Error::WrongAudience`], [`Error::Expired`], [`Error::NotYetValid`],
    /// [`Error::IssuedInFuture`], or [`Error::KeysUnavailable`] when no keys
    /// can be had from the identity provider.
    pub async fn verify(&self, token: &str) -> Result<Arc<OktaClaims>, Error> {
        let inner = &*self.inner;
        if token.len() > inner.max_token_len {
            return Err(Error::TokenTooLong {
                len: token.len(),
                max: inner.max_token_len,
            });
        }
        let now = now_secs();
        let Some(cache) = &inner.cache else {
            return self.verify_uncached(token, now).await;
        };
        let hash = hash_token(token);
        if let Some(claims) = cache.get(&hash, now) {
            return Ok(claims);
        }
        let claims = self.verify_uncached(token, now).await?;
        let usable_until = (claims.exp + inner.leeway).min(now + inner.cache_ttl);
        cache.insert(hash, Arc::clone(&claims), usable_until, now);
        Ok(claims)
    }

    async fn verify_uncached(&self, token: &str, now: u64) -> Result<Arc<OktaClaims>, Error> {
        let inner = &*self.inner;
        let segments = token.bytes().filter(|b| *b == b'.').count() + 1;
        let (Some((header_b64, rest)), 3) = (token.split_once('.'), segments) else {
            return Err(Error::MalformedToken { segments });
        };
        let Some((payload_b64, signature_b64)) = rest.split_once('.') else {
            return Err(Error::MalformedToken { segments });
        };
        let message = &token.as_bytes()[..header_b64.len() + 1 + payload_b64.len()];

        let header_json = b64(header_b64, "header")?;
        // serde would also accept a JSON array for a struct; a JOSE header is an object.
        if header_json.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
            return Err(Error::MalformedHeader {
                reason: "not a JSON object".to_owned(),
            });
        }
        let header: RawHeader =
            serde_json::from_slice(&header_json).map_err(|e| Error::MalformedHeader {
                reason: header_reason(&e),
            })?;
        if header.crit.is_some() {
            return Err(Error::MalformedHeader {
                reason: "crit extensions are not supported".to_owned(),
            });
        }
        let alg = match Algorithm::from_str(&header.alg) {
            Ok(alg) if alg.family() != AlgorithmFamily::Hmac => alg,
            _ => {
                return Err(Error::AlgorithmNotAllowed {
                    alg: sanitize_alg(&header.alg),
                });
            }
        };
        if let Some(types) = &inner.types {
            let typ = header.typ.as_deref().map(normalize_typ);
            if !typ.is_some_and(|t| types.contains(&t)) {
                return Err(Error::WrongType);
            }
        }
        let kid = header.kid.ok_or(Error::MissingKid)?;
        let signature = b64(signature_b64, "signature")?;
        let payload = b64(payload_b64, "claims")?;

        let key = inner.jwks.key(&kid).await?;
        let public_key = key
            .for_algorithm(alg)
            .ok_or_else(|| Error::AlgorithmNotAllowed {
                alg: sanitize_alg(&header.alg),
            })?;
        public_key
            .verify_sig(message, &signature)
            .map_err(|_| Error::InvalidSignature)?;

        // Signature good: parse the claims, once.
        let value: serde_json::Value =
            serde_json::from_slice(&payload).map_err(|_| Error::ClaimsNotObject)?;
        let claims = OktaClaims::from_json(value)?;
        if claims.iss != inner.issuer {
            return Err(Error::WrongIssuer);
        }
        if !claims.aud.iter().any(|a| inner.audiences.contains(a)) {
            return Err(Error::WrongAudience);
        }
        if now >= claims.exp.saturating_add(inner.leeway) {
            return Err(Error::Expired);
        }
        if claims.nbf.is_some_and(|nbf| nbf > now + inner.leeway) {
            return Err(Error::NotYetValid);
        }
        if claims.iat.is_some_and(|iat| iat > now + inner.leeway) {
            return Err(Error::IssuedInFuture);
        }
        if let Some(missing) = inner
            .required_claims
            .iter()
            .find(|c| !claims.raw.contains_key(c.as_str()))
        {
            return Err(Error::MissingClaim(missing.clone()));
        }
        Ok(Arc::new(claims))
    }
}

fn header_reason(e: &serde_json::Error) -> String {
    match e.classify() {
        serde_json::error::Category::Data => format!("{e}"),
        _ => "not a JSON object".to_owned(),
    }
}
