//! The policy document: what users write (YAML or JSON), and a builder for code.

use std::fmt;
use std::marker::PhantomData;
use std::path::Path;

use serde::de::{MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::AuthzError;

/// The methods a rule applies to when it does not say.
pub const DEFAULT_RULE_METHODS: &[&str] = &["tools/call"];

/// A policy document. See `docs/policies.md` for the format and the evaluation order.
///
/// ```
/// use mcp_authz::Policy;
/// let policy = Policy::from_yaml(r#"
/// default: deny
/// rules:
///   - name: no-destructive
///     deny: "tool.name.contains('delete')"
/// groups:
///   Sales:
///     allow: ["salesforce:get_*"]
/// scopes:
///   mcp:read: ["list_*", "get_*"]
/// "#).unwrap();
/// assert_eq!(policy.rules.len(), 1);
/// assert_eq!(policy.scopes[0].0, "mcp:read");
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    /// What happens when nothing allows or denies: `deny` (the default) or `allow`.
    #[serde(default)]
    pub default: DefaultAction,
    /// Ordered CEL rules.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rules: Vec<Rule>,
    /// Group name → allowed / blocked tool patterns, in document order.
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        serialize_with = "ser_ordered",
        deserialize_with = "de_ordered"
    )]
    pub groups: Vec<(String, GroupTable)>,
    /// Scope → tool patterns it grants, in document order (the first granting
    /// scope is the one a step-up asks for).
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        serialize_with = "ser_ordered",
        deserialize_with = "de_ordered"
    )]
    pub scopes: Vec<(String, Vec<String>)>,
    /// How the `scopes` table combines with the rest: `grant` (the default: a held
    /// scope allows what it covers) or `require` (a held scope is necessary, groups
    /// and rules still decide).
    #[serde(default, skip_serializing_if = "ScopeMode::is_grant")]
    pub scope_mode: ScopeMode,
    /// Cedar policies (needs the `cedar` feature).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cedar: Option<CedarSpec>,
}

/// The outcome when no rule, group or scope decides.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DefaultAction {
    /// Deny (fail closed). The default.
    #[default]
    Deny,
    /// Allow.
    Allow,
}

/// How the `scopes` table takes part in a decision (`scope_mode` in the document).
///
/// Either way, a request that some scope's patterns cover while the caller holds
/// none of those scopes is denied with [`crate::Decision::missing_scope`] set, so the
/// layer answers `403 insufficient_scope` and the client can step up.
///
/// ```
/// use mcp_authz::{Policy, ScopeMode};
/// let policy = Policy::from_yaml(r#"
/// scope_mode: require
/// scopes:
///   mcp:write: ["github:push_*"]
/// groups:
///   Senior Engineers: {allow: ["github:*"]}
/// "#).unwrap();
/// assert_eq!(policy.scope_mode, ScopeMode::Require);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ScopeMode {
    /// A held scope **allows** every request its patterns cover (seed 004's
    /// AgentCore rules: the token's scopes are the whole authorization).
    #[default]
    Grant,
    /// A held scope is **required** for the requests its patterns cover but allows
    /// nothing by itself: group tables, rules and Cedar still decide (seed 001's
    /// group tables with Okta scopes as the client's consent). Lists show what
    /// groups and rules allow, so a client can discover a tool and step up when
    /// calling it.
    Require,
}

impl ScopeMode {
    fn is_grant(&self) -> bool {
        *self == Self::Grant
    }
}

/// One CEL rule: exactly one of `allow` / `deny`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// A name, shown in denials and audit; defaults to `rules[<index>]`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// A CEL condition that allows the request when true.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allow: Option<String>,
    /// A CEL condition that denies the request when true (deny wins).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deny: Option<String>,
    /// MCP methods the rule applies to; default `["tools/call"]`; `"*"` means all.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub methods: Option<Vec<String>>,
    /// Free text, shown in denials (so keep policy internals out of it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

impl Rule {
    /// An allow rule.
    pub fn allow(expression: impl Into<String>) -> Self {
        Self {
            allow: Some(expression.into()),
            ..Self::default()
        }
    }

    /// A deny rule.
    pub fn deny(expression: impl Into<String>) -> Self {
        Self {
            deny: Some(expression.into()),
            ..Self::default()
        }
    }

    /// Sets the rule's name.
    pub fn named(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Sets the methods the rule applies to.
    pub fn methods<I>(mut self, methods: I) -> Self
    where
        I: IntoIterator,
        I::Item: Into<String>,
    {
        self.methods = Some(methods.into_iter().map(Into::into).collect());
        self
    }

    /// Sets the description.
    pub fn description(mut self, text: impl Into<String>) -> Self {
        self.description = Some(text.into());
        self
    }
}

/// A group's tool table (seed 001): patterns are `[server:]glob`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GroupTable {
    /// Patterns members may call.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allow: Vec<String>,
    /// Patterns members may never call (deny wins, across all groups).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub deny: Vec<String>,
}

