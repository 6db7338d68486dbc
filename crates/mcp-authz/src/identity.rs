//! Who is calling: a small view of the token's claims plus the claims themselves.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, OnceLock};

use cel::common::value::Val;
use serde_json::{Map, Value};

/// The caller of an MCP request, as the authorization engine sees it.
///
/// `mcp-authz` knows nothing about Okta or JWTs: an authentication layer in
/// front of it verifies the token and hands over the claims. [`Identity::from_claims`]
/// reads the usual OAuth / Okta claim names:
///
/// | field       | claims read (first present wins)                                |
/// |-------------|-----------------------------------------------------------------|
/// | `subject`   | `sub`                                                           |
/// | `client_id` | `cid` (Okta), `client_id` (RFC 9068), `azp`                     |
/// | `scopes`    | `scp` (array or space-separated string), `scope` (same forms)    |
/// | `groups`    | `groups` (array of strings, or a single string)                 |
///
/// The CEL values built from the claims are computed once per `Identity` (on
/// first use) and shared by clones, so deciding many items for one caller
/// (filtering a list of 1000 tools) converts the claims once.
///
/// ```
/// use mcp_authz::Identity;
/// use serde_json::json;
///
/// let claims = json!({"sub": "alice", "cid": "agent", "scp": ["mcp:read"], "groups": ["Sales"]});
/// let id = Identity::from_claims(claims.as_object().unwrap().clone());
/// assert_eq!(id.subject(), Some("alice"));
/// assert_eq!(id.client_id(), Some("agent"));
/// assert!(id.has_scope("mcp:read"));
/// assert!(id.in_group("Sales"));
/// ```
#[derive(Clone)]
pub struct Identity {
    inner: Arc<IdentityInner>,
}

struct IdentityInner {
    subject: Option<String>,
    client_id: Option<String>,
    scopes: Vec<String>,
    groups: Vec<String>,
    claims: Map<String, Value>,
    cel: OnceLock<CelClaims>,
}

/// The claims as CEL values, built once per identity.
pub(crate) struct CelClaims {
    /// `claims` / `jwt` / `auth.claims` as one map.
    pub(crate) map: Box<dyn Val>,
    /// `auth` = `{claims: ...}`.
    pub(crate) auth: Box<dyn Val>,
    /// Each top-level claim on its own, so `claims.scp` resolves without a map lookup chain.
    pub(crate) entries: HashMap<String, Box<dyn Val>>,
}

impl Identity {
    /// Builds an identity from a token's claims (see the table above for the names read).
    pub fn from_claims(claims: Map<String, Value>) -> Self {
        let subject = claims.get("sub").and_then(Value::as_str).map(str::to_owned);
        let client_id = ["cid", "client_id", "azp"]
            .iter()
            .find_map(|k| claims.get(*k).and_then(Value::as_str))
            .map(str::to_owned);
        let scopes = ["scp", "scope"]
            .iter()
            .find_map(|k| claims.get(*k).map(string_list))
            .unwrap_or_default();
        let groups = claims.get("groups").map(string_list).unwrap_or_default();
        Self {
            inner: Arc::new(IdentityInner {
                subject,
                client_id,
                scopes,
                groups,
                claims,
                cel: OnceLock::new(),
            }),
        }
    }

    /// Builds an identity from its parts; the claims map is filled with `sub`,
    /// `cid`, `scp` and `groups` so CEL rules see the same values.
    ///
    /// ```
    /// let id = mcp_authz::Identity::new("alice", ["mcp:read"], ["Sales"]);
    /// assert_eq!(id.claims()["scp"], serde_json::json!(["mcp:read"]));
    /// ```
    pub fn new<S, G>(subject: impl Into<String>, scopes: S, groups: G) -> Self
    where
        S: IntoIterator,
        S::Item: Into<String>,
        G: IntoIterator,
        G::Item: Into<String>,
    {
        let mut claims = Map::new();
        claims.insert("sub".into(), Value::String(subject.into()));
        let scopes: Vec<Value> = scopes
            .into_iter()
            .map(|s| Value::String(s.into()))
            .collect();
        let groups: Vec<Value> = groups
            .into_iter()
            .map(|g| Value::String(g.into()))
            .collect();
        claims.insert("scp".into(), Value::Array(scopes));
        claims.insert("groups".into(), Value::Array(groups));
        Self::from_claims(claims)
    }

