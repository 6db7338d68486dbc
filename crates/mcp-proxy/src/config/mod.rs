//! The gateway's YAML config file: model, loading, `${ENV}` interpolation,
//! relative paths and validation. Every struct rejects unknown fields; every
//! error names the file, the line and the field (`gw.yaml:14:
//! backends[2].http.url: …`).

mod credentials;
mod duration;
mod env;
mod interpolate;
mod locate;
mod policy;
mod validate;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;

pub(crate) use duration::parse as parse_duration;
use env::{Lookup, ProcessEnv};
pub(crate) use validate::HEADER_VALUE_RULE;

pub use credentials::{CredentialsConfig, Secret};

use crate::error::ProxyError;

/// Default listen address of the front.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";
/// Default HTTP path of the MCP endpoint.
pub const DEFAULT_PATH: &str = "/mcp";
/// Default separator between a backend's prefix and an item's name.
pub const DEFAULT_SEPARATOR: &str = "_";
/// Default per-call timeout.
pub const DEFAULT_CALL_TIMEOUT: Duration = Duration::from_secs(30);
/// Default time after which an unused client session is closed.
pub const DEFAULT_SESSION_IDLE_TIMEOUT: Duration = Duration::from_secs(300);
/// Default maximum size of one POSTed JSON-RPC body.
pub const DEFAULT_MAX_BODY_BYTES: usize = 4 * 1024 * 1024;

/// The whole config file.
///
/// ```
/// let config = mcp_proxy::config::GatewayConfig::from_yaml_str(
///     "backends:\n  - name: github\n    demo: github\n",
///     "inline.yaml",
/// ).unwrap();
/// assert_eq!(config.backends[0].prefix(), "github");
/// assert_eq!(config.path, "/mcp");
/// ```
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct GatewayConfig {
    /// Address the front listens on (`127.0.0.1:8080`).
    #[serde(default = "default_listen")]
    pub listen: SocketAddr,
    /// HTTP path of the MCP endpoint (`/mcp`).
    #[serde(default = "default_path")]
    pub path: String,
    /// Separator between prefix and item name (`_`).
    #[serde(default = "default_separator")]
    pub separator: String,
    /// Per-call timeout for backend calls, unless a backend sets its own (`30s`).
    #[serde(
        default = "default_call_timeout",
        deserialize_with = "duration::deserialize"
    )]
    pub call_timeout: Duration,
    /// A client session nobody used for this long is closed (`5m`); a later
    /// request naming it gets `404`. A session with a call in flight is never
    /// idle.
    #[serde(
        default = "default_session_idle_timeout",
        deserialize_with = "duration::deserialize_positive"
    )]
    pub session_idle_timeout: Duration,
    /// Largest accepted POST body in bytes; bigger bodies get `413`.
    #[serde(default = "default_max_body_bytes")]
    pub max_body_bytes: usize,
    /// Accepted `Host` header values (DNS-rebinding protection). Defaults to
    /// loopback names; list your public host names when deploying.
    #[serde(default)]
    pub allowed_hosts: Option<Vec<String>>,
    /// Accepted browser `Origin`s (`https://app.example.com:443`). Empty: requests
    /// carrying an `Origin` header are rejected with `403`; requests without one pass.
    #[serde(default)]
    pub allowed_origins: Vec<String>,
    /// Okta token verification in front. Absent: the endpoint is open (only
    /// sensible on loopback for local tools).
    #[serde(default)]
    pub auth: Option<AuthConfig>,
    /// The audit trail (stdout, file, redaction). Absent: no audit lines.
    #[serde(default)]
    pub audit: crate::audit::AuditConfig,
    /// Prometheus metrics on the HTTP listener (`/metrics`, on by default).
    #[serde(default)]
    pub metrics: MetricsConfig,
    /// Authorization policy in mcp-authz's format, inline. The policy sees
    /// `tool.server` = the backend's name and `tool.name` = the tool's name at
    /// the backend (without prefix). Absent (and no `policy_file`): no authorization.
    #[serde(default)]
    pub policy: Option<mcp_authz::Policy>,
    /// The same policy from a file (YAML, or JSON by extension); relative to
    /// this config file's directory, like every path in it.
    #[serde(default)]
    pub policy_file: Option<PathBuf>,
    /// The MCP servers behind the gateway, in order (order decides nothing but
    /// the order of lists).
    pub backends: Vec<BackendConfig>,
    /// Where the config came from (for errors found after loading).
    #[serde(skip)]
    source: Source,
}

