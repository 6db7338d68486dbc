//! Okta access-token claims, and the `Verified<T>` wrapper the layer puts in
//! request extensions.

use std::ops::Deref;
use std::sync::Arc;

use serde_json::{Map, Value};

use crate::Error;

/// The claims of a verified Okta access token.
///
/// Typed views of the claims Okta issues, plus every claim in [`raw`](Self::raw)
/// (for policy engines and custom claims). Built only by [`Verifier`](crate::Verifier)
/// after the signature and the registered claims checked out.
///
/// ```
/// let claims = okta_auth::OktaClaims::from_json(serde_json::json!({
///     "iss": "https://example.okta.com/oauth2/default", "aud": "api://default",
///     "exp": 4102444800u64, "sub": "alice@example.com", "cid": "0oa1",
///     "scp": ["mcp:read", "openid"], "groups": ["mcp-developers"]
/// })).unwrap();
/// assert!(claims.has_scope("mcp:read"));
/// assert!(claims.in_group("mcp-developers"));
/// assert_eq!(claims.sub.as_deref(), Some("alice@example.com"));
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct OktaClaims {
    /// `iss`: the issuer (the authorization server's URL).
    pub iss: String,
    /// `sub`: the user's login for user tokens, the client id for client-credentials tokens.
    pub sub: Option<String>,
    /// `aud`: audiences (a single string in the token becomes one element).
    pub aud: Vec<String>,
    /// `exp`: expiry, seconds since the Unix epoch.
    pub exp: u64,
    /// `iat`: issued-at, seconds since the Unix epoch.
    pub iat: Option<u64>,
    /// `nbf`: not-before, seconds since the Unix epoch.
    pub nbf: Option<u64>,
    /// `jti`: the token id.
    pub jti: Option<String>,
    /// `uid`: Okta user id (`00u…`), user tokens only.
    pub uid: Option<String>,
    /// `cid`: the OAuth client id the token was issued to.
    pub cid: Option<String>,
    /// Scopes from `scp` (array or space-separated string), or from the RFC 9068
    /// `scope` claim when `scp` is absent.
    pub scp: Vec<String>,
    /// `groups` (array or a single string), empty when absent.
    pub groups: Vec<String>,
    /// Every claim of the token, including the ones above.
    pub raw: Map<String, Value>,
}

impl OktaClaims {
    /// Builds claims from a JSON value, checking the types of the claims it types.
    ///
    /// Requires `iss` and `exp`; does not check signatures or times (that is
    /// the [`Verifier`](crate::Verifier)'s job).
    ///
    /// # Errors
    /// [`Error::ClaimsNotObject`], [`Error::MissingClaim`] or [`Error::MalformedClaim`].
    pub fn from_json(value: Value) -> Result<Self, Error> {
        match value {
            Value::Object(map) => Self::from_map(map),
            _ => Err(Error::ClaimsNotObject),
        }
    }

    /// Builds claims from a claim map; see [`from_json`](Self::from_json).
    ///
    /// # Errors
    /// [`Error::MissingClaim`] or [`Error::MalformedClaim`].
    pub fn from_map(raw: Map<String, Value>) -> Result<Self, Error> {
        let iss = match raw.get("iss") {
            Some(Value::String(s)) => s.clone(),
            Some(_) => return Err(malformed("iss", "not a string")),
            None => return Err(Error::MissingClaim("iss".to_owned())),
        };
        let exp = match raw.get("exp") {
            Some(v) => numeric_date(v, "exp")?,
            None => return Err(Error::MissingClaim("exp".to_owned())),
        };
        let iat = raw.get("iat").map(|v| numeric_date(v, "iat")).transpose()?;
        let nbf = raw.get("nbf").map(|v| numeric_date(v, "nbf")).transpose()?;
        let aud = match raw.get("aud") {
            None => Vec::new(),
            Some(v) => string_list(v, "aud", false)?,
        };
        let scp = match raw.get("scp").or_else(|| raw.get("scope")) {
            None => Vec::new(),
            Some(v) => string_list(v, "scp", true)?,
        };
        let groups = match raw.get("groups") {
            None => Vec::new(),
            Some(v) => string_list(v, "groups", false)?,
        };
        Ok(Self {
            iss,
            sub: opt_string(&raw, "sub")?,
            aud,
            exp,
            iat,
            nbf,
            jti: opt_string(&raw, "jti")?,
            uid: opt_string(&raw, "uid")?,
            cid: opt_string(&raw, "cid")?,
            scp,
            groups,
            raw,
        })
    }

    /// Whether the token carries `scope`.
    pub fn has_scope(&self, scope: &str) -> bool {
        self.scp.iter().any(|s| s == scope)
    }

