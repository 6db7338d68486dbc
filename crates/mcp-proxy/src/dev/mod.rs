//! `--dev`: everything on this machine, no account needed. An embedded
//! okta-sim (org server plus custom server `default`) issues tokens for the
//! dev users; the gateway verifies them and applies seed 001's group tables
//! to the four demo servers, each a child process of this binary.

mod token;

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use okta_sim::{AuthServer, GrantType, GroupsClaim, OktaSim, SimClient, SimUser};

use crate::config::{
    AuthConfig, AuthModeConfig, BackendConfig, GatewayConfig, StdioConfig, TransportConfig,
};
use crate::error::ProxyError;

pub use token::fetch_token;

/// Default address of the dev identity provider.
pub const DEFAULT_IDP_LISTEN: &str = "127.0.0.1:8081";
/// Dev users: login and Okta group.
pub const USERS: &[(&str, &str)] = &[
    ("alice", "Senior Engineers"),
    ("bob", "Junior Engineers"),
    ("carol", "Sales"),
];
/// Password of every dev user.
pub const PASSWORD: &str = "dev-password";
/// The dev OAuth client.
pub const CLIENT_ID: &str = "dev-agent";
/// Its secret.
pub const CLIENT_SECRET: &str = "dev-secret";
/// The custom authorization server the gateway trusts.
pub const AUTH_SERVER: &str = "default";
/// Its audience.
pub const AUDIENCE: &str = "api://default";
/// Scopes the dev client may ask for at the custom server.
pub const SCOPES: &[&str] = &["mcp:read", "mcp:write"];
/// The dev policy (seed 001's group tables), as shipped.
pub const POLICY_YAML: &str = include_str!("policy.yaml");

/// Starts the dev identity provider on `listen` (`127.0.0.1:0` for a random port).
pub async fn start_idp(listen: SocketAddr) -> Result<OktaSim, ProxyError> {
    let mut builder = OktaSim::builder().listen(listen);
    for (login, group) in USERS {
        builder = builder.user(SimUser::new(*login, PASSWORD).groups([*group, "Everyone"]));
    }
    builder
        .client(
            SimClient::secret(CLIENT_ID, CLIENT_SECRET)
                .grants([
                    GrantType::Password,
                    GrantType::ClientCredentials,
                    GrantType::RefreshToken,
                ])
                .scopes([
                    "openid",
                    "profile",
                    "email",
                    "offline_access",
                    "mcp:read",
                    "mcp:write",
                ]),
        )
        .auth_server(
            AuthServer::new(AUTH_SERVER)
                .audience(AUDIENCE)
                .scopes(SCOPES.iter().copied())
                .default_scopes(["mcp:read"])
                .groups_claim(GroupsClaim::all())
                .access_token_ttl(Duration::from_secs(3600)),
        )
        .start()
        .await
        .map_err(|e| ProxyError::DevIdp(format!("cannot start on {listen}: {e}")))
}

/// The gateway config of dev mode: `file`'s backends and policy when given,
/// else the four demo servers (children of `demo_exe`) under the dev policy;
/// always verifying tokens of the dev identity provider.
pub fn gateway_config(
    sim: &OktaSim,
    listen: SocketAddr,
    demo_exe: &Path,
    file: Option<GatewayConfig>,
) -> Result<GatewayConfig, ProxyError> {
    let mut config = match file {
        Some(config) => config,
        None => {
            let backends = crate::demo::NAMES
                .iter()
                .map(|name| demo_backend(name, demo_exe))
                .collect();
            let mut config = GatewayConfig::with_backends(backends);
            config.policy = Some(
                mcp_authz::Policy::from_yaml(POLICY_YAML)
                    .map_err(|e| ProxyError::Policy(format!("dev policy: {e}")))?,
            );
            config
        }
    };
    config.listen = listen;
    // Clients that sign in (authorization code + PKCE) name the gateway as their
    // RFC 8707 resource: okta-sim issues such tokens with `aud` = that URL, and
    // the gateway accepts them beside the password-grant tokens of `api://default`.
    let resource = format!("http://{listen}{}", config.path);
    sim.allow_resource(AUTH_SERVER, resource.clone())
        .map_err(|e| ProxyError::DevIdp(format!("cannot serve resource {resource}: {e}")))?;
    config.auth = Some(AuthConfig {
        issuer: sim.issuer(AUTH_SERVER),
        audiences: vec![AUDIENCE.to_owned(), resource.clone()],
        jwks_uri: Some(sim.jwks_uri(AUTH_SERVER)),
        mode: AuthModeConfig::Strict,
        resource: Some(resource),
        scopes_supported: SCOPES.iter().map(|s| (*s).to_owned()).collect(),
        challenge_scopes: vec![SCOPES[0].to_owned()],
    });
    Ok(config)
}

