//! `mcp-proxy check --config …`: validate a config without serving.

use std::path::{Path, PathBuf};

use crate::config::{GatewayConfig, TransportConfig};
use crate::error::ProxyError;

/// Loads `path` and checks that every stdio backend's command can be found.
/// Returns one human-readable line per backend.
pub fn check_config(path: &Path) -> Result<Vec<String>, ProxyError> {
    let config = GatewayConfig::load(path)?;
    let mut lines = Vec::new();
    if config.authorizer()?.is_some() {
        lines.push("policy: compiles".to_owned());
    }
    for (i, backend) in config.backends.iter().enumerate() {
        let line = match &backend.transport {
            TransportConfig::Stdio(stdio) => {
                let found =
                    find_program(&stdio.command, stdio.cwd.as_deref()).ok_or_else(|| {
                        ProxyError::ConfigInvalid {
                            path: path.display().to_string(),
                            field: format!("backends[{i}].stdio.command"),
                            message: format!(
                                "program `{}` not found (not a file, not on PATH)",
                                stdio.command
                            ),
                        }
                    })?;
                format!("{}: stdio {}", backend.name, found.display())
            }
            TransportConfig::Http(http) => format!("{}: http {}", backend.name, http.url),
            TransportConfig::Demo(name) => format!("{}: demo-server {name}", backend.name),
        };
        lines.push(line);
    }
    Ok(lines)
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