fn default_listen() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 8080))
}
fn default_path() -> String {
    DEFAULT_PATH.to_owned()
}
fn default_separator() -> String {
    DEFAULT_SEPARATOR.to_owned()
}
fn default_call_timeout() -> Duration {
    DEFAULT_CALL_TIMEOUT
}
fn default_session_idle_timeout() -> Duration {
    DEFAULT_SESSION_IDLE_TIMEOUT
}
fn default_max_body_bytes() -> usize {
    DEFAULT_MAX_BODY_BYTES
}

/// Default HTTP path of the Prometheus metrics.
pub const DEFAULT_METRICS_PATH: &str = "/metrics";

/// The `metrics:` section: Prometheus / OpenMetrics text on the gateway's
/// listener, unauthenticated like `/healthz`. Its labels are methods, backend
/// names, outcomes and decisions: no users, tokens or arguments.
///
/// ```
/// let config = mcp_proxy::config::GatewayConfig::from_yaml_str(
///     "metrics: {path: /internal/metrics}\nbackends:\n  - name: github\n    demo: github\n",
///     "inline.yaml",
/// ).unwrap();
/// assert!(config.metrics.enabled);
/// assert_eq!(config.metrics.path, "/internal/metrics");
/// ```
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct MetricsConfig {
    /// Serve and record metrics (default `true`); `false`: no route (`404`)
    /// and nothing recorded.
    #[serde(default = "default_metrics_enabled")]
    pub enabled: bool,
    /// HTTP path of the metrics (`/metrics`).
    #[serde(default = "default_metrics_path")]
    pub path: String,
}

impl Default for MetricsConfig {
    fn default() -> Self {
        MetricsConfig {
            enabled: default_metrics_enabled(),
            path: default_metrics_path(),
        }
    }
}

fn default_metrics_enabled() -> bool {
    true
}
fn default_metrics_path() -> String {
    DEFAULT_METRICS_PATH.to_owned()
}

/// How the front verifies Okta access tokens.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct AuthConfig {
    /// Exact issuer, e.g. `https://example.okta.com/oauth2/default`.
    pub issuer: String,
    /// Accepted audiences (`aud` must be one of them), e.g. `[api://default]`.
    pub audiences: Vec<String>,
    /// JWKS URL; discovered from the issuer when absent.
    #[serde(default)]
    pub jwks_uri: Option<String>,
    /// `strict` (default), `optional` or `permissive`.
    #[serde(default)]
    pub mode: AuthModeConfig,
    /// Public URL of the MCP endpoint (the RFC 9728 `resource`); defaults to
    /// `http://<listen><path>`.
    #[serde(default)]
    pub resource: Option<String>,
    /// Scopes advertised in the protected-resource metadata.
    #[serde(default)]
    pub scopes_supported: Vec<String>,
    /// Scopes named in the `scope` attribute of `401` challenges, so clients ask
    /// for the least privilege they need first (MCP authorization, scope
    /// selection); none by default.
    #[serde(default)]
    pub challenge_scopes: Vec<String>,
}

/// Mirror of `okta_auth::AuthMode` for the config file.
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum AuthModeConfig {
    /// A valid token is required.
    #[default]
    Strict,
    /// No token passes without identity; a bad token is rejected.
    Optional,
    /// Nothing is rejected.
    Permissive,
}

/// One MCP server behind the gateway.
#[derive(Debug, Clone, Deserialize)]
#[serde(try_from = "RawBackend")]
#[non_exhaustive]
pub struct BackendConfig {
    /// Name: used in logs, audit, policy (`tool.server`) and as default prefix.
    pub name: String,
    /// Prefix of exposed names; `None` means the name. `""` exposes names unprefixed.
    pub prefix: Option<String>,
    /// Per-call timeout overriding the gateway's `call_timeout`.
    pub timeout: Option<Duration>,
    /// First delay before reconnecting after the backend died (doubles up to `backoff_max`).
    pub backoff_initial: Duration,
    /// Longest delay between reconnect attempts.
    pub backoff_max: Duration,
    /// How to reach it.
    pub transport: TransportConfig,
    /// What the gateway sends to it (HTTP backends; default none).
    pub credentials: CredentialsConfig,
}

impl BackendConfig {
    /// The effective prefix of exposed names.
    pub fn prefix(&self) -> &str {
        self.prefix.as_deref().unwrap_or(&self.name)
    }
}

/// How a backend is reached.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum TransportConfig {
    /// A child process speaking MCP on stdin/stdout.
    Stdio(StdioConfig),
    /// A streamable-HTTP MCP server.
    Http(HttpConfig),
    /// A built-in demo server (`mcp-proxy demo-server <name>` as a child process).
    Demo(String),
}

