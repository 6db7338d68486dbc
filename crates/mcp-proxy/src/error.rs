//! The crate's error type.

use std::path::PathBuf;

/// Everything that can go wrong in the gateway, with messages that say what
/// was wrong and what to do about it. Secrets never appear in these messages.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProxyError {
    /// The config file could not be read.
    #[error("cannot read config file {path}: {source}")]
    ConfigRead {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The config file is not valid YAML or does not match the config schema.
    #[error("{path}:{line}:{column}: {message}")]
    ConfigSyntax {
        /// The file.
        path: String,
        /// 1-based line (0 when the parser did not report one).
        line: usize,
        /// 1-based column (0 when the parser did not report one).
        column: usize,
        /// The parser's message, naming the field.
        message: String,
    },
    /// The config parsed but a value is not acceptable (also: the policy does
    /// not compile, `check` found a problem on disk): `gw.yaml:14:
    /// backends[2].http.url: …`.
    #[error("{path}{}: {field}: {message}", line_suffix(*.line))]
    ConfigInvalid {
        /// The file (or the name given to `from_yaml_str`, `<config>` for a
        /// config built in code, `<command line>`).
        path: String,
        /// 1-based line of the field (or of its nearest enclosing field written
        /// in the file); `None` when the file does not have it.
        line: Option<usize>,
        /// Dotted path of the field, e.g. `backends[1].stdio.command`.
        field: String,
        /// What is wrong and how to fix it.
        message: String,
    },
    /// Two backends expose the same aggregated name.
    #[error(transparent)]
    NameCollision(Box<Collision>),
    /// The built-in dev policy does not compile. (A config file's policy
    /// errors are [`ProxyError::ConfigInvalid`], naming the file and line.)
    #[error("policy: {0}")]
    Policy(String),
    /// A backend could not be started or connected.
    #[error("backend `{backend}`: {message}")]
    Backend {
        /// Backend name.
        backend: String,
        /// What failed.
        message: String,
    },
    /// The listener could not be bound.
    #[error("cannot listen on {addr}: {source}; pick another address with --listen")]
    Listen {
        /// The address.
        addr: String,
        /// Why.
        source: std::io::Error,
    },
    /// An error from okta-auth (JWKS, verifier, token source).
    #[error(transparent)]
    Auth(Box<okta_auth::Error>),
    /// The embedded Okta simulator failed (dev mode).
    #[error("okta-sim (dev identity provider): {0}")]
    DevIdp(String),
    /// Reading or writing the audit log failed.
    #[error("audit log {path}: {source}")]
    Audit {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The stdio front cannot start: its access token (from `MCP_PROXY_TOKEN`)
    /// is missing, invalid or expired, or the config writes to stdout. The
    /// message says which; it never contains the token.
    #[error("--stdio: {0}")]
    Stdio(String),
    /// Any other I/O failure.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// Why.
        source: std::io::Error,
    },
}

/// `:<line>`, or nothing without a line.
fn line_suffix(line: Option<usize>) -> String {
    line.map(|l| format!(":{l}")).unwrap_or_default()
}

/// Two backends expose the same aggregated name (a startup error).
#[derive(Debug, thiserror::Error)]
#[error(
    "{kind} name collision: `{name}` is exposed by backend `{first}` ({first_original}) and by backend `{second}` ({second_original}); \
     set a distinct `prefix` on one of them or change `separator`"
)]
#[non_exhaustive]
pub struct Collision {
    /// `tool`, `prompt` or `resource URI`.
    pub kind: &'static str,
    /// The aggregated name both produce.
    pub name: String,
    /// First backend.
    pub first: String,
    /// Its original item name.
    pub first_original: String,
    /// Second backend.
    pub second: String,
    /// Its original item name.
    pub second_original: String,
}

impl From<okta_auth::Error> for ProxyError {
    fn from(error: okta_auth::Error) -> Self {
        ProxyError::Auth(Box::new(error))
    }
}