    /// Whether the token carries every scope in `scopes`.
    pub fn has_all_scopes<'a>(&self, scopes: impl IntoIterator<Item = &'a str>) -> bool {
        scopes.into_iter().all(|s| self.has_scope(s))
    }

    /// Whether `groups` contains `group`.
    pub fn in_group(&self, group: &str) -> bool {
        self.groups.iter().any(|g| g == group)
    }

    /// Any claim by name, from the raw claim map.
    pub fn claim(&self, name: &str) -> Option<&Value> {
        self.raw.get(name)
    }
}

fn malformed(claim: &'static str, reason: &'static str) -> Error {
    Error::MalformedClaim { claim, reason }
}

fn numeric_date(value: &Value, claim: &'static str) -> Result<u64, Error> {
    if let Some(n) = value.as_u64() {
        return Ok(n);
    }
    match value.as_f64() {
        // RFC 7519 NumericDate may carry fractions; whole seconds are enough here.
        Some(f) if (0.0..1.0e15).contains(&f) => Ok(f.floor() as u64),
        _ => Err(malformed(claim, "not a non-negative NumericDate")),
    }
}

fn opt_string(raw: &Map<String, Value>, claim: &'static str) -> Result<Option<String>, Error> {
    match raw.get(claim) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(malformed(claim, "not a string")),
    }
}

fn string_list(
    value: &Value,
    claim: &'static str,
    split_spaces: bool,
) -> Result<Vec<String>, Error> {
    match value {
        Value::String(s) if split_spaces => Ok(s
            .split(' ')
            .filter(|p| !p.is_empty())
            .map(str::to_owned)
            .collect()),
        Value::String(s) => Ok(vec![s.clone()]),
        Value::Array(items) => items
            .iter()
            .map(|item| match item {
                Value::String(s) => Ok(s.clone()),
                _ => Err(malformed(claim, "array holds a non-string")),
            })
            .collect(),
        _ => Err(malformed(claim, "not a string or an array of strings")),
    }
}

/// Proof that the wrapped claims came from a verified token.
///
/// [`AuthLayer`](crate::AuthLayer) inserts `Verified<OktaClaims>` into request
/// extensions; handlers read it from there or with the axum extractor (which
/// answers `401` when it is missing). Cheap to clone (an `Arc`).
///
/// ```
/// use okta_auth::{OktaClaims, Verified};
/// async fn handler(claims: Verified<OktaClaims>) -> String {
///     format!("hello {}", claims.sub.as_deref().unwrap_or("anonymous"))
/// }
/// let _app: axum::Router = axum::Router::new().route("/api", axum::routing::get(handler));
/// ```
#[derive(Debug)]
pub struct Verified<T>(Arc<T>);

impl<T> Clone for Verified<T> {
    fn clone(&self) -> Self {
        Self(Arc::clone(&self.0))
    }
}

impl<T> Verified<T> {
    /// Wraps claims that have been verified. Only this crate's verifier and
    /// code that verified the token itself should call this.
    pub fn new(claims: Arc<T>) -> Self {
        Self(claims)
    }

    /// The verified claims.
    pub fn claims(&self) -> &T {
        &self.0
    }

    /// The shared claims.
    pub fn into_arc(self) -> Arc<T> {
        self.0
    }
}

impl<T> Deref for Verified<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::OktaClaims;
    use crate::Error;
    use serde_json::json;

    fn base() -> serde_json::Value {
        json!({"iss": "https://i", "exp": 10, "aud": "api://default"})
    }

    #[test]
    fn scp_accepts_array_and_space_separated_string() {
        let mut v = base();
        v["scp"] = json!(["a", "b"]);
        assert_eq!(OktaClaims::from_json(v).unwrap().scp, vec!["a", "b"]);
        let mut v = base();
        v["scp"] = json!("a  b c");
        assert_eq!(OktaClaims::from_json(v).unwrap().scp, vec!["a", "b", "c"]);
        let mut v = base();
        v["scope"] = json!("x y");
        assert_eq!(OktaClaims::from_json(v).unwrap().scp, vec!["x", "y"]);
    }

    #[test]
    fn aud_string_or_array_and_fractional_exp() {
        let mut v = base();
        v["aud"] = json!(["a", "b"]);
        v["exp"] = json!(12.7);
        let c = OktaClaims::from_json(v).unwrap();
        assert_eq!(c.aud, vec!["a", "b"]);
        assert_eq!(c.exp, 12);
    }

    #[test]
    fn wrong_types_are_named() {
        let mut v = base();
        v["exp"] = json!("soon");
        assert!(matches!(
            OktaClaims::from_json(v),
            Err(Error::MalformedClaim { claim: "exp", .. })
        ));
        let mut v = base();
        v["scp"] = json!([1]);
        assert!(matches!(
            OktaClaims::from_json(v),
            Err(Error::MalformedClaim { claim: "scp", .. })
        ));
        assert!(matches!(
            OktaClaims::from_json(json!([1, 2])),
            Err(Error::ClaimsNotObject)
        ));
        assert!(matches!(
            OktaClaims::from_json(json!({"exp": 1})),
            Err(Error::MissingClaim(c)) if c == "iss"
        ));
    }
}
