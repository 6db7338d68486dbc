//! Shared helpers for the sign-in flow tests (authorization code + PKCE, registration).
#![allow(dead_code, unreachable_pub, clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use okta_sim::{AuthServer, GrantType, GroupsClaim, OktaSim, OktaSimBuilder, SimClient, SimUser};
use serde_json::Value;
use sha2::{Digest, Sha256};

pub const PUBLIC_CLIENT: &str = "mcp-cli";
pub const PUBLIC_REDIRECT: &str = "http://127.0.0.1:33418/callback";
pub const WEB_CLIENT: &str = "web-app";
pub const WEB_SECRET: &str = "web-secret";
pub const WEB_REDIRECT: &str = "https://app.example.com/oauth/callback";
pub const SERVICE_CLIENT: &str = "service";
pub const MCP_RESOURCE: &str = "http://127.0.0.1:8080/mcp";

pub fn builder() -> OktaSimBuilder {
    OktaSim::builder()
        .user(SimUser::new("alice", "pw-alice").groups(["mcp-developers", "Everyone"]))
        .user(SimUser::new("bob", "pw-bob").name("Bob Builder"))
        .client(
            SimClient::public(PUBLIC_CLIENT)
                .name("MCP CLI")
                .redirect_uris([PUBLIC_REDIRECT]),
        )
        .client(
            SimClient::secret(WEB_CLIENT, WEB_SECRET)
                .grants([GrantType::AuthorizationCode, GrantType::RefreshToken])
                .redirect_uris([WEB_REDIRECT]),
        )
        .client(SimClient::secret(SERVICE_CLIENT, "service-secret").redirect_uris([WEB_REDIRECT]))
        .auth_server(
            AuthServer::new("default")
                .scopes(["mcp:read", "mcp:write"])
                .resources([MCP_RESOURCE])
                .groups_claim(GroupsClaim::starts_with("mcp-")),
        )
}

pub async fn sim() -> OktaSim {
    builder().start().await.unwrap()
}

/// An HTTP client that never follows redirects.
pub fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// A PKCE pair `(verifier, S256 challenge)`.
pub fn pkce() -> (String, String) {
    let verifier = format!(
        "verifier-{}-0123456789abcdefghijklmnopqrstuvwxyz",
        rand_suffix()
    );
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    (verifier, challenge)
}

fn rand_suffix() -> u128 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(1);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    nanos ^ u128::from(NEXT.fetch_add(1, Ordering::Relaxed))
}

/// A complete, valid authorization request for the public client (as query pairs).
pub fn request(challenge: &str) -> Vec<(&'static str, String)> {
    vec![
        ("client_id", PUBLIC_CLIENT.to_owned()),
        ("redirect_uri", PUBLIC_REDIRECT.to_owned()),
        ("response_type", "code".to_owned()),
        ("scope", "openid mcp:read offline_access".to_owned()),
        ("state", "st-123".to_owned()),
        ("nonce", "n-456".to_owned()),
        ("code_challenge", challenge.to_owned()),
        ("code_challenge_method", "S256".to_owned()),
        ("resource", MCP_RESOURCE.to_owned()),
    ]
}

/// Replaces (or with `None` removes) one parameter.
pub fn with(
    mut params: Vec<(&'static str, String)>,
    name: &'static str,
    value: Option<&str>,
) -> Vec<(&'static str, String)> {
    params.retain(|(n, _)| *n != name);
    if let Some(value) = value {
        params.push((name, value.to_owned()));
    }
    params
}

/// GET /v1/authorize.
pub async fn authorize(sim: &OktaSim, params: &[(&str, String)]) -> reqwest::Response {
    let mut url = url::Url::parse(&sim.authorization_endpoint("default")).unwrap();
    url.query_pairs_mut()
        .extend_pairs(params.iter().map(|(k, v)| (*k, v.as_str())));
    http().get(url.as_str()).send().await.unwrap()
}

/// The query parameters of a redirect response's `Location`.
pub fn location_query(response: &reqwest::Response) -> (String, HashMap<String, String>) {
    let location = response
        .headers()
        .get("location")
        .unwrap_or_else(|| panic!("no Location header; status {}", response.status()))
        .to_str()
        .unwrap();
    let url = url::Url::parse(location).unwrap();
    let base = format!("{}://{}{}", url.scheme(), url.authority(), url.path());
    (base, url.query_pairs().into_owned().collect())
}

/// Signs in alice through `login_hint` and returns the code.
pub async fn code_for(sim: &OktaSim, params: &[(&str, String)]) -> String {
    let mut params = params.to_vec();
    params.push(("login_hint", "alice".to_owned()));
    let response = authorize(sim, &params).await;
    assert_eq!(response.status(), 302);
    let (_, query) = location_query(&response);
    query
        .get("code")
        .unwrap_or_else(|| panic!("no code in redirect: {query:?}"))
        .clone()
}

/// POST /v1/token; `basic` = HTTP Basic credentials.
pub async fn token(
    sim: &OktaSim,
    form: &[(&str, &str)],
    basic: Option<(&str, &str)>,
) -> (u16, Value) {
    let mut request = http().post(sim.token_endpoint("default")).form(form);
    if let Some((id, secret)) = basic {
        request = request.basic_auth(id, Some(secret));
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

/// Redeems a code for the public client.
pub async fn redeem_public(sim: &OktaSim, code: &str, verifier: &str) -> (u16, Value) {
    token(
        sim,
        &[
            ("grant_type", "authorization_code"),
            ("client_id", PUBLIC_CLIENT),
            ("code", code),
            ("redirect_uri", PUBLIC_REDIRECT),
            ("code_verifier", verifier),
        ],
        None,
    )
    .await
}

/// The claims of a JWT, unverified (the tests check shape; okta-auth tests verification).
pub fn claims(jwt: &str) -> Value {
    let payload = jwt.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

pub const SHORT: Duration = Duration::from_millis(1);
