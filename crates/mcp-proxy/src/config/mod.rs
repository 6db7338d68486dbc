//! The gateway's YAML config file: model, loading, `${ENV}` interpolation and
//! validation. Every struct rejects unknown fields; every error names the file,
//! the line (for syntax and schema errors) and the field.

mod credentials;
mod duration;
mod env;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

pub(crate) use duration::parse as parse_duration;
use env::{Lookup, ProcessEnv, expand};

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
    /// Authorization policy in mcp-authz's format, inline. The policy sees
    /// `tool.server` = the backend's name and `tool.name` = the tool's name at
    /// the backend (without prefix). Absent (and no `policy_file`): no authorization.
    #[serde(default)]
    pub policy: Option<mcp_authz::Policy>,
    /// The same policy from a file (YAML, or JSON by extension), relative to this config file.
    #[serde(default)]
    pub policy_file: Option<PathBuf>,
    /// The MCP servers behind the gateway, in order (order decides nothing but
    /// the order of lists).
    pub backends: Vec<BackendConfig>,
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
fn default_max_body_bytes() -> usize {
    DEFAULT_MAX_BODY_BYTES
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
    /// Working directory.
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
    /// Reads, interpolates and validates a config file.
    pub fn load(path: &Path) -> Result<Self, ProxyError> {
        let text = std::fs::read_to_string(path).map_err(|source| ProxyError::ConfigRead {
            path: path.to_owned(),
            source,
        })?;
        let mut config = Self::from_yaml_str(&text, &path.display().to_string())?;
        if let (Some(file), Some(dir)) = (&mut config.policy_file, path.parent())
            && file.is_relative()
        {
            *file = dir.join(&*file);
        }
        Ok(config)
    }

    /// Compiles the configured policy (inline or file); `None` without one.
    pub fn authorizer(&self) -> Result<Option<mcp_authz::Authorizer>, ProxyError> {
        let policy_error = |e: mcp_authz::AuthzError| ProxyError::Policy(e.to_string());
        match (&self.policy, &self.policy_file) {
            (Some(policy), _) => mcp_authz::Authorizer::new(policy.clone())
                .map(Some)
                .map_err(policy_error),
            (None, Some(file)) => mcp_authz::Authorizer::from_file(file)
                .map(Some)
                .map_err(policy_error),
            (None, None) => Ok(None),
        }
    }

    /// Parses, interpolates (process environment) and validates YAML text;
    /// `origin` names the source in errors.
    pub fn from_yaml_str(text: &str, origin: &str) -> Result<Self, ProxyError> {
        Self::parse_with_env(text, origin, &ProcessEnv)
    }

    /// A config with the given backends and defaults everywhere else.
    pub fn with_backends(backends: Vec<BackendConfig>) -> Self {
        GatewayConfig {
            listen: default_listen(),
            path: default_path(),
            separator: default_separator(),
            call_timeout: DEFAULT_CALL_TIMEOUT,
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            allowed_hosts: None,
            allowed_origins: Vec::new(),
            auth: None,
            audit: crate::audit::AuditConfig::default(),
            policy: None,
            policy_file: None,
            backends,
        }
    }

    fn parse_with_env(text: &str, origin: &str, env: &dyn Lookup) -> Result<Self, ProxyError> {
        let mut config: GatewayConfig =
            serde_norway::from_str(text).map_err(|e| syntax_error(origin, &e))?;
        config.interpolate(origin, env)?;
        config.validate(origin)?;
        Ok(config)
    }

    fn interpolate(&mut self, origin: &str, env: &dyn Lookup) -> Result<(), ProxyError> {
        let fix = |value: &mut String, field: String| -> Result<(), ProxyError> {
            *value = expand(value, env).map_err(|message| invalid(origin, field, message))?;
            Ok(())
        };
        if let Some(auth) = &mut self.auth {
            fix(&mut auth.issuer, "auth.issuer".into())?;
            for (i, aud) in auth.audiences.iter_mut().enumerate() {
                fix(aud, format!("auth.audiences[{i}]"))?;
            }
            if let Some(uri) = &mut auth.jwks_uri {
                fix(uri, "auth.jwks_uri".into())?;
            }
            if let Some(resource) = &mut auth.resource {
                fix(resource, "auth.resource".into())?;
            }
        }
        for (i, backend) in self.backends.iter_mut().enumerate() {
            match &mut backend.transport {
                TransportConfig::Stdio(stdio) => {
                    fix(&mut stdio.command, format!("backends[{i}].stdio.command"))?;
                    for (j, arg) in stdio.args.iter_mut().enumerate() {
                        fix(arg, format!("backends[{i}].stdio.args[{j}]"))?;
                    }
                    for (key, value) in stdio.env.iter_mut() {
                        fix(value, format!("backends[{i}].stdio.env.{key}"))?;
                    }
                }
                TransportConfig::Http(http) => {
                    fix(&mut http.url, format!("backends[{i}].http.url"))?;
                }
                TransportConfig::Demo(_) => {}
            }
            match &mut backend.credentials {
                CredentialsConfig::Header { value: Some(v), .. } => {
                    fix(&mut v.0, format!("backends[{i}].credentials.value"))?;
                }
                CredentialsConfig::OktaClientCredentials {
                    issuer,
                    token_endpoint,
                    client_secret,
                    ..
                } => {
                    if let Some(v) = issuer {
                        fix(v, format!("backends[{i}].credentials.issuer"))?;
                    }
                    if let Some(v) = token_endpoint {
                        fix(v, format!("backends[{i}].credentials.token_endpoint"))?;
                    }
                    if let Some(v) = client_secret {
                        fix(&mut v.0, format!("backends[{i}].credentials.client_secret"))?;
                    }
                }
                CredentialsConfig::OauthClientCredentials {
                    client_secret,
                    authorization_server,
                    ..
                } => {
                    if let Some(v) = client_secret {
                        fix(&mut v.0, format!("backends[{i}].credentials.client_secret"))?;
                    }
                    if let Some(v) = authorization_server {
                        fix(v, format!("backends[{i}].credentials.authorization_server"))?;
                    }
                }
                _ => {}
            }
        }
        Ok(())
    }

    fn validate(&self, origin: &str) -> Result<(), ProxyError> {
        if !self.path.starts_with('/') {
            return Err(invalid(
                origin,
                "path".into(),
                "must start with `/`, e.g. `/mcp`",
            ));
        }
        if self.separator.is_empty() {
            return Err(invalid(
                origin,
                "separator".into(),
                "must not be empty, e.g. `_`",
            ));
        }
        if self.backends.is_empty() {
            return Err(invalid(
                origin,
                "backends".into(),
                "list at least one backend",
            ));
        }
        if self.policy.is_some() && self.policy_file.is_some() {
            return Err(invalid(
                origin,
                "policy_file".into(),
                "set either `policy` (inline) or `policy_file`, not both",
            ));
        }
        if let Some(auth) = &self.auth
            && auth.audiences.is_empty()
        {
            return Err(invalid(
                origin,
                "auth.audiences".into(),
                "list at least one audience, e.g. `[api://default]`",
            ));
        }
        let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
        for (i, backend) in self.backends.iter().enumerate() {
            let field = format!("backends[{i}].name");
            if backend.name.is_empty()
                || !backend
                    .name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
            {
                return Err(invalid(
                    origin,
                    field,
                    format!(
                        "`{}` is not a valid backend name; use letters, digits, `_` and `-`",
                        backend.name
                    ),
                ));
            }
            if let Some(first) = seen.insert(&backend.name, i) {
                return Err(invalid(
                    origin,
                    field,
                    format!(
                        "backend name `{}` is already used by backends[{first}]; names must be unique",
                        backend.name
                    ),
                ));
            }
            match &backend.transport {
                TransportConfig::Stdio(stdio) if stdio.command.trim().is_empty() => {
                    return Err(invalid(
                        origin,
                        format!("backends[{i}].stdio.command"),
                        "must name a program",
                    ));
                }
                TransportConfig::Http(http) => {
                    let ok = url::Url::parse(&http.url)
                        .map(|u| matches!(u.scheme(), "http" | "https"))
                        .unwrap_or(false);
                    if !ok {
                        return Err(invalid(
                            origin,
                            format!("backends[{i}].http.url"),
                            format!("`{}` is not an http(s) URL", http.url),
                        ));
                    }
                }
                TransportConfig::Demo(name) if !crate::demo::NAMES.contains(&name.as_str()) => {
                    return Err(invalid(
                        origin,
                        format!("backends[{i}].demo"),
                        format!(
                            "unknown demo server `{name}`; choose one of {}",
                            crate::demo::NAMES.join(", ")
                        ),
                    ));
                }
                _ => {}
            }
            validate_credentials(origin, i, backend)?;
        }
        Ok(())
    }
}

