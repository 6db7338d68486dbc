//! `mcp-proxy check --config …`: validate a config without serving.
//!
//! Loading already applies every rule that needs only the file (schema,
//! `${ENV}`, values, URLs, header values, `audit.redact_patterns`). `check`
//! adds what a start would find on disk: the policy compiles, each stdio
//! command and `cwd` exists, credential files are readable and parse (a
//! header value file holds a valid header value, a private key file a PEM key
//! okta-auth can sign with), and the audit file can be appended to. It starts
//! and contacts nothing.

use std::path::{Path, PathBuf};

use crate::config::{CredentialsConfig, GatewayConfig, TransportConfig};
use crate::error::ProxyError;

/// Loads `path` and checks it as described in the module documentation.
/// Returns one human-readable line per finding that passed.
pub fn check_config(path: &Path) -> Result<Vec<String>, ProxyError> {
    let config = GatewayConfig::load(path)?;
    check_loaded(&config)
}

/// The checks of [`check_config`] on a config already loaded.
pub fn check_loaded(config: &GatewayConfig) -> Result<Vec<String>, ProxyError> {
    let mut lines = Vec::new();
    if config.authorizer()?.is_some() {
        lines.push("policy: compiles".to_owned());
    }
    if let Some(file) = &config.audit.file {
        check_audit_file(file).map_err(|message| config.field_error("audit.file", message))?;
        lines.push(format!("audit: {} is writable", file.display()));
    }
    for (i, backend) in config.backends.iter().enumerate() {
        let mut line = match &backend.transport {
            TransportConfig::Stdio(stdio) => {
                if let Some(cwd) = &stdio.cwd
                    && !cwd.is_dir()
                {
                    return Err(config.field_error(
                        &format!("backends[{i}].stdio.cwd"),
                        format!("{} is not a directory", cwd.display()),
                    ));
                }
                let found =
                    find_program(&stdio.command, stdio.cwd.as_deref()).ok_or_else(|| {
                        config.field_error(
                            &format!("backends[{i}].stdio.command"),
                            format!(
                                "program `{}` not found (not a file, not on PATH)",
                                stdio.command
                            ),
                        )
                    })?;
                format!("{}: stdio {}", backend.name, found.display())
            }
            TransportConfig::Http(http) => format!("{}: http {}", backend.name, http.url),
            TransportConfig::Demo(name) => format!("{}: demo-server {name}", backend.name),
        };
        if let Some(what) = check_credentials(config, i, &backend.credentials)? {
            line.push_str(&format!(" ({what})"));
        }
        lines.push(line);
    }
    Ok(lines)
}

/// Reads the credential files of backend `i`; says what was checked.
fn check_credentials(
    config: &GatewayConfig,
    i: usize,
    credentials: &CredentialsConfig,
) -> Result<Option<String>, ProxyError> {
    let field = |f: &str| format!("backends[{i}].credentials.{f}");
    let read = |file: &Path, f: &str| {
        std::fs::read_to_string(file)
            .map_err(|e| config.field_error(&field(f), format!("{}: {e}", file.display())))
    };
    match credentials {
        CredentialsConfig::Header {
            value_file: Some(file),
            ..
        } => {
            let text = read(file, "value_file")?;
            // As the gateway reads it: trailing newlines trimmed.
            if http::HeaderValue::from_str(text.trim_end_matches(['\n', '\r'])).is_err() {
                return Err(config.field_error(
                    &field("value_file"),
                    format!(
                        "{}: the content is {}",
                        file.display(),
                        crate::config::HEADER_VALUE_RULE
                    ),
                ));
            }
            Ok(Some(format!("header value file {} read", file.display())))
        }
        _ => {
            let Some(file) = credentials.private_key_file() else {
                return Ok(None);
            };
            let pem = read(file, "private_key_file")?;
            okta_auth::SigningKey::from_pem(&pem).map_err(|e| {
                config.field_error(
                    &field("private_key_file"),
                    format!("{}: {e}", file.display()),
                )
            })?;
            Ok(Some(format!("private key {} parses", file.display())))
        }
    }
}

/// Whether the gateway will be able to append to `file` (what it opens at
/// start, creating it if missing): an existing file must open for appending
/// (it is not changed); otherwise its directory must exist and take a new
/// file, which is tested by creating and removing an empty probe file.
fn check_audit_file(file: &Path) -> Result<(), String> {
    if file.exists() {
        if file.is_dir() {
            return Err(format!("{} is a directory", file.display()));
        }
        return std::fs::OpenOptions::new()
            .append(true)
            .open(file)
            .map(drop)
            .map_err(|e| format!("{} cannot be opened for appending: {e}", file.display()));
    }
    let dir = match file.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_owned(),
        _ => PathBuf::from("."),
    };
    if !dir.is_dir() {
        return Err(format!(
            "cannot create {}: the directory {} does not exist",
            file.display(),
            dir.display()
        ));
    }
    let probe = dir.join(format!(".mcp-proxy-check-{}", uuid::Uuid::new_v4()));
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&probe)
        .map_err(|e| {
            format!(
                "cannot create {}: the directory {} is not writable ({e})",
                file.display(),
                dir.display()
            )
        })?;
    let _ = std::fs::remove_file(&probe);
    Ok(())
}

/// Resolves a program like the OS would: a path (relative to `cwd`) or a name on `PATH`.
pub(crate) fn find_program(program: &str, cwd: Option<&Path>) -> Option<PathBuf> {
    let as_path = Path::new(program);
    if as_path.components().count() > 1 {
        let full = match cwd {
            Some(dir) if as_path.is_relative() => dir.join(as_path),
            _ => as_path.to_owned(),
        };
        return full.is_file().then_some(full);
    }
    let paths = std::env::var_os("PATH")?;
    std::env::split_paths(&paths)
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file())
}

#[cfg(test)]
mod tests {
    use super::find_program;

    #[test]
    fn finds_programs_on_path_and_rejects_missing_ones() {
        assert!(find_program("sh", None).is_some());
        assert!(find_program("definitely-not-a-program-xyz", None).is_none());
        assert!(find_program("./nope/nope", None).is_none());
    }
}