/// A child-process backend.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct StdioConfig {
    /// Program to run (looked up on `PATH`).
    pub command: String,
    /// Its arguments.
    #[serde(default)]
    pub args: Vec<String>,
    /// Extra environment variables (values support `${VAR}`).
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// Working directory (relative: to the config file's directory).
    #[serde(default)]
    pub cwd: Option<PathBuf>,
}

/// A streamable-HTTP backend.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct HttpConfig {
    /// The MCP endpoint, e.g. `http://127.0.0.1:3001/mcp`.
    pub url: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBackend {
    name: String,
    #[serde(default)]
    prefix: Option<String>,
    #[serde(default, deserialize_with = "optional_duration")]
    timeout: Option<Duration>,
    #[serde(
        default = "default_backoff_initial",
        deserialize_with = "duration::deserialize"
    )]
    backoff_initial: Duration,
    #[serde(
        default = "default_backoff_max",
        deserialize_with = "duration::deserialize"
    )]
    backoff_max: Duration,
    #[serde(default)]
    stdio: Option<StdioConfig>,
    #[serde(default)]
    http: Option<HttpConfig>,
    #[serde(default)]
    demo: Option<String>,
    #[serde(default)]
    credentials: CredentialsConfig,
}

fn default_backoff_initial() -> Duration {
    Duration::from_millis(250)
}
fn default_backoff_max() -> Duration {
    Duration::from_secs(30)
}

fn optional_duration<'de, D: serde::Deserializer<'de>>(
    de: D,
) -> Result<Option<Duration>, D::Error> {
    duration::deserialize(de).map(Some)
}

impl TryFrom<RawBackend> for BackendConfig {
    type Error = String;

    fn try_from(raw: RawBackend) -> Result<Self, String> {
        let transport = match (raw.stdio, raw.http, raw.demo) {
            (Some(s), None, None) => TransportConfig::Stdio(s),
            (None, Some(h), None) => TransportConfig::Http(h),
            (None, None, Some(d)) => TransportConfig::Demo(d),
            (None, None, None) => {
                return Err(format!(
                    "backend `{}` needs one of `stdio:`, `http:` or `demo:`",
                    raw.name
                ));
            }
            _ => {
                return Err(format!(
                    "backend `{}` sets more than one of `stdio:`, `http:` and `demo:`; keep one",
                    raw.name
                ));
            }
        };
        Ok(BackendConfig {
            name: raw.name,
            prefix: raw.prefix,
            timeout: raw.timeout,
            backoff_initial: raw.backoff_initial,
            backoff_max: raw.backoff_max,
            transport,
            credentials: raw.credentials,
        })
    }
}

