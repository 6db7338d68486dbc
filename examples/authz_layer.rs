//! An MCP server (rmcp, streamable HTTP) with four tools behind okta-auth
//! (token verification) and mcp-authz (seed 004's scope RBAC and deny rule),
//! against okta-sim.
//!
//! ```text
//! cargo run --example authz_layer            # prints curl commands, serves until Ctrl-C
//! cargo run --example authz_layer -- --check # performs them itself, exits 0 if all is well
//! ```
//!
//! What the commands show: `tools/list` filtered to the caller's scopes, an
//! allowed call, a call denied by the `no-destructive` rule (JSON-RPC error),
//! and a call needing `mcp:write` answered `403` with a step-up challenge.
#![allow(clippy::print_stdout)]

use std::error::Error;

use mcp_authz::{Authorizer, AuthzLayer, Identity, Policy};
use okta_auth::{AuthLayer, JwksCache, OktaClaims, ProtectedResourceMetadata, Verified, Verifier};
use okta_sim::{AuthServer, GrantType, OktaSim, SimClient};
use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::model::{ServerCapabilities, ServerConfig};
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use rmcp::{ServerHandler, tool, tool_handler, tool_router};
use serde_json::{Value, json};

type BoxError = Box<dyn Error + Send + Sync>;

/// Seed 004 (AgentCore + AgentGateway): the scopes as a table, so a call the
/// token's scopes do not cover can name the scope to step up to; the deny rule verbatim.
const POLICY: &str = r#"
default: deny
scopes:
  mcp:read: ["list_*", "get_*"]
  mcp:write: ["post_*", "create_*"]
rules:
  - name: no-destructive
    description: Destructive operations are always blocked
    deny: "tool.name.contains('delete') || tool.name.contains('merge_pull_request')"
"#;

#[derive(Clone)]
struct Tools {
    tool_router: ToolRouter<Self>,
}

#[tool_router]
impl Tools {
    #[tool(description = "List chat channels")]
    fn list_channels(&self) -> String {
        "general, random".into()
    }

    #[tool(description = "Get an issue")]
    fn get_issue(&self) -> String {
        "MCP-1: make authorization boring".into()
    }

    #[tool(description = "Post a message")]
    fn post_message(&self) -> String {
        "posted".into()
    }

    #[tool(description = "Delete a channel")]
    fn delete_channel(&self) -> String {
        "deleted".into()
    }
}

#[tool_handler(router = self.tool_router)]
impl ServerHandler for Tools {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
    }
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let check = std::env::args().any(|a| a == "--check");

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

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    let mcp_url = format!("{base}/mcp");
    let metadata = ProtectedResourceMetadata::new(&mcp_url)
        .authorization_server(&issuer)
        .scopes(["mcp:read", "mcp:write"])
        .resource_name("authz_layer example");
    let verifier = Verifier::builder(JwksCache::builder().issuer(&issuer).build().await?)
        .audience("api://default")
        .build()?;

    // okta-auth verifies the token and puts Verified<OktaClaims> in the extensions;
    // mcp-authz reads the claims from there and decides every MCP request.
    let authz = AuthzLayer::new(Authorizer::new(Policy::from_yaml(POLICY)?)?)
        .identity(|parts: &http::request::Parts| {
            let claims = parts.extensions.get::<Verified<OktaClaims>>()?;
            Some(Identity::from_claims(claims.raw.clone()))
        })
        .resource_metadata(metadata.metadata_url()?);
    let mcp: StreamableHttpService<Tools, LocalSessionManager> = StreamableHttpService::new(
        || {
            Ok(Tools {
                tool_router: Tools::tool_router(),
            })
        },
        Default::default(),
        StreamableHttpServerConfig::default()
            .with_legacy_session_mode(false)
            .with_json_response(true),
    );
    let service = tower::ServiceBuilder::new()
        .layer(AuthLayer::new(verifier).resource_metadata_from(&metadata)?)
        .layer(authz)
        .service(mcp);
    let app = axum::Router::new()
        .route_service("/mcp", service)
        .merge(metadata.router()?);
    let server = tokio::spawn(async move { axum::serve(listener, app).await });

    let token_endpoint = sim.token_endpoint("default");
    if check {
        let result = self_check(&token_endpoint, &mcp_url).await;
        server.abort();
        result?;
        println!("authz_layer --check: all answers as expected");
        return Ok(());
    }

    let token_cmd = |var: &str, scope: &str| {
        format!(
            "{var}=$(curl -s -u agent:agent-secret -d grant_type=client_credentials -d 'scope={scope}' \
             {token_endpoint} | sed -E 's/.*\"access_token\":\"([^\"]+)\".*/\\1/')"
        )
    };
    let mcp_cmd = |var: &str, body: &str| {
        format!(
            "curl -i -H \"Authorization: Bearer ${var}\" -H 'Content-Type: application/json' \
             -H 'Accept: application/json, text/event-stream' -d '{body}' {mcp_url}"
        )
    };
    println!("okta-sim issuer: {issuer}");
    println!("MCP endpoint:    {mcp_url}\n");
    println!("# tokens from the simulator: one with mcp:read, one with mcp:read and mcp:write");
    println!("{}", token_cmd("READ", "mcp:read"));
    println!("{}", token_cmd("WRITE", "mcp:read mcp:write"));
    println!("\n# tools/list, filtered to what mcp:read allows (list_channels, get_issue)");
    println!(
        "{}",
        mcp_cmd("READ", r#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#)
    );
    println!("\n# an allowed call");
    println!("{}", mcp_cmd("READ", &call_body(2, "list_channels")));
    println!("\n# a denied call: JSON-RPC error naming the rule no-destructive");
    println!("{}", mcp_cmd("WRITE", &call_body(3, "delete_channel")));
    println!(
        "\n# a call needing mcp:write: 403 with error=\"insufficient_scope\", scope=\"mcp:write\""
    );
    println!("{}", mcp_cmd("READ", &call_body(4, "post_message")));
    println!("\nserving until Ctrl-C");
    tokio::signal::ctrl_c().await?;
    server.abort();
    Ok(())
}

