//! The MCP client the official conformance suite (`@modelcontextprotocol/conformance`) drives
//! in its `auth/*` client scenarios: an rmcp client whose HTTP client is
//! `okta_auth::mcp_client::AuthorizedHttpClient`, so the 401 → RFC 9728 → RFC 8414 → token →
//! retry dance is ours, not the suite's.
//!
//! The suite runs `conformance_client <server-url>` with `MCP_CONFORMANCE_SCENARIO` and
//! `MCP_CONFORMANCE_CONTEXT` (JSON) in the environment. The context fields map onto our
//! public API, nothing scenario-specific beyond that:
//!
//! | context field                      | maps to                                              |
//! |------------------------------------|------------------------------------------------------|
//! | `idp_id_token`, `idp_token_endpoint` | `id_jag::IdJagProvider` (enterprise-managed auth)  |
//! | `idp_client_id`                    | `ClientAuth::none` at the IdP                        |
//! | `private_key_pem` (+ `signing_algorithm`) | `ClientAuth::private_key_jwt` + `SigningKey::from_pem` |
//! | `client_id`, `client_secret`       | `ClientAuth::client_secret_basic` (or `_post` when `token_endpoint_auth_method` says so) |
//! | `issuer`                           | `McpAuthClientBuilder::authorization_server`         |
//!
//! It connects, lists the tools, calls the first one with `{}` and exits 0; any failure exits
//! 1 with the error on stderr, including an `MCP_CONFORMANCE_CONTEXT` that is not a JSON
//! object (an absent one counts as `{}`). `--check` only validates the context mapping on
//! built-in samples (scripts/check-examples runs it); `scripts/conformance` runs the real
//! thing. Which scenarios pass, and why the others cannot: `docs/conformance.md`.
//!
//! ```text
//! scripts/conformance                      # installs the suite, runs the scenarios
//! ```
#![allow(clippy::print_stdout)]

use std::error::Error;

use id_jag::IdJagProvider;
use okta_auth::mcp_client::{
    AuthorizedHttpClient, ClientCredentials, McpAuthClient, TokenProvider,
};
use okta_auth::{ClientAuth, SigningKey};
use rmcp::ServiceExt;
use rmcp::model::CallToolRequestParams;
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use serde_json::{Map, Value};

type BoxError = Box<dyn Error + Send + Sync>;

fn field<'a>(context: &'a Map<String, Value>, name: &str) -> Option<&'a str> {
    context.get(name).and_then(Value::as_str)
}

/// The token flow the context describes.
fn provider(context: &Map<String, Value>) -> Result<Box<dyn TokenProvider>, BoxError> {
    let client_id = field(context, "client_id").ok_or("the context has no client_id")?;
    let secret_auth = |secret: &str| match field(context, "token_endpoint_auth_method") {
        Some("client_secret_post") => ClientAuth::client_secret_post(client_id, secret),
        _ => ClientAuth::client_secret_basic(client_id, secret),
    };
    if let Some(id_token) = field(context, "idp_id_token") {
        let secret =
            field(context, "client_secret").ok_or("enterprise-managed auth needs client_secret")?;
        let mut builder = IdJagProvider::builder()
            .idp_token_endpoint(
                field(context, "idp_token_endpoint")
                    .ok_or("the context has no idp_token_endpoint")?,
            )
            .id_token(id_token)
            .client_auth(secret_auth(secret));
        if let Some(idp_client) = field(context, "idp_client_id") {
            builder = builder.idp_client_auth(ClientAuth::none(idp_client));
        }
        return Ok(Box::new(builder.build()?));
    }
    if let Some(pem) = field(context, "private_key_pem") {
        let key = SigningKey::from_pem(pem)?;
        if let Some(alg) = field(context, "signing_algorithm")
            && alg != key.algorithm()
        {
            return Err(format!(
                "the key is {} but the context asks for {alg}",
                key.algorithm()
            )
            .into());
        }
        return Ok(Box::new(ClientCredentials::new(
            ClientAuth::private_key_jwt(client_id, key),
        )));
    }
    let secret = field(context, "client_secret").ok_or("the context has no credentials")?;
    Ok(Box::new(ClientCredentials::new(secret_auth(secret))))
}

/// The MCP auth client the context describes: its flow, and (`issuer`) the authorization
/// server to use among those the resource lists.
fn client(context: &Map<String, Value>) -> Result<McpAuthClient, BoxError> {
    let mut builder = McpAuthClient::builder(provider(context)?);
    if let Some(issuer) = field(context, "issuer") {
        builder = builder.authorization_server(issuer);
    }
    Ok(builder.build()?)
}

