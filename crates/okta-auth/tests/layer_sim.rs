//! `AuthLayer` in front of an axum app, with tokens from okta-sim and keys
//! fetched from it over real HTTP.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use axum::Router;
use axum::routing::get;
use okta_auth::{AuthLayer, JwksCache, OktaClaims, Verified, Verifier, require_scopes};
use okta_sim::{AccessTokenSpec, AuthServer, OktaSim, SimUser};

async fn whoami(claims: Verified<OktaClaims>) -> String {
    claims.sub.clone().unwrap_or_default()
}

struct Setup {
    sim: OktaSim,
    api: String,
    http: reqwest::Client,
}

async fn setup() -> Setup {
    let sim = OktaSim::builder()
        .user(SimUser::new("alice", "pw-alice"))
        .auth_server(
            AuthServer::new("default")
                .audience("api://default")
                .scopes(["mcp:read", "mcp:write"]),
        )
        .start()
        .await
        .unwrap();
    let cache = JwksCache::builder()
        .issuer(sim.issuer("default"))
        .build()
        .await
        .unwrap();
    let verifier = Verifier::builder(cache)
        .audience("api://default")
        .build()
        .unwrap();
    let app = Router::new()
        .route("/api", get(whoami))
        .layer(require_scopes(["mcp:read"]))
        .layer(AuthLayer::new(verifier));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let api = format!("http://{}/api", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    Setup {
        sim,
        api,
        http: reqwest::Client::new(),
    }
}

impl Setup {
    fn mint(&self, spec: AccessTokenSpec) -> String {
        self.sim.mint_access_token("default", spec).unwrap()
    }

    async fn call(&self, token: &str) -> (u16, String) {
        let resp = self
            .http
            .get(&self.api)
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        let status = resp.status().as_u16();
        let challenge = resp
            .headers()
            .get("www-authenticate")
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default();
        (status, challenge)
    }
}

fn alice() -> AccessTokenSpec {
    AccessTokenSpec::for_user("alice").scopes(["mcp:read"])
}

fn invalid(description: &str) -> (u16, String) {
    (
        401,
        format!("Bearer error=\"invalid_token\", error_description=\"{description}\""),
    )
}

#[tokio::test]
async fn sim_tokens_through_the_layer() {
    let s = setup().await;
    let resp = s
        .http
        .get(&s.api)
        .bearer_auth(s.mint(alice()))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.text().await.unwrap(), "alice");

    assert_eq!(
        s.call(&s.mint(alice().expired_since(Duration::from_secs(120))))
            .await,
        invalid("token expired")
    );
    assert_eq!(
        s.call(&s.mint(alice().not_before_in(Duration::from_secs(120))))
            .await,
        invalid("token not yet valid (nbf in the future)")
    );
    assert_eq!(
        s.call(&s.mint(alice().audience("api://other"))).await,
        invalid("wrong audience")
    );
    assert_eq!(
        s.call(&s.mint(alice().issuer("https://evil.example.com/oauth2/default")))
            .await,
        invalid("wrong issuer")
    );
    assert_eq!(
        s.call(&s.mint(alice().without_kid())).await,
        invalid("missing kid in token header")
    );
    assert_eq!(
        s.call(&s.mint(alice().kid("unknown-kid"))).await,
        invalid("unknown kid (no such signing key)")
    );
    let (status, challenge) = s
        .call(&s.mint(AccessTokenSpec::for_user("alice").scopes(["mcp:write"])))
        .await;
    assert_eq!(status, 403);
    assert!(
        challenge.contains("error=\"insufficient_scope\", "),
        "{challenge}"
    );
    assert!(challenge.contains("scope=\"mcp:read\""), "{challenge}");
}

#[tokio::test]
async fn keys_never_loaded_is_503_not_401() {
    let sim = OktaSim::builder()
        .user(SimUser::new("alice", "pw-alice"))
        .start()
        .await
        .unwrap();
    sim.set_outage(true);
    let cache = JwksCache::builder()
        .jwks_uri(sim.jwks_uri("default"))
        .startup(okta_auth::StartupMode::Lazy)
        .build()
        .await
        .unwrap();
    let verifier = Verifier::builder(cache)
        .issuer(sim.issuer("default"))
        .audience(sim.audience("default").unwrap())
        .build()
        .unwrap();
    let app = Router::new()
        .route("/api", get(whoami))
        .layer(AuthLayer::new(verifier));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let api = format!("http://{}/api", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let token = sim
        .mint_access_token("default", AccessTokenSpec::for_user("alice"))
        .unwrap();
    let resp = reqwest::Client::new()
        .get(&api)
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 503);
    assert_eq!(resp.headers()["retry-after"], "5");
    assert!(resp.headers().get("www-authenticate").is_none());
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(body["error"], "temporarily_unavailable");
}
