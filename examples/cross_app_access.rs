//! Okta cross-app access (seed 002's agent0 → todo0 flow) end to end against okta-sim:
//!
//! 1. alice signs in to the agent's app (password grant at the org server) → ID token;
//! 2. the agent exchanges the ID token for an ID-JAG at the org server (RFC 8693);
//! 3. the agent trades the ID-JAG for an MCP access token at the todo0 authorization
//!    server (RFC 7523 JWT-bearer) with `mcp:connect mcp:tools:read`;
//! 4. it lists todos (200);
//! 5. deleting a todo answers `403 insufficient_scope` asking for `mcp:tools:manage`;
//! 6. the agent steps up (the whole flow again with the wider scope set, via `IdJagFlow`);
//! 7. the delete succeeds.
//!
//! ```text
//! cargo run --example cross_app_access            # prints each step
//! cargo run --example cross_app_access -- --check # asserts each step, exits 0 if all is well
//! ```
#![allow(clippy::print_stdout)]

use std::error::Error;

use axum::Router;
use axum::routing::{delete, get};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use id_jag::{
    IdJagFlow, JwtBearerClient, TOKEN_TYPE_ID_JAG, TOKEN_TYPE_ID_TOKEN, TokenExchangeClient,
    TokenExchangeRequest, insufficient_scope,
};
use okta_auth::{
    AuthLayer, ClientAuth, JwksCache, OktaClaims, TokenEndpointClient, Verified, Verifier,
    require_scopes,
};
use okta_sim::{AuthServer, GrantType, OktaSim, SimClient, SimUser};
use serde_json::Value;

type BoxError = Box<dyn Error + Send + Sync>;

const READ: [&str; 2] = ["mcp:connect", "mcp:tools:read"];

/// Prints a step; in `--check` mode fails unless `ok`.
struct Steps {
    check: bool,
}

impl Steps {
    fn step(&self, what: &str, ok: bool, detail: impl std::fmt::Display) -> Result<(), BoxError> {
        println!("{what}\n     {detail}");
        if self.check && !ok {
            return Err(format!("check failed: {what}: {detail}").into());
        }
        Ok(())
    }
}

fn jwt_part(jwt: &str, index: usize) -> Result<Value, BoxError> {
    let part = jwt.split('.').nth(index).ok_or("not a JWT")?;
    Ok(serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part)?)?)
}

async fn list_todos(claims: Verified<OktaClaims>) -> String {
    format!(
        "todos of {}: 1. prep the Okta demo, 2. write docs, 3. old item\n",
        claims.sub.as_deref().unwrap_or("?")
    )
}

async fn delete_todo() -> &'static str {
    "deleted todo 3\n"
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let steps = Steps {
        check: std::env::args().any(|a| a == "--check"),
    };

    // The Okta side: org server (ID tokens, ID-JAGs) and the todo0 MCP authorization server.
    let scopes = [
        "openid",
        "mcp:connect",
        "mcp:tools:read",
        "mcp:tools:manage",
    ];
    let sim = OktaSim::builder()
        .user(SimUser::new("alice", "pw-alice").groups(["mcp-developers"]))
        .client(
            SimClient::secret("agent0", "agent0-secret")
                .grants([
                    GrantType::Password,
                    GrantType::TokenExchange,
                    GrantType::JwtBearer,
                ])
                .scopes(scopes),
        )
        .auth_server(AuthServer::new("todo").audience("api://todo0").scopes([
            "mcp:connect",
            "mcp:tools:read",
            "mcp:tools:manage",
        ]))
        .start()
        .await?;
    // Okta admin: Directory → AI Agents → agent0 → Managed connections → the todo0 AS.
    sim.add_managed_connection("agent0", "todo");
    let todo_issuer = sim.issuer("todo");

    // todo0's MCP endpoints: tokens from the todo0 AS, read vs manage scopes.
    let jwks = JwksCache::builder().issuer(&todo_issuer).build().await?;
    let verifier = Verifier::builder(jwks).audience("api://todo0").build()?;
    let app = Router::new()
        .route(
            "/mcp/todos",
            get(list_todos).route_layer(require_scopes(["mcp:tools:read"])),
        )
        .route(
            "/mcp/todos/3",
            delete(delete_todo).route_layer(require_scopes(["mcp:tools:manage"])),
        )
        .layer(AuthLayer::new(verifier));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let mcp = format!("http://{}/mcp", listener.local_addr()?);
    let server = tokio::spawn(async move { axum::serve(listener, app).await });

    let result = run(&steps, &sim, &todo_issuer, &mcp).await;
    server.abort();
    result?;
    if steps.check {
        println!("cross_app_access --check: every step as expected");
    }
    Ok(())
}