async fn run(server_url: &str, context: &Map<String, Value>) -> Result<(), BoxError> {
    let auth = client(context)?;
    let http = AuthorizedHttpClient::new(reqwest::Client::new(), auth);
    let transport = StreamableHttpClientTransport::with_client(
        http,
        StreamableHttpClientTransportConfig::with_uri(server_url),
    );
    let client = ().serve(transport).await?;
    let tools = client.list_all_tools().await?;
    eprintln!("conformance_client: {} tool(s)", tools.len());
    if let Some(tool) = tools.first() {
        let result = client
            .call_tool(CallToolRequestParams::new(tool.name.clone()).with_arguments(Map::new()))
            .await?;
        eprintln!(
            "conformance_client: called {} (is_error: {:?})",
            tool.name, result.is_error
        );
    }
    client.cancel().await?;
    Ok(())
}

/// `MCP_CONFORMANCE_CONTEXT` as a JSON object: absent means empty, anything else that is
/// not a JSON object is an error (never silently replaced by an empty context).
fn context_from_env() -> Result<Map<String, Value>, BoxError> {
    match std::env::var("MCP_CONFORMANCE_CONTEXT") {
        Ok(json) => parse_context(&json),
        Err(std::env::VarError::NotPresent) => Ok(Map::new()),
        Err(e) => Err(format!("MCP_CONFORMANCE_CONTEXT: {e}").into()),
    }
}

fn parse_context(json: &str) -> Result<Map<String, Value>, BoxError> {
    serde_json::from_str(json).map_err(|e| {
        format!("MCP_CONFORMANCE_CONTEXT is not a JSON object ({e}): refusing to run without it")
            .into()
    })
}

/// `--check`: every sample context maps onto a provider, and a broken one is refused.
fn check() -> Result<(), BoxError> {
    let ec_pem = include_str!("../crates/okta-auth/tests/fixtures/ec_pkcs8.pem");
    let samples = [
        serde_json::json!({"client_id": "c", "client_secret": "s"}),
        serde_json::json!({"client_id": "c", "client_secret": "s", "token_endpoint_auth_method": "client_secret_post"}),
        serde_json::json!({"client_id": "c", "client_secret": "s", "issuer": "http://127.0.0.1:1"}),
        serde_json::json!({"client_id": "c", "private_key_pem": ec_pem, "signing_algorithm": "ES256"}),
        serde_json::json!({"client_id": "c", "client_secret": "s", "idp_id_token": "a.b.c",
            "idp_token_endpoint": "http://127.0.0.1:1/token", "idp_client_id": "i"}),
    ];
    for sample in samples {
        let context = sample.as_object().ok_or("sample is not an object")?;
        client(context)?;
    }
    let broken = [
        serde_json::json!({"client_id": "c"}),
        serde_json::json!({"client_id": "c", "private_key_pem": ec_pem, "signing_algorithm": "RS256"}),
    ];
    for sample in broken {
        if provider(sample.as_object().ok_or("not an object")?).is_ok() {
            return Err(format!("a broken context was accepted: {sample}").into());
        }
    }
    for unparsable in ["", "{", "not json", "[1, 2]", r#"{"client_id": 1"#] {
        if parse_context(unparsable).is_ok() {
            return Err(format!("an unparsable context was accepted: {unparsable:?}").into());
        }
    }
    if parse_context(r#"{"client_id": "c"}"#)?.len() != 1 {
        return Err("a valid context was not parsed".into());
    }
    println!("conformance_client --check: context mapping ok");
    Ok(())
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let outcome = if args.iter().any(|a| a == "--check") {
        check()
    } else {
        match args.last() {
            None => Err(
                "usage: conformance_client <server-url> (MCP_CONFORMANCE_CONTEXT in the env)"
                    .into(),
            ),
            Some(url) => match context_from_env() {
                Err(e) => Err(e),
                Ok(context) => {
                    let scenario = std::env::var("MCP_CONFORMANCE_SCENARIO").unwrap_or_default();
                    eprintln!("conformance_client: scenario {scenario:?} against {url}");
                    run(url, &context).await
                }
            },
        }
    };
    if let Err(e) = outcome {
        eprintln!("conformance_client: error: {e}");
        let mut source = e.source();
        while let Some(s) = source {
            eprintln!("  caused by: {s}");
            source = s.source();
        }
        std::process::exit(1);
    }
}