impl GatewayConfig {
    /// Reads, interpolates, resolves and validates a config file. Relative
    /// file paths in it (`policy_file`, `audit.file`, `stdio.cwd`, a
    /// `stdio.command` with a `/`, `credentials.value_file`,
    /// `credentials.private_key_file`) are made absolute against the file's
    /// directory.
    pub fn load(path: &Path) -> Result<Self, ProxyError> {
        let text = std::fs::read_to_string(path).map_err(|source| ProxyError::ConfigRead {
            path: path.to_owned(),
            source,
        })?;
        let dir = path
            .parent()
            .filter(|dir| !dir.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let dir = std::path::absolute(dir).map_err(|source| ProxyError::ConfigRead {
            path: path.to_owned(),
            source,
        })?;
        Self::parse_with_env(&text, &path.display().to_string(), &ProcessEnv, Some(&dir))
    }

    /// Compiles the configured policy (inline or file); `None` without one.
    /// Errors name this config file and the line of `policy` (of the failing
    /// rule or entry when it can be told) or of `policy_file` (then also the
    /// policy file and the line in it).
    pub fn authorizer(&self) -> Result<Option<mcp_authz::Authorizer>, ProxyError> {
        match (&self.policy, &self.policy_file) {
            (Some(policy), _) => mcp_authz::Authorizer::new(policy.clone())
                .map(Some)
                .map_err(|e| policy::inline_error(&self.source, policy, &e)),
            (None, Some(file)) => mcp_authz::Authorizer::from_file(file)
                .map(Some)
                .map_err(|e| policy::file_error(&self.source, file, &e)),
            (None, None) => Ok(None),
        }
    }

    /// Parses, interpolates (process environment) and validates YAML text;
    /// `origin` names the source in errors. Relative paths stay relative (to
    /// the working directory): only [`GatewayConfig::load`] knows a directory.
    pub fn from_yaml_str(text: &str, origin: &str) -> Result<Self, ProxyError> {
        Self::parse_with_env(text, origin, &ProcessEnv, None)
    }

    /// A config with the given backends and defaults everywhere else.
    pub fn with_backends(backends: Vec<BackendConfig>) -> Self {
        GatewayConfig {
            listen: default_listen(),
            path: default_path(),
            separator: default_separator(),
            call_timeout: DEFAULT_CALL_TIMEOUT,
            session_idle_timeout: DEFAULT_SESSION_IDLE_TIMEOUT,
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            allowed_hosts: None,
            allowed_origins: Vec::new(),
            auth: None,
            audit: crate::audit::AuditConfig::default(),
            metrics: MetricsConfig::default(),
            policy: None,
            policy_file: None,
            backends,
            source: Source::default(),
        }
    }

    /// Where this config was read from, as errors name it (the file path,
    /// the `origin` given to [`GatewayConfig::from_yaml_str`], or `<config>`
    /// for one built in code).
    pub fn origin(&self) -> &str {
        &self.source.origin
    }

    /// A [`ProxyError::ConfigInvalid`] about `field` (a path such as
    /// `backends[2].http.url`) of this config: it names the file and the
    /// field's line in it (or its nearest enclosing field's, when the field
    /// itself is not written there).
    pub fn field_error(&self, field: &str, message: impl Into<String>) -> ProxyError {
        self.source.error(field, message)
    }

    fn parse_with_env(
        text: &str,
        origin: &str,
        env: &dyn Lookup,
        dir: Option<&Path>,
    ) -> Result<Self, ProxyError> {
        let mut config: GatewayConfig =
            serde_norway::from_str(text).map_err(|e| syntax_error(origin, &e))?;
        config.source = Source {
            origin: origin.to_owned(),
            text: Arc::from(text),
        };
        config.interpolate(env)?;
        if let Some(dir) = dir {
            config.resolve_paths(dir);
        }
        config.validate()?;
        Ok(config)
    }

    /// Makes every relative file path absolute against `dir` (the config
    /// file's directory). A `stdio.command` is a path when it has more than
    /// one component (`./server`, `bin/server`); it is resolved against the
    /// backend's `cwd` when set (where the child runs), else `dir`.
    fn resolve_paths(&mut self, dir: &Path) {
        // `Path::components` drops `.` (not `..`: a symlink may be in between).
        fn resolve(path: &mut PathBuf, dir: &Path) {
            if path.is_relative() {
                *path = dir.join(&*path).components().collect();
            }
        }
        if let Some(file) = &mut self.policy_file {
            resolve(file, dir);
        }
        if let Some(file) = &mut self.audit.file {
            resolve(file, dir);
        }
        for backend in &mut self.backends {
            if let TransportConfig::Stdio(stdio) = &mut backend.transport {
                if let Some(cwd) = &mut stdio.cwd {
                    resolve(cwd, dir);
                }
                let program = Path::new(&stdio.command);
                if program.is_relative() && program.components().count() > 1 {
                    let mut full = program.to_owned();
                    resolve(&mut full, stdio.cwd.as_deref().unwrap_or(dir));
                    if let Some(full) = full.to_str() {
                        stdio.command = full.to_owned();
                    }
                }
            }
            if let CredentialsConfig::Header {
                value_file: Some(file),
                ..
            } = &mut backend.credentials
            {
                resolve(file, dir);
            }
            if let Some(file) = backend.credentials.private_key_file_mut() {
                resolve(file, dir);
            }
        }
    }
}

/// Where a config came from: the name errors give it, and its text, in
/// which errors found after parsing look up the line of their field.
#[derive(Clone)]
pub(crate) struct Source {
    origin: String,
    text: Arc<str>,
}

impl Default for Source {
    fn default() -> Self {
        Source {
            origin: "<config>".to_owned(),
            text: Arc::from(""),
        }
    }
}

impl std::fmt::Debug for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.origin)
    }
}

impl Source {
    /// A `ConfigInvalid` error at `field`, with the field's line when found.
    pub(crate) fn error(&self, field: &str, message: impl Into<String>) -> ProxyError {
        ProxyError::ConfigInvalid {
            path: self.origin.clone(),
            line: locate::line_of(&self.text, field),
            field: field.to_owned(),
            message: message.into(),
        }
    }
}

fn syntax_error(origin: &str, error: &serde_norway::Error) -> ProxyError {
    let (line, column) = error
        .location()
        .map(|l| (l.line(), l.column()))
        .unwrap_or((0, 0));
    let mut message = error.to_string();
    // The parser appends " at line L column C"; the location is already in front.
    if let Some(cut) = message.rfind(" at line ") {
        message.truncate(cut);
    }
    ProxyError::ConfigSyntax {
        path: origin.to_owned(),
        line,
        column,
        message,
    }
}

#[cfg(test)]
mod tests;