async fn run(steps: &Steps, sim: &OktaSim, todo_issuer: &str, mcp: &str) -> Result<(), BoxError> {
    let auth = ClientAuth::client_secret_basic("agent0", "agent0-secret");
    let http = reqwest::Client::new();

    // 1. alice signs in.
    let org = TokenEndpointClient::new(sim.org_token_endpoint(), auth.clone())?;
    let signed_in = org
        .request(vec![
            ("grant_type".into(), "password".into()),
            ("username".into(), "alice".into()),
            ("password".into(), "pw-alice".into()),
            ("scope".into(), "openid".into()),
        ])
        .await?;
    let id_token = signed_in.id_token().ok_or("no id_token")?.to_owned();
    let id_claims = jwt_part(&id_token, 1)?;
    steps.step(
        "1. alice signed in at the org server: ID token",
        id_claims["iss"] == sim.org_issuer() && id_claims["preferred_username"] == "alice",
        format!(
            "iss={} sub={} aud={}",
            id_claims["iss"], id_claims["sub"], id_claims["aud"]
        ),
    )?;

    // 2. ID token → ID-JAG at the org server.
    let exchange = TokenExchangeClient::new(org.clone());
    let jag = exchange
        .exchange(
            &TokenExchangeRequest::new(&id_token, TOKEN_TYPE_ID_TOKEN)
                .requested_token_type(TOKEN_TYPE_ID_JAG)
                .audience(todo_issuer)
                .scopes(READ),
        )
        .await?;
    let (header, claims) = (
        jwt_part(jag.access_token(), 0)?,
        jwt_part(jag.access_token(), 1)?,
    );
    steps.step(
        "2. token exchange at the org server: ID token -> ID-JAG",
        jag.issued_token_type == TOKEN_TYPE_ID_JAG
            && jag.token_type == "N_A"
            && header["typ"] == "oauth-id-jag+jwt"
            && claims["aud"] == todo_issuer
            && claims["client_id"] == "agent0",
        format!(
            "typ={} aud={} client_id={} scope={}",
            header["typ"], claims["aud"], claims["client_id"], claims["scope"]
        ),
    )?;

    // 3. ID-JAG → MCP access token at the todo0 authorization server.
    let bearer = JwtBearerClient::new(TokenEndpointClient::new(
        sim.token_endpoint("todo"),
        auth.clone(),
    )?);
    let token = bearer.grant(jag.access_token(), &[]).await?;
    steps.step(
        "3. JWT-bearer grant at the todo0 AS: ID-JAG -> access token",
        token.scopes() == READ,
        format!("scopes: {}", token.scopes().join(" ")),
    )?;

    // 4. List todos.
    let resp = http
        .get(format!("{mcp}/todos"))
        .bearer_auth(token.secret())
        .send()
        .await?;
    let status = resp.status();
    let body = resp.text().await?;
    steps.step(
        "4. GET /mcp/todos with mcp:tools:read",
        status == 200 && body.starts_with("todos of alice"),
        format!("{status}: {}", body.trim()),
    )?;

    // 5. Delete needs mcp:tools:manage.
    let resp = http
        .delete(format!("{mcp}/todos/3"))
        .bearer_auth(token.secret())
        .send()
        .await?;
    let status = resp.status();
    let challenge = resp
        .headers()
        .get("www-authenticate")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let more = insufficient_scope(&challenge).unwrap_or_default();
    steps.step(
        "5. DELETE /mcp/todos/3 without mcp:tools:manage",
        status == 403 && more == ["mcp:tools:manage"],
        format!("{status}, WWW-Authenticate: {challenge}"),
    )?;

    // 6. Step up: the whole flow again with the wider scope set.
    let flow = IdJagFlow::builder()
        .idp_token_endpoint(sim.org_token_endpoint())
        .resource_token_endpoint(sim.token_endpoint("todo"))
        .audience(todo_issuer)
        .client_auth(auth)
        .build()?;
    let wider = flow.step_up(&id_token, &token, &more).await?;
    steps.step(
        "6. step-up via IdJagFlow (new ID-JAG, new access token)",
        wider.scopes().iter().any(|s| s == "mcp:tools:manage"),
        format!("scopes: {}", wider.scopes().join(" ")),
    )?;

    // 7. Retry once with the wider token.
    let resp = http
        .delete(format!("{mcp}/todos/3"))
        .bearer_auth(wider.secret())
        .send()
        .await?;
    let status = resp.status();
    let body = resp.text().await?;
    steps.step(
        "7. DELETE /mcp/todos/3 after step-up",
        status == 200,
        format!("{status}: {}", body.trim()),
    )?;
    Ok(())
}
