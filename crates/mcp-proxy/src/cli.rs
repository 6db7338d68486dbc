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
    /// Override the config's listen address.
    #[arg(long)]
    pub listen: Option<SocketAddr>,
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
    /// Validate a config file (schema, values, backend commands) without serving.
    Check,
}