fn call_body(id: u64, tool: &str) -> String {
    json!({"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": {"name": tool, "arguments": {}}})
        .to_string()
}

async fn token(http: &reqwest::Client, endpoint: &str, scope: &str) -> Result<String, BoxError> {
    let response = http
        .post(endpoint)
        .basic_auth("agent", Some("agent-secret"))
        .form(&[("grant_type", "client_credentials"), ("scope", scope)])
        .send()
        .await?;
    let status = response.status();
    let body: Value = response.json().await?;
    match body["access_token"].as_str() {
        Some(token) if status.is_success() => Ok(token.to_owned()),
        _ => Err(format!("token request for {scope} failed: HTTP {status}: {body}").into()),
    }
}

async fn rpc(
    http: &reqwest::Client,
    url: &str,
    token: Option<&str>,
    body: String,
) -> Result<(u16, String, Value), BoxError> {
    let mut req = http
        .post(url)
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .body(body);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let resp = req.send().await?;
    let status = resp.status().as_u16();
    let challenge = resp
        .headers()
        .get("www-authenticate")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let text = resp.text().await?;
    let value = serde_json::from_str(&text).unwrap_or(Value::Null);
    Ok((status, challenge, value))
}

fn ensure(what: &str, ok: bool, detail: impl std::fmt::Debug) -> Result<(), BoxError> {
    if ok {
        println!("ok   {what}");
        Ok(())
    } else {
        Err(format!("{what}: unexpected answer {detail:?}").into())
    }
}

async fn self_check(token_endpoint: &str, url: &str) -> Result<(), BoxError> {
    let http = reqwest::Client::new();
    let read = token(&http, token_endpoint, "mcp:read").await?;
    let write = token(&http, token_endpoint, "mcp:read mcp:write").await?;

    let list = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"}).to_string();
    let (status, _, v) = rpc(&http, url, Some(&read), list.clone()).await?;
    let mut names: Vec<&str> = v["result"]["tools"]
        .as_array()
        .map(|ts| ts.iter().filter_map(|t| t["name"].as_str()).collect())
        .unwrap_or_default();
    names.sort_unstable();
    ensure(
        "tools/list with mcp:read shows list_channels and get_issue only",
        status == 200 && names == ["get_issue", "list_channels"],
        (&status, &names),
    )?;

    let (status, _, v) = rpc(&http, url, Some(&read), call_body(2, "list_channels")).await?;
    ensure(
        "list_channels with mcp:read is allowed",
        status == 200 && v["result"]["content"][0]["text"] == "general, random",
        (&status, &v),
    )?;

    let (status, _, v) = rpc(&http, url, Some(&write), call_body(3, "delete_channel")).await?;
    let message = v["error"]["message"].as_str().unwrap_or_default();
    ensure(
        "delete_channel is denied by rule no-destructive",
        status == 200
            && v["error"]["code"] == mcp_authz::layer::FORBIDDEN
            && message.contains("no-destructive"),
        (&status, &v),
    )?;

    let (status, challenge, _) = rpc(&http, url, Some(&read), call_body(4, "post_message")).await?;
    ensure(
        "post_message with mcp:read only is a 403 step-up to mcp:write",
        status == 403
            && challenge.contains("error=\"insufficient_scope\"")
            && challenge.contains("scope=\"mcp:write\"")
            && challenge.contains("resource_metadata=\""),
        (&status, &challenge),
    )?;

    let (status, _, v) = rpc(&http, url, Some(&write), call_body(5, "post_message")).await?;
    ensure(
        "post_message after stepping up to mcp:write is allowed",
        status == 200 && v["result"]["content"][0]["text"] == "posted",
        (&status, &v),
    )?;

    let (status, challenge, _) = rpc(&http, url, None, list).await?;
    ensure(
        "no token is a 401 from okta-auth",
        status == 401 && challenge.starts_with("Bearer"),
        (&status, &challenge),
    )?;
    Ok(())
}
