//! The audit trail: one JSON line per routed request (`tools/call`,
//! `prompts/get`, `resources/read`) carrying both the authorization decision
//! and the outcome of the forwarded call, and one per backend request
//! relayed to the client of a call (`sampling/createMessage`,
//! `elicitation/create`, `roots/list`), to stdout, a file, or both.
//! Arguments are redacted by key and by pattern before they are written.

mod redact;
mod time;
mod writer;

use std::time::Instant;

use mcp_authz::{Decision, Identity};
use rmcp::model::JsonObject;
use serde::Deserialize;
use serde_json::{Value, json};

pub(crate) use redact::{Redactor, compile_pattern};
pub use time::{parse_rfc3339, rfc3339_utc};
pub(crate) use writer::spawn_writer;

use crate::error::ProxyError;

/// The `audit:` section of the config.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct AuditConfig {
    /// Write lines to standard output.
    #[serde(default)]
    pub stdout: bool,
    /// Append lines to this file (created if missing).
    #[serde(default)]
    pub file: Option<std::path::PathBuf>,
    /// Argument keys whose values are replaced by `[REDACTED]` (case-insensitive
    /// substring match, at any depth). Default: password, secret, token,
    /// authorization, api_key, apikey, private_key, credential.
    #[serde(default)]
    pub redact_keys: Option<Vec<String>>,
    /// Regular expressions; matches inside string values are replaced by
    /// `[REDACTED]`. Default: JWTs (`eyJ….….…`) and `Bearer …` values.
    #[serde(default)]
    pub redact_patterns: Option<Vec<String>>,
}

/// How a routed or relayed request ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    Ok,
    ToolError,
    Denied,
    BackendError,
    Timeout,
    /// Relayed: the client answered with a JSON-RPC error, or its session
    /// ended first.
    ClientError,
    /// Relayed: not sent to the client (it lacks the capability, or its
    /// protocol has no server-to-client requests).
    Refused,
    /// Relayed: the call ended, or the backend cancelled, before the client
    /// answered.
    Cancelled,
}

impl Outcome {
    /// The name in audit lines and metrics labels.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::ToolError => "tool_error",
            Outcome::Denied => "denied",
            Outcome::BackendError => "backend_error",
            Outcome::Timeout => "timeout",
            Outcome::ClientError => "client_error",
            Outcome::Refused => "refused",
            Outcome::Cancelled => "cancelled",
        }
    }
}

/// One routed request (or one relayed during it), as the audit line
/// describes it.
pub(crate) struct Entry<'a> {
    pub(crate) request_id: Value,
    pub(crate) session: Option<&'a str>,
    pub(crate) identity: &'a Identity,
    pub(crate) method: &'a str,
    pub(crate) backend: &'a str,
    pub(crate) tool: &'a str,
    pub(crate) exposed: &'a str,
    pub(crate) arguments: Option<&'a JsonObject>,
    pub(crate) decision: Option<&'a Decision>,
    pub(crate) outcome: Outcome,
    pub(crate) started: Instant,
}

/// Formats and hands audit lines to the writer task.
pub(crate) struct Auditor {
    redactor: Redactor,
    lines: tokio::sync::mpsc::Sender<String>,
}

impl Auditor {
    /// Builds the redactor and starts the writer (`None` when nothing is configured).
    pub(crate) async fn start(config: &AuditConfig) -> Result<Option<Self>, ProxyError> {
        if !config.stdout && config.file.is_none() {
            return Ok(None);
        }
        let redactor = Redactor::new(config)?;
        let lines = spawn_writer(config.stdout, config.file.clone()).await?;
        Ok(Some(Auditor { redactor, lines }))
    }

    /// Writes one line (dropped, with a warning, if the writer is far behind).
    pub(crate) fn record(&self, entry: &Entry<'_>) {
        let line = self.line(entry).to_string();
        if self.lines.try_send(line).is_err() {
            tracing::warn!("audit writer is behind or gone; an audit line was dropped");
        }
    }

    fn line(&self, e: &Entry<'_>) -> Value {
        let claims = e.identity.claims();
        let arguments = e
            .arguments
            .map(|a| self.redactor.redact(&Value::Object(a.clone())));
        json!({
            "ts": rfc3339_utc(std::time::SystemTime::now()),
            "request_id": e.request_id,
            "session": e.session,
            "sub": e.identity.subject(),
            "uid": claims.get("uid"),
            "cid": e.identity.client_id(),
            "groups": e.identity.groups(),
            "method": e.method,
            "backend": e.backend,
            "tool": e.tool,
            "exposed": e.exposed,
            "arguments": arguments,
            "decision": e.decision.map(|d| if d.allowed { "allow" } else { "deny" }),
            "rule": e.decision.and_then(|d| d.rule.clone()),
            "outcome": e.outcome.as_str(),
            "latency_ms": e.started.elapsed().as_secs_f64() * 1000.0,
        })
    }
}

/// Lines of the audit file at `path` whose `sub` is `user` and whose `ts` is
/// not before `since` (an RFC 3339 time, any offset). Times are compared as
/// instants: `2026-11-25T08:00:00Z` keeps `2026-11-25T08:00:00.250Z`, and
/// `2026-11-25T10:00:00+02:00` is the same bound. With `since`, lines without
/// a readable `ts` are left out; lines that are not JSON always are.
pub fn filter_file(
    path: &std::path::Path,
    user: &str,
    since: Option<&str>,
) -> Result<Vec<String>, ProxyError> {
    let since = since
        .map(|s| parse_rfc3339(s).map_err(since_error))
        .transpose()?;
    let text = std::fs::read_to_string(path).map_err(|source| ProxyError::Audit {
        path: path.to_owned(),
        source,
    })?;
    Ok(text
        .lines()
        .filter(|line| {
            let Ok(value) = serde_json::from_str::<Value>(line) else {
                return false;
            };
            let user_matches = value.get("sub").and_then(Value::as_str) == Some(user);
            let recent = match since {
                Some(since) => value
                    .get("ts")
                    .and_then(Value::as_str)
                    .and_then(|ts| parse_rfc3339(ts).ok())
                    .is_some_and(|ts| ts >= since),
                None => true,
            };
            user_matches && recent
        })
        .map(str::to_owned)
        .collect())
}

/// Turns `--since` into an RFC 3339 lower bound for [`filter_file`]: an age
/// like `30m` or `2h` counts back from now; anything containing `T` (or `t`)
/// must be an RFC 3339 time, and is checked here.
pub fn since_to_timestamp(since: &str) -> Result<String, ProxyError> {
    if since.contains(['T', 't']) {
        parse_rfc3339(since).map_err(since_error)?;
        return Ok(since.to_owned());
    }
    let age = crate::config::parse_duration(since).map_err(|message| {
        since_error(format!(
            "{message}, or an RFC 3339 time like 2026-11-25T08:00:00Z"
        ))
    })?;
    let at = std::time::SystemTime::now()
        .checked_sub(age)
        .unwrap_or(std::time::UNIX_EPOCH);
    Ok(rfc3339_utc(at))
}

fn since_error(message: String) -> ProxyError {
    ProxyError::ConfigInvalid {
        path: "<command line>".into(),
        line: None,
        field: "--since".into(),
        message,
    }
}