/// Cedar policies and the entity type names they use (ToolHive's by default).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CedarSpec {
    /// The policy set, in Cedar syntax.
    pub policies: String,
    /// Entity type of the principal (its id is the `sub` claim). Default `Client`.
    #[serde(default = "d_principal")]
    pub principal_type: String,
    /// Entity type of groups, the principal's parents (from `groups`). Default `THVGroup`.
    #[serde(default = "d_group")]
    pub group_type: String,
    /// Entity type of tools. Default `Tool`.
    #[serde(default = "d_tool")]
    pub tool_type: String,
    /// Entity type of prompts. Default `Prompt`.
    #[serde(default = "d_prompt")]
    pub prompt_type: String,
    /// Entity type of resources. Default `Resource`.
    #[serde(default = "d_resource")]
    pub resource_type: String,
}

fn d_principal() -> String {
    "Client".into()
}
fn d_group() -> String {
    "THVGroup".into()
}
fn d_tool() -> String {
    "Tool".into()
}
fn d_prompt() -> String {
    "Prompt".into()
}
fn d_resource() -> String {
    "Resource".into()
}

impl CedarSpec {
    /// Cedar policies with ToolHive's entity names (`Client`, `THVGroup`, `Tool`, `Prompt`, `Resource`).
    pub fn new(policies: impl Into<String>) -> Self {
        Self {
            policies: policies.into(),
            principal_type: d_principal(),
            group_type: d_group(),
            tool_type: d_tool(),
            prompt_type: d_prompt(),
            resource_type: d_resource(),
        }
    }
}

impl Policy {
    /// Parses a YAML document (JSON is valid YAML too, but see [`Policy::from_json`]).
    pub fn from_yaml(text: &str) -> Result<Self, AuthzError> {
        serde_norway::from_str(text).map_err(|e| AuthzError::Parse(e.to_string()))
    }

    /// Parses a JSON document.
    pub fn from_json(text: &str) -> Result<Self, AuthzError> {
        serde_json::from_str(text).map_err(|e| AuthzError::Parse(e.to_string()))
    }

    /// Reads a file: `.json` as JSON, anything else as YAML.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self, AuthzError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| AuthzError::Io {
            path: path.to_owned(),
            source,
        })?;
        let parsed = if path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("json"))
        {
            Self::from_json(&text)
        } else {
            Self::from_yaml(&text)
        };
        parsed.map_err(|e| match e {
            AuthzError::Parse(m) => AuthzError::Parse(format!("{}: {m}", path.display())),
            other => other,
        })
    }

    /// Starts building a policy in code.
    ///
    /// ```
    /// use mcp_authz::{Policy, Rule};
    /// let policy = Policy::builder()
    ///     .rule(Rule::deny("tool.name.contains('delete')").named("no-delete"))
    ///     .group_allow("Sales", ["salesforce:get_*"])
    ///     .scope("mcp:read", ["list_*", "get_*"])
    ///     .build();
    /// assert_eq!(policy.groups[0].0, "Sales");
    /// ```
    pub fn builder() -> PolicyBuilder {
        PolicyBuilder::default()
    }
}

/// Builds a [`Policy`] in code; compile it with [`crate::Authorizer::new`].
#[derive(Debug, Clone, Default)]
pub struct PolicyBuilder {
    policy: Policy,
}

impl PolicyBuilder {
    /// Allow when nothing decides (the default is deny).
    pub fn default_allow(mut self) -> Self {
        self.policy.default = DefaultAction::Allow;
        self
    }

    /// Appends a CEL rule.
    pub fn rule(mut self, rule: Rule) -> Self {
        self.policy.rules.push(rule);
        self
    }

    /// Appends an allow rule for `tools/call`.
    pub fn allow(self, name: impl Into<String>, expression: impl Into<String>) -> Self {
        self.rule(Rule::allow(expression).named(name))
    }

    /// Appends a deny rule for `tools/call`.
    pub fn deny(self, name: impl Into<String>, expression: impl Into<String>) -> Self {
        self.rule(Rule::deny(expression).named(name))
    }

    fn group_mut(&mut self, group: String) -> &mut GroupTable {
        let idx = match self.policy.groups.iter().position(|(g, _)| *g == group) {
            Some(i) => i,
            None => {
                self.policy.groups.push((group, GroupTable::default()));
                self.policy.groups.len() - 1
            }
        };
        &mut self.policy.groups[idx].1
    }

