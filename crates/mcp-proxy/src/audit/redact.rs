//! Redaction of call arguments before they reach the audit log.

use regex::Regex;
use serde_json::Value;

use super::AuditConfig;
use crate::error::ProxyError;

const DEFAULT_KEYS: &[&str] = &[
    "password",
    "secret",
    "token",
    "authorization",
    "api_key",
    "apikey",
    "private_key",
    "credential",
];
const DEFAULT_PATTERNS: &[&str] = &[
    r"eyJ[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]*",
    r"(?i)bearer\s+[A-Za-z0-9._~+/=-]+",
];
/// What replaces a redacted value or match.
pub(crate) const REDACTED: &str = "[REDACTED]";

/// Compiles one `redact_patterns` entry; the error says why it is not a regex.
pub(crate) fn compile_pattern(source: &str) -> Result<Regex, String> {
    Regex::new(source).map_err(|e| match e {
        regex::Error::Syntax(text) => {
            // The parser's text spans lines (the pattern, a caret, the error);
            // its last line says what is wrong.
            let what = text
                .lines()
                .rev()
                .find_map(|l| l.trim().strip_prefix("error: "))
                .unwrap_or(text.trim());
            format!("`{source}` is not a regular expression: {what}")
        }
        other => format!("`{source}` is not a usable regular expression: {other}"),
    })
}

/// Replaces sensitive values (by key) and sensitive substrings (by pattern).
pub(crate) struct Redactor {
    keys: Vec<String>,
    patterns: Vec<Regex>,
}

impl Redactor {
    pub(crate) fn new(config: &AuditConfig) -> Result<Self, ProxyError> {
        let keys = match &config.redact_keys {
            Some(keys) => keys.iter().map(|k| k.to_ascii_lowercase()).collect(),
            None => DEFAULT_KEYS.iter().map(|k| (*k).to_owned()).collect(),
        };
        let sources: Vec<String> = match &config.redact_patterns {
            Some(p) => p.clone(),
            None => DEFAULT_PATTERNS.iter().map(|p| (*p).to_owned()).collect(),
        };
        let mut patterns = Vec::new();
        for (i, source) in sources.iter().enumerate() {
            // Config files are checked when loaded; this is for configs built in code.
            patterns.push(compile_pattern(source).map_err(|message| {
                ProxyError::ConfigInvalid {
                    path: "<config>".into(),
                    line: None,
                    field: format!("audit.redact_patterns[{i}]"),
                    message,
                }
            })?);
        }
        Ok(Redactor { keys, patterns })
    }

    fn sensitive_key(&self, key: &str) -> bool {
        let key = key.to_ascii_lowercase();
        self.keys.iter().any(|k| key.contains(k.as_str()))
    }

    /// A redacted copy of `value`.
    pub(crate) fn redact(&self, value: &Value) -> Value {
        match value {
            Value::Object(map) => Value::Object(
                map.iter()
                    .map(|(k, v)| {
                        let v = if self.sensitive_key(k) {
                            Value::String(REDACTED.to_owned())
                        } else {
                            self.redact(v)
                        };
                        (k.clone(), v)
                    })
                    .collect(),
            ),
            Value::Array(items) => Value::Array(items.iter().map(|v| self.redact(v)).collect()),
            Value::String(s) => {
                let mut text = s.clone();
                for pattern in &self.patterns {
                    text = pattern.replace_all(&text, REDACTED).into_owned();
                }
                Value::String(text)
            }
            other => other.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::{AuditConfig, Redactor};

    #[test]
    fn keys_and_patterns_are_redacted_at_any_depth() {
        let r = Redactor::new(&AuditConfig::default()).unwrap();
        let out = r.redact(&json!({
            "repo": "acme/web",
            "GitHub_Token": "ghp_123",
            "nested": [{"password": "p"}, "Bearer abc.def", "eyJhbGciOi.eyJzdWIiOi.sig"],
        }));
        assert_eq!(out["repo"], "acme/web");
        assert_eq!(out["GitHub_Token"], "[REDACTED]");
        assert_eq!(out["nested"][0]["password"], "[REDACTED]");
        assert_eq!(out["nested"][1], "[REDACTED]");
        assert_eq!(out["nested"][2], "[REDACTED]");
    }

    #[test]
    fn configured_lists_replace_the_defaults_and_bad_patterns_are_errors() {
        let config = AuditConfig {
            redact_keys: Some(vec!["branch".into()]),
            redact_patterns: Some(vec![r"\d{4}-\d{4}".into()]),
            ..AuditConfig::default()
        };
        let r = Redactor::new(&config).unwrap();
        let out = r.redact(&json!({"branch": "main", "password": "kept", "card": "1234-5678 ok"}));
        assert_eq!(out["branch"], "[REDACTED]");
        assert_eq!(out["password"], "kept");
        assert_eq!(out["card"], "[REDACTED] ok");
        let bad = AuditConfig {
            redact_patterns: Some(vec!["(".into()]),
            ..AuditConfig::default()
        };
        assert_eq!(
            Redactor::new(&bad).err().unwrap().to_string(),
            "<config>: audit.redact_patterns[0]: `(` is not a regular expression: unclosed group"
        );
    }
}
