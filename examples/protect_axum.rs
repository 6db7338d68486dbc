//! Protect an axum API with Okta access tokens, against okta-sim.
//!
//! `/api/hello` needs a token from the `default` authorization server with
//! scope `mcp:read`; the RFC 9728 metadata document tells clients where to
//! get one.
//!
//! ```text
//! cargo run --example protect_axum            # prints curl commands, serves until Ctrl-C
//! cargo run --example protect_axum -- --check # performs them itself, exits 0 if all is well
//! ```
#![allow(clippy::print_stdout)]

use std::error::Error;

use axum::Router;
use axum::routing::get;
use okta_auth::{
    AuthLayer, JwksCache, OktaClaims, ProtectedResourceMetadata, Verified, Verifier, require_scopes,
};
use okta_sim::{AuthServer, GrantType, OktaSim, SimClient};

type BoxError = Box<dyn Error + Send + Sync>;

async fn hello(claims: Verified<OktaClaims>) -> String {
    format!(
        "hello {} (scopes: {})\n",
        claims.sub.as_deref().unwrap_or("?"),
        claims.scp.join(" ")
    )
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let check = std::env::args().any(|a| a == "--check");

    // 1. A local Okta stand-in with one client that may ask for mcp:read / mcp:write.
    let sim = OktaSim::builder()
        .client(
            SimClient::secret("agent", "agent-secret")
                .grants([GrantType::ClientCredentials])
                .scopes(["mcp:read", "mcp:write"]),
        )
        .auth_server(
            AuthServer::new("default")
                .audience("api://default")
                .scopes(["mcp:read", "mcp:write"]),
        )
        .start()
        .await?;
    let issuer = sim.issuer("default");

    // 2. The protected app: keys discovered from the issuer, tokens verified by
    //    AuthLayer, scope enforced by require_scopes, metadata served openly.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    let metadata = ProtectedResourceMetadata::new(format!("{base}/api"))
        .authorization_server(&issuer)
        .scopes(["mcp:read"])
        .resource_name("protect_axum example");
    let jwks = JwksCache::builder().issuer(&issuer).build().await?;
    let verifier = Verifier::builder(jwks).audience("api://default").build()?;
    let app = Router::new()
        .route("/api/hello", get(hello))
        .layer(require_scopes(["mcp:read"]))
        .layer(AuthLayer::new(verifier).resource_metadata_from(&metadata)?)
        .merge(metadata.router()?);
    let server = tokio::spawn(async move { axum::serve(listener, app).await });

    let token_endpoint = sim.token_endpoint("default");
    let api = format!("{base}/api/hello");
    if check {
        let result = self_check(&token_endpoint, &api, &metadata.metadata_url()?).await;
        server.abort();
        result?;
        println!("protect_axum --check: all answers as expected");
        return Ok(());
    }

    println!("okta-sim issuer:  {issuer}");
    println!("protected API:    {api}");
    println!("resource metadata: {}\n", metadata.metadata_url()?);
    println!("# get a token with scope mcp:read from the simulator");
    println!(
        "TOKEN=$(curl -s -u agent:agent-secret -d grant_type=client_credentials -d scope=mcp:read \
         {token_endpoint} | sed -E 's/.*\"access_token\":\"([^\"]+)\".*/\\1/')"
    );
    println!("# call the API with it (200)");
    println!("curl -i -H \"Authorization: Bearer $TOKEN\" {api}");
    println!("# without a token (401 with a WWW-Authenticate challenge)");
    println!("curl -i {api}");
    println!("# with a token lacking mcp:read (403 insufficient_scope)");
    println!(
        "TOKEN_W=$(curl -s -u agent:agent-secret -d grant_type=client_credentials -d scope=mcp:write \
         {token_endpoint} | sed -E 's/.*\"access_token\":\"([^\"]+)\".*/\\1/')"
    );
    println!("curl -i -H \"Authorization: Bearer $TOKEN_W\" {api}");
    println!("\nserving until Ctrl-C");
    tokio::signal::ctrl_c().await?;
    server.abort();
    Ok(())
}

async fn token(http: &reqwest::Client, endpoint: &str, scope: &str) -> Result<String, BoxError> {
    let response = http
        .post(endpoint)
        .basic_auth("agent", Some("agent-secret"))
        .form(&[("grant_type", "client_credentials"), ("scope", scope)])
        .send()
        .await?;
    let status = response.status();
    let body: serde_json::Value = response.json().await?;
    match body["access_token"].as_str() {
        Some(token) if status.is_success() => Ok(token.to_owned()),
        _ => Err(format!("token request for {scope} failed: HTTP {status}: {body}").into()),
    }
}

fn expect(what: &str, got: reqwest::StatusCode, want: u16) -> Result<(), BoxError> {
    if got.as_u16() == want {
        println!("ok   {what}: {got}");
        Ok(())
    } else {
        Err(format!("{what}: expected {want}, got {got}").into())
    }
}

async fn self_check(token_endpoint: &str, api: &str, metadata_url: &str) -> Result<(), BoxError> {
    let http = reqwest::Client::new();

    let read = token(&http, token_endpoint, "mcp:read").await?;
    let resp = http.get(api).bearer_auth(&read).send().await?;
    expect("token with mcp:read", resp.status(), 200)?;
    let body = resp.text().await?;
    if !body.starts_with("hello agent") {
        return Err(format!("unexpected body {body:?}").into());
    }

    let resp = http.get(api).send().await?;
    expect("no token", resp.status(), 401)?;
    let challenge = resp
        .headers()
        .get("www-authenticate")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    if challenge != format!("Bearer resource_metadata=\"{metadata_url}\"") {
        return Err(format!("unexpected challenge {challenge:?}").into());
    }

    let write = token(&http, token_endpoint, "mcp:write").await?;
    let resp = http.get(api).bearer_auth(&write).send().await?;
    expect("token without mcp:read", resp.status(), 403)?;
    let challenge = resp
        .headers()
        .get("www-authenticate")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    if !challenge.contains("error=\"insufficient_scope\"")
        || !challenge.contains("scope=\"mcp:read\"")
    {
        return Err(format!("unexpected challenge {challenge:?}").into());
    }

    let resp = http.get(metadata_url).send().await?;
    expect("protected resource metadata", resp.status(), 200)?;
    Ok(())
}
