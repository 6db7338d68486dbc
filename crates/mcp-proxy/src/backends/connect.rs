//! Opening one connection to a backend: a child process (stdio, demo) or a
//! streamable-HTTP client.

use std::process::Stdio;

use okta_auth::mcp_client::{AuthorizedHttpClient, McpAuthClient};
use rmcp::ServiceExt;
use rmcp::service::{RoleClient, RunningService};
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use rmcp::transport::{StreamableHttpClientTransport, TokioChildProcess};
use tokio::io::{AsyncBufReadExt, BufReader};

use super::client::BackendClient;
use super::lane::SessionHeaders;
use super::reuse::{Reusable, TokenSlot};
use crate::config::{BackendConfig, TransportConfig};
use crate::stdio::TOKEN_ENV;
use std::sync::Arc;

/// A live connection plus the child's process id, when there is a child.
pub(crate) struct Connection {
    pub(crate) service: RunningService<RoleClient, BackendClient>,
    pub(crate) pid: Option<u32>,
    /// What the fast lane needs (HTTP backends that authorize with a header
    /// or nothing): the HTTP client, the URL and the captured headers.
    pub(crate) lane: Option<(reqwest::Client, String, Arc<SessionHeaders>)>,
}

/// Connects (spawning the child if any) and runs the MCP handshake.
pub(crate) async fn connect(
    config: &BackendConfig,
    client: BackendClient,
    auth_header: Option<(http::HeaderName, http::HeaderValue)>,
    mcp_auth: Option<McpAuthClient>,
    token: Option<TokenSlot>,
) -> Result<Connection, String> {
    match &config.transport {
        TransportConfig::Stdio(stdio) => {
            let mut command = tokio::process::Command::new(&stdio.command);
            command.args(&stdio.args).envs(&stdio.env);
            // The stdio front's caller token is the caller's, not the
            // backend's: passed on only when `stdio.env` names it.
            if !stdio.env.contains_key(TOKEN_ENV) {
                command.env_remove(TOKEN_ENV);
            }
            if let Some(cwd) = &stdio.cwd {
                command.current_dir(cwd);
            }
            spawn(config, command, client).await
        }
        TransportConfig::Demo(name) => {
            let exe = std::env::current_exe()
                .map_err(|e| format!("cannot find the mcp-proxy executable: {e}"))?;
            let mut command = tokio::process::Command::new(exe);
            command
                .args(["demo-server", name.as_str()])
                .env_remove(TOKEN_ENV);
            spawn(config, command, client).await
        }
        TransportConfig::Http(http) => {
            let mut transport_config =
                StreamableHttpClientTransportConfig::with_uri(http.url.as_str());
            if let Some((name, value)) = auth_header {
                transport_config =
                    transport_config.custom_headers([(name, value)].into_iter().collect());
            }
            // No redirects: credentials are never re-sent to another origin.
            // Idle connections are kept for reuse (one TCP connection per call
            // cost more than the rest of the hop); TCP_NODELAY because the
            // answers come back as SSE written in pieces.
            let http_client = reqwest::Client::builder()
                .tcp_nodelay(true)
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .map_err(|e| format!("cannot build the HTTP client: {e}"))?;
            let handshake = |e: rmcp::service::ClientInitializeError| {
                format!("MCP handshake with {} failed: {e}", http.url)
            };
            let (service, lane) = match mcp_auth {
                // MCP authorization runs inside rmcp's client (401 → token →
                // retry): these calls stay on rmcp's path.
                Some(auth) => {
                    let http_client =
                        Reusable::new(AuthorizedHttpClient::new(http_client, auth), token, None);
                    let transport =
                        StreamableHttpClientTransport::with_client(http_client, transport_config);
                    (client.serve(transport).await.map_err(handshake)?, None)
                }
                None => {
                    let captured = Arc::new(SessionHeaders::default());
                    let transport = StreamableHttpClientTransport::with_client(
                        Reusable::new(http_client.clone(), token, Some(Arc::clone(&captured))),
                        transport_config,
                    );
                    let service = client.serve(transport).await.map_err(handshake)?;
                    (service, Some((http_client, http.url.to_string(), captured)))
                }
            };
            Ok(Connection {
                service,
                pid: None,
                lane,
            })
        }
    }
}

async fn spawn(
    config: &BackendConfig,
    mut command: tokio::process::Command,
    client: BackendClient,
) -> Result<Connection, String> {
    // The child must not inherit the gateway's stdin (it is the MCP channel)
    // and dies with the gateway.
    command.kill_on_drop(true);
    let program = command
        .as_std()
        .get_program()
        .to_string_lossy()
        .into_owned();
    let (transport, stderr) = TokioChildProcess::builder(command)
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start `{program}`: {e}"))?;
    let pid = transport.id();
    if let Some(stderr) = stderr {
        let name = config.name.clone();
        tokio::spawn(async move {
            let mut lines = BufReader::new(stderr).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                tracing::info!(backend = %name, "stderr: {line}");
            }
        });
    }
    let service = client
        .serve(transport)
        .await
        .map_err(|e| format!("MCP handshake with `{program}` failed: {e}"))?;
    Ok(Connection {
        service,
        pid,
        lane: None,
    })
}
