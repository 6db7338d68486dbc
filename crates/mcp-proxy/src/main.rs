//! The `mcp-proxy` binary.

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;
use mcp_proxy::cli::{Cli, Command};
use mcp_proxy::config::GatewayConfig;
use mcp_proxy::{Gateway, ProxyError};

fn main() -> ExitCode {
    let cli = Cli::parse();
    // Logs go to stderr: stdout is the MCP channel of `demo-server`, whose
    // stderr the gateway forwards into its own log (hence quieter, no colours).
    let child = matches!(cli.command, Some(Command::DemoServer { .. }));
    let default_filter = if child { "warn" } else { "info,rmcp=warn" };
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(!child)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_filter)),
        )
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("mcp-proxy: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("mcp-proxy: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> Result<(), ProxyError> {
    match cli.command {
        Some(Command::DemoServer { name }) => mcp_proxy::demo::run_stdio(&name).await,
        Some(Command::Check) => {
            let path = require_config(&cli.config)?;
            let lines = mcp_proxy::check::check_config(path)?;
            let mut out = std::io::stdout().lock();
            for line in lines {
                let _ = writeln!(out, "  {line}");
            }
            let _ = writeln!(out, "{}: OK", path.display());
            Ok(())
        }
        None => {
            let path = require_config(&cli.config)?;
            let mut config = GatewayConfig::load(path)?;
            if let Some(listen) = cli.listen {
                config.listen = listen;
            }
            serve(config).await
        }
    }
}

fn require_config(config: &Option<std::path::PathBuf>) -> Result<&std::path::Path, ProxyError> {
    config.as_deref().ok_or_else(|| ProxyError::ConfigInvalid {
        path: "<command line>".into(),
        field: "--config".into(),
        message: "pass --config gateway.yaml".into(),
    })
}

async fn serve(config: GatewayConfig) -> Result<(), ProxyError> {
    let addr = config.listen;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| ProxyError::Listen {
            addr: addr.to_string(),
            source,
        })?;
    let path = config.path.clone();
    let gateway = Gateway::start(config).await?;
    tracing::info!("mcp-proxy listening on http://{addr}{path}");
    gateway.serve(listener, shutdown_signal()).await
}

/// Resolves on Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}