    /// The `sub` claim.
    pub fn subject(&self) -> Option<&str> {
        self.inner.subject.as_deref()
    }

    /// The OAuth client the token was issued to (`cid`, `client_id` or `azp`).
    pub fn client_id(&self) -> Option<&str> {
        self.inner.client_id.as_deref()
    }

    /// Granted scopes.
    pub fn scopes(&self) -> &[String] {
        &self.inner.scopes
    }

    /// Group memberships (Okta `groups` claim).
    pub fn groups(&self) -> &[String] {
        &self.inner.groups
    }

    /// All claims of the token.
    pub fn claims(&self) -> &Map<String, Value> {
        &self.inner.claims
    }

    /// Whether `scope` was granted.
    pub fn has_scope(&self, scope: &str) -> bool {
        self.inner.scopes.iter().any(|s| s == scope)
    }

    /// Whether the caller is a member of `group` (exact, case-sensitive, as Okta group names).
    pub fn in_group(&self, group: &str) -> bool {
        self.inner.groups.iter().any(|g| g == group)
    }

    /// The claims as CEL values, converted on first use.
    pub(crate) fn cel(&self) -> &CelClaims {
        self.inner
            .cel
            .get_or_init(|| CelClaims::build(&self.inner.claims))
    }
}

impl fmt::Debug for Identity {
    /// Shows the small view only: claims may hold personal data and are left out.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Identity")
            .field("subject", &self.inner.subject)
            .field("client_id", &self.inner.client_id)
            .field("scopes", &self.inner.scopes)
            .field("groups", &self.inner.groups)
            .field(
                "claims",
                &format_args!("<{} claims>", self.inner.claims.len()),
            )
            .finish()
    }
}

impl CelClaims {
    fn build(claims: &Map<String, Value>) -> Self {
        let whole = json_to_cel(&Value::Object(claims.clone()));
        let mut auth = HashMap::with_capacity(1);
        auth.insert("claims".to_owned(), whole.clone());
        let entries = claims
            .iter()
            .map(|(k, v)| (k.clone(), to_val(json_to_cel(v))))
            .collect();
        Self {
            map: to_val(whole),
            auth: to_val(cel::Value::from(auth)),
            entries,
        }
    }
}

/// Converts JSON into a CEL value. Never fails: JSON has no value CEL cannot hold.
pub(crate) fn json_to_cel(value: &Value) -> cel::Value {
    cel::to_value(value).unwrap_or(cel::Value::Null)
}

/// Converts a CEL value into the boxed form the interpreter evaluates.
pub(crate) fn to_val(value: cel::Value) -> Box<dyn Val> {
    Box::<dyn Val>::try_from(value).unwrap_or_else(|_| Box::new(cel::common::types::CelNull))
}

/// Reads a claim that is a list of strings, or one space-separated string (`scope`).
fn string_list(value: &Value) -> Vec<String> {
    match value {
        Value::Array(items) => items
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect(),
        Value::String(s) => s.split_whitespace().map(str::to_owned).collect(),
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn id(v: Value) -> Identity {
        Identity::from_claims(v.as_object().unwrap().clone())
    }

    #[test]
    fn reads_okta_and_rfc9068_claim_names() {
        let okta = id(json!({"sub": "a", "cid": "c1", "scp": ["x", "y"], "groups": ["g"]}));
        assert_eq!(okta.client_id(), Some("c1"));
        assert_eq!(okta.scopes(), ["x", "y"]);
        let rfc = id(json!({"sub": "a", "client_id": "c2", "scope": "x  y z"}));
        assert_eq!(rfc.client_id(), Some("c2"));
        assert_eq!(rfc.scopes(), ["x", "y", "z"]);
        assert!(rfc.groups().is_empty());
        let single_group = id(json!({"groups": "solo"}));
        assert!(single_group.in_group("solo"));
    }

    #[test]
    fn ignores_non_string_members_and_wrong_types() {
        let weird = id(json!({"sub": 7, "scp": [1, "ok", null], "groups": {"a": 1}}));
        assert_eq!(weird.subject(), None);
        assert_eq!(weird.scopes(), ["ok"]);
        assert!(weird.groups().is_empty());
    }

    #[test]
    fn debug_does_not_print_claims() {
        let s = format!(
            "{:?}",
            id(json!({"sub": "a", "email": "secret@example.com"}))
        );
        assert!(!s.contains("secret@example.com"), "{s}");
        assert!(s.contains("2 claims"));
    }
}