fn demo_backend(name: &str, exe: &Path) -> BackendConfig {
    BackendConfig {
        name: name.to_owned(),
        prefix: None,
        timeout: None,
        backoff_initial: Duration::from_millis(250),
        backoff_max: Duration::from_secs(30),
        transport: TransportConfig::Stdio(StdioConfig {
            command: exe.display().to_string(),
            args: vec!["demo-server".to_owned(), name.to_owned()],
            env: Default::default(),
            cwd: None,
        }),
        credentials: Default::default(),
    }
}

/// What `--dev --stdio --dev-user <user>` prints on stderr when it serves
/// (stdout is the MCP channel).
pub fn stdio_banner(idp_base: &str, user: &str) -> String {
    let group = USERS
        .iter()
        .find(|(login, _)| *login == user)
        .map_or("no group", |(_, group)| group);
    format!(
        "mcp-proxy --dev --stdio is serving MCP on stdin/stdout (everything local, nothing real):\n  \
         caller:   {user} ({group}), token from the embedded identity provider, scopes {}\n  \
         idp:      {idp_base}  (okta-sim; issuer {idp_base}/oauth2/{AUTH_SERVER})\n  \
         policy:   seed 001's group tables, unless --config gives one\n\
         Close stdin to stop.",
        SCOPES.join(" ")
    )
}

/// The ready-to-paste commands printed when dev mode starts.
pub fn banner(idp_base: &str, mcp_url: &str) -> String {
    let token_url = format!("{idp_base}/oauth2/{AUTH_SERVER}/v1/token");
    let mut out = String::new();
    out.push_str("mcp-proxy --dev is running (everything local, nothing real):\n");
    out.push_str(&format!("  gateway:  {mcp_url}\n"));
    out.push_str(&format!(
        "  idp:      {idp_base}  (okta-sim; issuer {idp_base}/oauth2/{AUTH_SERVER})\n"
    ));
    out.push_str(&format!(
        "  users:    alice (Senior Engineers), bob (Junior Engineers), carol (Sales); password {PASSWORD}\n"
    ));
    out.push_str(&format!("  client:   {CLIENT_ID} / {CLIENT_SECRET}\n\n"));
    out.push_str("Get a token (password grant) for a user:\n");
    out.push_str(&format!(
        "  TOKEN=$(curl -s -u {CLIENT_ID}:{CLIENT_SECRET} -d grant_type=password -d username=alice \\\n      -d password={PASSWORD} -d 'scope=mcp:read mcp:write' {token_url} \\\n      | sed -E 's/.*\"access_token\":\"([^\"]+)\".*/\\1/')\n"
    ));
    out.push_str("  # or: TOKEN=$(mcp-proxy dev token --user alice)\n\n");
    out.push_str("Open an MCP session and list the tools alice may use:\n");
    let headers = "-H \"Authorization: Bearer $TOKEN\" -H 'Content-Type: application/json' -H 'Accept: application/json, text/event-stream'";
    out.push_str(&format!(
        "  SID=$(curl -s -D - -o /dev/null {headers} \\\n      -d '{{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\",\"params\":{{\"protocolVersion\":\"2025-11-25\",\"capabilities\":{{}},\"clientInfo\":{{\"name\":\"curl\",\"version\":\"1\"}}}}}}' \\\n      {mcp_url} | awk 'tolower($1)==\"mcp-session-id:\"{{print $2}}' | tr -d '\\r')\n"
    ));
    out.push_str(&format!(
        "  curl -s {headers} -H \"Mcp-Session-Id: $SID\" -H 'MCP-Protocol-Version: 2025-11-25' \\\n      -d '{{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}}' {mcp_url}\n"
    ));
    out.push_str(&format!(
        "  curl -s {headers} -H \"Mcp-Session-Id: $SID\" -H 'MCP-Protocol-Version: 2025-11-25' \\\n      -d '{{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/list\"}}' {mcp_url}\n\n"
    ));
    out.push_str("Push to a branch (allowed for alice, not to main; bob may not push):\n");
    out.push_str(&format!(
        "  curl -s {headers} -H \"Mcp-Session-Id: $SID\" -H 'MCP-Protocol-Version: 2025-11-25' \\\n      -d '{{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"tools/call\",\"params\":{{\"name\":\"github_push_to_branch\",\"arguments\":{{\"repo\":\"acme/web\",\"branch\":\"feature-1\",\"message\":\"hi\"}}}}}}' {mcp_url}\n"
    ));
    out
}
