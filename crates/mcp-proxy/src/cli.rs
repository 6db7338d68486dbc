//! The command line of the `mcp-proxy` binary.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Parser, Subcommand};

/// An aggregating MCP gateway with Okta sign-in.
#[derive(Debug, Parser)]
#[command(name = "mcp-proxy", version, about)]
pub struct Cli {
    /// Gateway config file (YAML).
    #[arg(long, global = true)]
    pub config: Option<PathBuf>,
    /// Override the listen address (default 127.0.0.1:8080).
    #[arg(long)]
    pub listen: Option<SocketAddr>,
    /// Run everything locally: an embedded Okta simulator, the demo servers and
    /// seed 001's policy (with --config: that file's backends and policy).
    #[arg(long)]
    pub dev: bool,
    /// Where the dev identity provider listens (default 127.0.0.1:8081; with
    /// --stdio a free port).
    #[arg(long, requires = "dev")]
    pub dev_idp_listen: Option<SocketAddr>,
    /// Serve MCP on stdin/stdout instead of HTTP, for a client that runs the
    /// gateway as its child process. With `auth:` in the config the caller's
    /// Okta access token is read from MCP_PROXY_TOKEN.
    #[arg(long, conflicts_with = "listen")]
    pub stdio: bool,
    /// With --dev --stdio: act as this dev user (its token comes from the
    /// embedded identity provider, no MCP_PROXY_TOKEN needed).
    #[arg(long, requires = "dev", requires = "stdio", value_parser = ["alice", "bob", "carol"])]
    pub dev_user: Option<String>,
    /// What to do (default: run the gateway).
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve a built-in demo MCP server on stdin/stdout (github, jira, confluence, salesforce).
    DemoServer {
        /// Which demo server.
        name: String,
    },
    /// Validate a config file (schema, values, policy, backend commands) without serving.
    Check,
    /// Print the audit lines of one user (seed 001's "filter by user").
    Audit {
        /// The caller's `sub` (login for user tokens, client id for service tokens).
        #[arg(long)]
        user: String,
        /// Only lines at or after this time: RFC 3339 with any offset
        /// (`2026-11-25T08:00:00Z`, `2026-11-25T10:00:00+02:00`), compared as
        /// instants, or an age (`30m`, `2h`).
        #[arg(long)]
        since: Option<String>,
        /// The audit file (default: `audit.file` of --config).
        #[arg(long)]
        file: Option<PathBuf>,
    },
    /// Helpers for dev mode.
    Dev {
        /// What to do.
        #[command(subcommand)]
        command: DevCommand,
    },
}

/// `mcp-proxy dev …`.
#[derive(Debug, Subcommand)]
pub enum DevCommand {
    /// Print an access token for a dev user, from the identity provider of a
    /// running `mcp-proxy --dev`.
    Token {
        /// alice, bob or carol.
        #[arg(long)]
        user: String,
        /// Base URL of the dev identity provider.
        #[arg(long, default_value = "http://127.0.0.1:8081")]
        idp: String,
        /// Scopes to ask for.
        #[arg(long, default_value = "mcp:read mcp:write")]
        scope: String,
    },
}
