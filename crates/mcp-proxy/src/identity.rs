//! Glue from okta-auth's verified claims to mcp-authz's `Identity`.

use http::request::Parts;
use mcp_authz::Identity;
use okta_auth::{OktaClaims, Verified};
use serde_json::Map;
use std::collections::HashMap;
use std::sync::{LazyLock, Mutex};

/// How many callers' identities are kept; the cache is emptied when full.
const CACHED_IDENTITIES: usize = 4096;

/// Identities by the exact bearer token they were built from. An `Identity`
/// converts its claims for CEL once (on first use) and shares that with its
/// clones, and that conversion was about a tenth of a call through the
/// gateway; keeping the identity per token does it once per token. A token's
/// bytes determine its claims, and a request only gets here once okta-auth
/// has verified its token (signature, issuer, audience, expiry), so a cached
/// identity is only ever used for a currently valid, identical token.
static IDENTITIES: LazyLock<Mutex<HashMap<String, Identity>>> =
    LazyLock::new(|| Mutex::new(HashMap::new()));

/// The caller of an HTTP request: the verified token's claims, or an
/// anonymous identity (no subject, scopes or groups) when there is none.
pub(crate) fn identity_of(parts: &Parts) -> Identity {
    let Some(verified) = parts.extensions.get::<Verified<OktaClaims>>() else {
        return anonymous();
    };
    let token = parts
        .headers
        .get(http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let Some(token) = token else {
        return from_claims(verified.claims());
    };
    if let Ok(cache) = IDENTITIES.lock()
        && let Some(identity) = cache.get(token)
    {
        return identity.clone();
    }
    let identity = from_claims(verified.claims());
    if let Ok(mut cache) = IDENTITIES.lock() {
        if cache.len() >= CACHED_IDENTITIES {
            cache.clear();
        }
        cache.insert(token.to_owned(), identity.clone());
    }
    identity
}

/// An `Identity` over every claim of a verified Okta token (`sub`, `cid`,
/// `scp`, `groups` and the rest, so CEL rules see them all).
pub(crate) fn from_claims(claims: &OktaClaims) -> Identity {
    Identity::from_claims(claims.raw.clone())
}

/// No identity at all (no token, or no auth configured).
pub(crate) fn anonymous() -> Identity {
    Identity::from_claims(Map::new())
}

#[cfg(test)]
mod tests {
    use super::from_claims;

    #[test]
    fn okta_claims_become_an_identity() {
        let claims = okta_auth::OktaClaims::from_json(serde_json::json!({
            "iss": "https://example.okta.com/oauth2/default", "exp": 4102444800u64,
            "sub": "alice", "cid": "dev-agent", "scp": ["mcp:read"], "groups": ["Senior Engineers"]
        }))
        .unwrap();
        let id = from_claims(&claims);
        assert_eq!(id.subject(), Some("alice"));
        assert_eq!(id.client_id(), Some("dev-agent"));
        assert!(id.in_group("Senior Engineers"));
        assert!(id.has_scope("mcp:read"));
        assert!(super::anonymous().subject().is_none());
    }
}
