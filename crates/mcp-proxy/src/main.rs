//! The `mcp-proxy` binary.

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;
use mcp_proxy::cli::{Cli, Command, DevCommand};
use mcp_proxy::config::GatewayConfig;
use mcp_proxy::{Gateway, ProxyError};

/// The binary's allocator (a library user's binary chooses its own).
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

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
    let result = runtime.block_on(run(cli));
    // A read of a terminal's stdin (--stdio) cannot be cancelled: do not let
    // it hold the exit once everything is shut down.
    runtime.shutdown_timeout(std::time::Duration::from_secs(1));
    match result {
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
        Some(Command::Audit { user, since, file }) => {
            let file = match file {
                Some(file) => file,
                None => {
                    let config = GatewayConfig::load(require_config(&cli.config)?)?;
                    config.audit.file.clone().ok_or_else(|| {
                        config.field_error("audit.file", "no audit file configured; pass --file")
                    })?
                }
            };
            let since = since
                .map(|s| mcp_proxy::audit::since_to_timestamp(&s))
                .transpose()?;
            let mut out = std::io::stdout().lock();
            for line in mcp_proxy::audit::filter_file(&file, &user, since.as_deref())? {
                let _ = writeln!(out, "{line}");
            }
            Ok(())
        }
        Some(Command::Dev {
            command: DevCommand::Token { user, idp, scope },
        }) => {
            let token = mcp_proxy::dev::fetch_token(&idp, &user, &scope).await?;
            let _ = writeln!(std::io::stdout().lock(), "{token}");
            Ok(())
        }
        None if cli.dev => run_dev(&cli).await,
        None if cli.stdio => {
            let config = GatewayConfig::load(require_config(&cli.config)?)?;
            let token = token_from_env()?;
            // Refuse before any backend starts.
            config.check_stdio(token.as_deref())?;
            let gateway = Gateway::start(config).await?;
            gateway
                .serve_stdio(
                    rmcp::transport::io::stdio_pipes(),
                    token.as_deref(),
                    shutdown_signal(),
                )
                .await
        }
        None => {
            let path = require_config(&cli.config)?;
            let mut config = GatewayConfig::load(path)?;
            if let Some(listen) = cli.listen {
                config.listen = listen;
            }
            let listener = bind(config.listen).await?;
            let path = config.path.clone();
            let gateway = Gateway::start(config).await?;
            tracing::info!("mcp-proxy listening on http://{}{path}", local(&listener));
            gateway.serve(listener, shutdown_signal()).await
        }
    }
}

async fn run_dev(cli: &Cli) -> Result<(), ProxyError> {
    let default_listen = || std::net::SocketAddr::from(([127, 0, 0, 1], 8080));
    // Over stdio nobody else needs to reach the identity provider, and a
    // client may run several gateways: a free port by default.
    let default_idp_port = if cli.stdio { 0 } else { 8081 };
    let idp_listen = cli
        .dev_idp_listen
        .unwrap_or_else(|| std::net::SocketAddr::from(([127, 0, 0, 1], default_idp_port)));
    let file = cli.config.as_deref().map(GatewayConfig::load).transpose()?;
    if cli.stdio && cli.dev_user.is_none() {
        return Err(ProxyError::Stdio(
            "--dev --stdio needs --dev-user alice|bob|carol: the embedded identity provider has new keys at every start, so it issues the session's token itself".into(),
        ));
    }
    let sim = mcp_proxy::dev::start_idp(idp_listen).await?;
    if let (true, Some(user)) = (cli.stdio, cli.dev_user.as_deref()) {
        let result = run_dev_stdio(&sim, user, file).await;
        sim.shutdown().await;
        return result;
    }
    let listener = bind(cli.listen.unwrap_or_else(default_listen)).await?;
    let addr = local(&listener);
    let exe = std::env::current_exe().map_err(|source| ProxyError::Io {
        context: "finding the mcp-proxy executable for the demo servers".into(),
        source,
    })?;
    let config = mcp_proxy::dev::gateway_config(&sim, addr, &exe, file)?;
    let mcp_url = format!("http://{addr}{}", config.path);
    let gateway = Gateway::start(config).await?;
    {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{}", mcp_proxy::dev::banner(sim.base_url(), &mcp_url));
        let _ = out.flush();
    }
    let result = gateway.serve(listener, shutdown_signal()).await;
    sim.shutdown().await;
    result
}

/// `--dev --stdio --dev-user <user>`: the session acts as `user`, with a
/// token from the embedded identity provider.
async fn run_dev_stdio(
    sim: &okta_sim::OktaSim,
    user: &str,
    file: Option<GatewayConfig>,
) -> Result<(), ProxyError> {
    let exe = std::env::current_exe().map_err(|source| ProxyError::Io {
        context: "finding the mcp-proxy executable for the demo servers".into(),
        source,
    })?;
    // No listener: the address only names the (unused) RFC 9728 resource.
    let unbound = std::net::SocketAddr::from(([127, 0, 0, 1], 0));
    let config = mcp_proxy::dev::gateway_config(sim, unbound, &exe, file)?;
    let token =
        mcp_proxy::dev::fetch_token(sim.base_url(), user, &mcp_proxy::dev::SCOPES.join(" "))
            .await?;
    config.check_stdio(Some(&token))?;
    let gateway = Gateway::start(config).await?;
    // stdout is the MCP channel: the banner goes to stderr.
    eprintln!("{}", mcp_proxy::dev::stdio_banner(sim.base_url(), user));
    gateway
        .serve_stdio(
            rmcp::transport::io::stdio_pipes(),
            Some(&token),
            shutdown_signal(),
        )
        .await
}

/// The value of `MCP_PROXY_TOKEN`, if set.
fn token_from_env() -> Result<Option<String>, ProxyError> {
    match std::env::var(mcp_proxy::TOKEN_ENV) {
        Ok(token) => Ok(Some(token)),
        Err(std::env::VarError::NotPresent) => Ok(None),
        Err(std::env::VarError::NotUnicode(_)) => Err(ProxyError::Stdio(format!(
            "{} is not valid UTF-8, so it cannot be an access token",
            mcp_proxy::TOKEN_ENV
        ))),
    }
}

async fn bind(addr: std::net::SocketAddr) -> Result<tokio::net::TcpListener, ProxyError> {
    tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| ProxyError::Listen {
            addr: addr.to_string(),
            source,
        })
}

fn local(listener: &tokio::net::TcpListener) -> std::net::SocketAddr {
    listener
        .local_addr()
        .unwrap_or_else(|_| std::net::SocketAddr::from(([127, 0, 0, 1], 0)))
}

fn require_config(config: &Option<std::path::PathBuf>) -> Result<&std::path::Path, ProxyError> {
    config.as_deref().ok_or_else(|| ProxyError::ConfigInvalid {
        path: "<command line>".into(),
        line: None,
        field: "--config".into(),
        message: "pass --config gateway.yaml (or --dev)".into(),
    })
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