fn validate_credentials(origin: &str, i: usize, backend: &BackendConfig) -> Result<(), ProxyError> {
    let field = |f: &str| format!("backends[{i}].credentials{f}");
    let is_http = matches!(backend.transport, TransportConfig::Http(_));
    match &backend.credentials {
        CredentialsConfig::None => Ok(()),
        _ if !is_http => Err(invalid(
            origin,
            field(""),
            "credentials apply to http backends; give child processes secrets with stdio.env",
        )),
        CredentialsConfig::Header {
            value,
            value_file,
            name,
        } => {
            if value.is_some() == value_file.is_some() {
                return Err(invalid(
                    origin,
                    field(".value"),
                    "set exactly one of `value` and `value_file`",
                ));
            }
            if http::HeaderName::from_bytes(name.as_bytes()).is_err() {
                return Err(invalid(
                    origin,
                    field(".name"),
                    format!("`{name}` is not a header name"),
                ));
            }
            Ok(())
        }
        CredentialsConfig::OktaClientCredentials {
            issuer,
            token_endpoint,
            client_secret,
            private_key_file,
            ..
        } => {
            if issuer.is_some() == token_endpoint.is_some() {
                return Err(invalid(
                    origin,
                    field(".issuer"),
                    "set exactly one of `issuer` and `token_endpoint`",
                ));
            }
            one_client_credential(origin, &field, client_secret, private_key_file)
        }
        CredentialsConfig::OauthClientCredentials {
            client_secret,
            private_key_file,
            ..
        } => one_client_credential(origin, &field, client_secret, private_key_file),
    }
}

/// Exactly one of a client secret and a private key file.
fn one_client_credential<S, P>(
    origin: &str,
    field: &impl Fn(&str) -> String,
    client_secret: &Option<S>,
    private_key_file: &Option<P>,
) -> Result<(), ProxyError> {
    if client_secret.is_some() == private_key_file.is_some() {
        return Err(invalid(
            origin,
            field(".client_secret"),
            "set exactly one of `client_secret` and `private_key_file`",
        ));
    }
    Ok(())
}

fn invalid(origin: &str, field: String, message: impl Into<String>) -> ProxyError {
    ProxyError::ConfigInvalid {
        path: origin.to_owned(),
        field,
        message: message.into(),
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
