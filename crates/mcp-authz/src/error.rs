//! The crate's one error type.

use std::path::PathBuf;

/// Everything that can go wrong while loading a policy or configuring the layer.
///
/// Request-time problems (a rule that fails to evaluate, a malformed JSON-RPC
/// message) are never errors of this type: they become denials or JSON-RPC
/// error responses, so the caller always gets an answer and nothing fails open.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuthzError {
    /// The policy document is not valid YAML or JSON, or has unknown fields.
    #[error("policy document is malformed: {0}; fix the document (see docs/policies.md)")]
    Parse(String),
    /// A CEL rule does not compile.
    #[error(
        "rule '{rule}' does not compile: {message} at line {line}, column {column}; \
         fix the CEL expression"
    )]
    RuleSyntax {
        /// Name (or `rules[index]`) of the rule.
        rule: String,
        /// What the CEL parser reported (every error, separated by `; `).
        message: String,
        /// 1-based line of the first error in the expression.
        line: usize,
        /// 1-based column of the first error in the expression.
        column: usize,
    },
    /// A CEL rule references a variable the engine does not provide.
    #[error(
        "rule '{rule}' references unknown variable '{variable}' at line {line}, column {column}; \
         known variables: {known}"
    )]
    UnknownVariable {
        /// Name (or `rules[index]`) of the rule.
        rule: String,
        /// The unknown identifier.
        variable: String,
        /// 1-based line in the expression.
        line: usize,
        /// 1-based column in the expression.
        column: usize,
        /// Comma-separated list of the known root variables.
        known: String,
    },
    /// A CEL rule can never produce a boolean (for example `tool.name + 'x'`).
    #[error(
        "rule '{rule}' does not produce a bool ({message}) at line {line}, column {column}; \
         a rule must be a condition"
    )]
    NotBool {
        /// Name (or `rules[index]`) of the rule.
        rule: String,
        /// What was found instead.
        message: String,
        /// 1-based line of the expression's root (for `a + b`, the operator) in the rule.
        line: usize,
        /// 1-based column of the expression's root in the rule.
        column: usize,
    },
    /// A rule, group or scope entry is invalid (empty pattern, bad method, duplicate name ...).
    #[error("invalid policy entry {what}: {message}")]
    Invalid {
        /// Which entry (for example `groups."Sales".deny[0]`).
        what: String,
        /// What is wrong with it and how to fix it.
        message: String,
    },
    /// The Cedar policy set does not parse or validate.
    #[error("cedar policies are invalid: {0}; fix the policy text")]
    Cedar(String),
    /// The policy file could not be read.
    #[error("cannot read policy file {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// `reload()` was called on an authorizer that was not loaded from a file.
    #[error("this authorizer has no policy file to reload; build it with Authorizer::from_file")]
    NoPolicyFile,
}