    /// Adds patterns a group may call.
    pub fn group_allow<I>(mut self, group: impl Into<String>, patterns: I) -> Self
    where
        I: IntoIterator,
        I::Item: Into<String>,
    {
        let table = self.group_mut(group.into());
        table.allow.extend(patterns.into_iter().map(Into::into));
        self
    }

    /// Adds patterns a group may never call.
    pub fn group_deny<I>(mut self, group: impl Into<String>, patterns: I) -> Self
    where
        I: IntoIterator,
        I::Item: Into<String>,
    {
        let table = self.group_mut(group.into());
        table.deny.extend(patterns.into_iter().map(Into::into));
        self
    }

    /// Sets how the scope table combines with groups and rules ([`ScopeMode`]).
    pub fn scope_mode(mut self, mode: ScopeMode) -> Self {
        self.policy.scope_mode = mode;
        self
    }

    /// Adds a scope and the patterns it grants.
    pub fn scope<I>(mut self, scope: impl Into<String>, patterns: I) -> Self
    where
        I: IntoIterator,
        I::Item: Into<String>,
    {
        let scope = scope.into();
        let patterns = patterns.into_iter().map(Into::into);
        match self.policy.scopes.iter_mut().find(|(s, _)| *s == scope) {
            Some((_, list)) => list.extend(patterns),
            None => self.policy.scopes.push((scope, patterns.collect())),
        }
        self
    }

    /// Sets Cedar policies (needs the `cedar` feature at load).
    pub fn cedar(mut self, spec: CedarSpec) -> Self {
        self.policy.cedar = Some(spec);
        self
    }

    /// The document.
    pub fn build(self) -> Policy {
        self.policy
    }
}

fn ser_ordered<S, T>(entries: &[(String, T)], s: S) -> Result<S::Ok, S::Error>
where
    S: Serializer,
    T: Serialize,
{
    let mut map = s.serialize_map(Some(entries.len()))?;
    for (k, v) in entries {
        map.serialize_entry(k, v)?;
    }
    map.end()
}

/// A mapping kept in document order; a repeated key is an error (YAML and JSON
/// parsers would otherwise silently keep one of them).
fn de_ordered<'de, D, T>(d: D) -> Result<Vec<(String, T)>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    struct V<T>(PhantomData<T>);
    impl<'de, T: Deserialize<'de>> Visitor<'de> for V<T> {
        type Value = Vec<(String, T)>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a mapping")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let mut out: Vec<(String, T)> = Vec::new();
            while let Some((k, v)) = map.next_entry::<String, T>()? {
                if out.iter().any(|(e, _)| *e == k) {
                    return Err(serde::de::Error::custom(format_args!(
                        "duplicate key '{k}'"
                    )));
                }
                out.push((k, v));
            }
            Ok(out)
        }
        fn visit_unit<E: serde::de::Error>(self) -> Result<Self::Value, E> {
            Ok(Vec::new())
        }
    }
    d.deserialize_any(V(PhantomData))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yaml_and_json_agree() {
        let yaml = Policy::from_yaml(
            "default: allow\nrules:\n  - deny: \"tool.name == 'x'\"\n    methods: ['*']\ngroups:\n  B: {deny: [x]}\n  A: {allow: ['*']}\nscopes:\n  s2: [b]\n  s1: [a]\n",
        )
        .unwrap();
        let json = Policy::from_json(&serde_json::to_string(&yaml).unwrap()).unwrap();
        assert_eq!(yaml, json);
        assert_eq!(yaml.default, DefaultAction::Allow);
        assert_eq!(yaml.groups[0].0, "B", "document order is kept");
        assert_eq!(yaml.scopes[1].0, "s1");
    }

    #[test]
    fn unknown_fields_and_duplicate_keys_are_errors() {
        let e = Policy::from_yaml("defualt: deny\n").unwrap_err();
        assert!(e.to_string().contains("defualt"), "{e}");
        let e = Policy::from_json(r#"{"scopes": {"a": ["x"], "a": ["y"]}}"#).unwrap_err();
        assert!(e.to_string().contains("duplicate key 'a'"), "{e}");
        let e = Policy::from_yaml("default: maybe\n").unwrap_err();
        assert!(e.to_string().contains("maybe"), "{e}");
    }

    #[test]
    fn builder_merges_groups_and_scopes() {
        let p = Policy::builder()
            .group_allow("G", ["a"])
            .group_deny("G", ["b"])
            .scope("s", ["x"])
            .scope("s", ["y"])
            .build();
        assert_eq!(p.groups.len(), 1);
        assert_eq!(p.groups[0].1.deny, ["b"]);
        assert_eq!(p.scopes[0].1, ["x", "y"]);
    }
}
