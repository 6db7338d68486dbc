//! Glue from okta-auth's verified claims to mcp-authz's `Identity`.

use http::request::Parts;
use mcp_authz::Identity;
use okta_auth::{OktaClaims, Verified};
use serde_json::Map;

/// The caller of an HTTP request: the verified token's claims, or an
/// anonymous identity (no subject, scopes or groups) when there is none.
pub(crate) fn identity_of(parts: &Parts) -> Identity {
    parts
        .extensions
        .get::<Verified<OktaClaims>>()
        .map(|verified| from_claims(verified.claims()))
        .unwrap_or_else(anonymous)
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
