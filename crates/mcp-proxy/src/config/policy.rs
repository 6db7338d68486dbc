//! Policy errors as config errors: they name the config file and the line of
//! `policy:` (or of the rule or entry that failed), or of `policy_file:` and
//! then the policy file and the line in it.

use std::path::Path;

use mcp_authz::{AuthzError, Policy};

use super::Source;
use super::locate::line_of;
use crate::error::ProxyError;

/// An inline `policy:` that does not compile.
pub(super) fn inline_error(source: &Source, policy: &Policy, error: &AuthzError) -> ProxyError {
    let field = match entry(policy, error) {
        Some(entry) => format!("policy.{entry}"),
        None => "policy".to_owned(),
    };
    source.error(&field, error.to_string())
}

/// A `policy_file:` that cannot be read, parsed or compiled.
pub(super) fn file_error(source: &Source, file: &Path, error: &AuthzError) -> ProxyError {
    let message = match error {
        // These already name the file (and, for a parse error, the line).
        AuthzError::Io { .. } | AuthzError::Parse(_) => error.to_string(),
        _ => {
            let line = Policy::from_file(file)
                .ok()
                .and_then(|policy| entry(&policy, error))
                .zip(std::fs::read_to_string(file).ok())
                .and_then(|(entry, text)| line_of(&text, &entry));
            match line {
                Some(line) => format!("{}:{line}: {error}", file.display()),
                None => format!("{}: {error}", file.display()),
            }
        }
    };
    source.error("policy_file", message)
}

/// The path, inside the policy document, of what `error` is about.
fn entry(policy: &Policy, error: &AuthzError) -> Option<String> {
    match error {
        AuthzError::RuleSyntax { rule, .. }
        | AuthzError::UnknownVariable { rule, .. }
        | AuthzError::NotBool { rule, .. } => {
            let i = rule_index(policy, rule)?;
            let expression = if policy.rules[i].deny.is_some() {
                "deny"
            } else {
                "allow"
            };
            Some(format!("rules[{i}].{expression}"))
        }
        AuthzError::Invalid { what, .. } => match what
            .strip_prefix("rule '")
            .and_then(|w| w.strip_suffix('\''))
        {
            Some(name) => rule_index(policy, name).map(|i| format!("rules[{i}]")),
            // `rules[3]`, `groups."Sales".deny[0]`, `scopes."mcp:read"[1]`.
            None => Some(what.clone()),
        },
        AuthzError::Cedar(_) => Some("cedar".to_owned()),
        _ => None,
    }
}

/// Which rule a name from an error means (unnamed rules are `rules[<i>]`).
fn rule_index(policy: &Policy, name: &str) -> Option<usize> {
    policy
        .rules
        .iter()
        .enumerate()
        .position(|(i, rule)| match &rule.name {
            Some(n) => n == name,
            None => format!("rules[{i}]") == name,
        })
}
