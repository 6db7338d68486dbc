//! Shared helpers for okta-sim integration tests.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used, clippy::expect_used)]

use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use okta_sim::{AuthServer, GrantType, GroupsClaim, OktaSim, SimClient, SimUser};
use serde_json::{Map, Value};

/// A simulator with the contract's example configuration (secret clients only).
pub async fn standard_sim() -> OktaSim {
    standard_builder().start().await.unwrap()
}

pub fn standard_builder() -> okta_sim::OktaSimBuilder {
    OktaSim::builder()
        .user(SimUser::new("alice", "pw-alice").groups(["mcp-developers", "Everyone", "admins"]))
        .user(SimUser::new("bob", "pw-bob").groups(["Everyone"]))
        .client(
            SimClient::secret("agent", "agent-secret")
                .grants([
                    GrantType::ClientCredentials,
                    GrantType::Password,
                    GrantType::RefreshToken,
                ])
                .scopes([
                    "mcp:read",
                    "mcp:write",
                    "openid",
                    "profile",
                    "email",
                    "offline_access",
                ]),
        )
        .client(SimClient::secret("reader", "reader-secret").scopes(["mcp:read"]))
        .auth_server(
            AuthServer::new("default")
                .audience("api://default")
                .scopes(["mcp:read", "mcp:write", "mcp:admin"])
                .groups_claim(GroupsClaim::starts_with("mcp-")),
        )
}

pub fn http() -> reqwest::Client {
    reqwest::Client::builder().build().unwrap()
}

pub async fn get_json(url: &str) -> (reqwest::StatusCode, reqwest::header::HeaderMap, Value) {
    let response = http().get(url).send().await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let body = response.json::<Value>().await.unwrap();
    (status, headers, body)
}

pub async fn fetch_jwks(url: &str) -> JwkSet {
    http()
        .get(url)
        .send()
        .await
        .unwrap()
        .json::<JwkSet>()
        .await
        .unwrap()
}

/// Verifies an RS256 token against a JWKS by its header kid; returns the claims.
pub fn verify_with(jwks: &JwkSet, token: &str) -> Result<Map<String, Value>, String> {
    let header = jsonwebtoken::decode_header(token).map_err(|e| e.to_string())?;
    let kid = header.kid.ok_or("no kid")?;
    let jwk = jwks
        .find(&kid)
        .ok_or_else(|| format!("kid {kid} not in JWKS"))?;
    let key = DecodingKey::from_jwk(jwk).map_err(|e| e.to_string())?;
    let mut validation = Validation::new(Algorithm::RS256);
    validation.validate_aud = false;
    validation.required_spec_claims.clear();
    validation.validate_exp = false;
    jsonwebtoken::decode::<Map<String, Value>>(token, &key, &validation)
        .map(|data| data.claims)
        .map_err(|e| e.to_string())
}

/// Fetches the JWKS at `url` and verifies `token` with it.
pub async fn verify(url: &str, token: &str) -> Map<String, Value> {
    let jwks = fetch_jwks(url).await;
    verify_with(&jwks, token).unwrap()
}

pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

pub mod assertion;

/// POSTs a token request; `basic` adds RFC 6749 §2.3.1 Basic credentials.
pub async fn post_token(
    url: &str,
    form: &[(&str, &str)],
    basic: Option<(&str, &str)>,
) -> (reqwest::StatusCode, reqwest::header::HeaderMap, Value) {
    let mut request = http().post(url).form(form);
    if let Some((id, secret)) = basic {
        request = request.header("authorization", basic_header(id, secret));
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let text = response.text().await.unwrap();
    let body = serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text}"));
    (status, headers, body)
}

/// `Basic base64(urlencode(id) ":" urlencode(secret))`.
pub fn basic_header(id: &str, secret: &str) -> String {
    use base64::Engine as _;
    let enc = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    let raw = format!("{}:{}", enc(id), enc(secret));
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(raw)
    )
}

/// Asserts an OAuth error response.
#[track_caller]
pub fn assert_oauth_error(
    response: &(reqwest::StatusCode, reqwest::header::HeaderMap, Value),
    status: u16,
    error: &str,
) {
    let (got_status, headers, body) = response;
    assert_eq!(body["error"], error, "body: {body}");
    assert_eq!(got_status.as_u16(), status, "body: {body}");
    assert!(
        body["error_description"]
            .as_str()
            .is_some_and(|d| !d.is_empty()),
        "{body}"
    );
    assert_eq!(headers["cache-control"], "no-store");
}
