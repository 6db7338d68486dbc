//! The compiled policy and the decision procedure.

use std::sync::Arc;

use cel::{Context, Env};

use crate::cel::{Activation, CelRule, Eval, Memo, environment};
use crate::error::AuthzError;
use crate::identity::Identity;
use crate::pattern::Pattern;
use crate::policy::{DEFAULT_RULE_METHODS, DefaultAction, Policy, ScopeMode};
use crate::request::{PROMPTS_GET, RESOURCES_READ, Request, TOOLS_CALL};

/// The answer for one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// Whether the request may proceed.
    pub allowed: bool,
    /// What decided: a rule's name, `group:<name>`, `scope:<scope>`,
    /// `cedar:<policy id>`, or `None` for the default.
    pub rule: Option<String>,
    /// Why, in words safe to show the caller (a rule's description, or a
    /// generic sentence naming the rule; never the expression).
    pub reason: String,
    /// On a denial that holding this scope would lift: the scope to step up to.
    pub missing_scope: Option<String>,
    /// Rules that failed to evaluate while deciding (for audit and logs, not for callers).
    pub errors: Vec<String>,
}

#[derive(Debug)]
enum Kind {
    Allow,
    Deny,
}

#[derive(Debug)]
struct CompiledRule {
    name: String,
    kind: Kind,
    methods: Option<Vec<String>>,
    description: Option<String>,
    cel: CelRule,
    /// Where this rule's slots start in a list's [`Memo`].
    memo_offset: usize,
}

impl CompiledRule {
    fn eval(&self, ctx: &Context<'_, '_>, request: &Request<'_>, memo: Option<&mut Memo>) -> Eval {
        let slots =
            memo.and_then(|m| m.get_mut(self.memo_offset..self.memo_offset + self.cel.memo_len()));
        self.cel.eval(ctx, request, slots)
    }

    fn applies(&self, method: &str) -> bool {
        match &self.methods {
            None => true,
            Some(ms) => ms.iter().any(|m| m == method),
        }
    }

    fn reason(&self, verb: &str) -> String {
        match &self.description {
            Some(d) => format!("{verb} by rule '{}': {d}", self.name),
            None => format!("{verb} by rule '{}'", self.name),
        }
    }
}

#[derive(Debug)]
struct CompiledGroup {
    name: String,
    allow: Vec<Pattern>,
    deny: Vec<Pattern>,
}

/// A policy ready to decide: rules compiled, patterns parsed.
pub(crate) struct CompiledPolicy {
    env: Arc<Env>,
    default: DefaultAction,
    rules: Vec<CompiledRule>,
    groups: Vec<CompiledGroup>,
    scopes: Vec<(String, Vec<Pattern>)>,
    scope_mode: ScopeMode,
    /// Methods beyond the three item methods that some rule names.
    extra_methods: Vec<String>,
    /// Total memo slots of all rules.
    memo_len: usize,
    #[cfg(feature = "cedar")]
    cedar: Option<crate::cedar::CedarEngine>,
}

/// What decided, borrowed from the policy (no allocation on the hot path).
enum Outcome<'p> {
    DenyRule(&'p CompiledRule),
    DenyGroup(&'p str),
    MissingScope(&'p str),
    AllowRule(&'p CompiledRule),
    AllowGroup(&'p str),
    AllowScope(&'p str),
    #[cfg(feature = "cedar")]
    Cedar(bool, String),
    Default,
}

fn is_item_method(method: &str) -> bool {
    matches!(method, TOOLS_CALL | PROMPTS_GET | RESOURCES_READ)
}

impl CompiledPolicy {
    pub(crate) fn compile(policy: &Policy) -> Result<Self, AuthzError> {
        let env = environment();
        let mut rules = Vec::with_capacity(policy.rules.len());
        let mut extra_methods: Vec<String> = Vec::new();
        let mut memo_len = 0;
        for (i, r) in policy.rules.iter().enumerate() {
            let name = r.name.clone().unwrap_or_else(|| format!("rules[{i}]"));
            if rules.iter().any(|c: &CompiledRule| c.name == name) {
                return Err(AuthzError::Invalid {
                    what: format!("rules[{i}]"),
                    message: format!("the name '{name}' is used twice; names must be unique"),
                });
            }
            let (kind, source) = match (&r.allow, &r.deny) {
                (Some(a), None) => (Kind::Allow, a),
                (None, Some(d)) => (Kind::Deny, d),
                _ => {
                    return Err(AuthzError::Invalid {
                        what: format!("rule '{name}'"),
                        message: "a rule has exactly one of `allow` or `deny`".into(),
                    });
                }
            };
            let methods = match &r.methods {
                None => Some(
                    DEFAULT_RULE_METHODS
                        .iter()
                        .map(|m| (*m).to_owned())
                        .collect(),
                ),
                Some(ms) if ms.iter().any(|m| m == "*") => None,
                Some(ms) if ms.is_empty() || ms.iter().any(|m| m.trim().is_empty()) => {
                    return Err(AuthzError::Invalid {
                        what: format!("rule '{name}'"),
                        message: "`methods` must list MCP method names (or \"*\")".into(),
                    });
                }
                Some(ms) => Some(ms.clone()),
            };
            for m in methods.iter().flatten() {
                if !is_item_method(m) && !extra_methods.contains(m) {
                    extra_methods.push(m.clone());
                }
            }
            let cel = CelRule::compile(&env, &name, source)?;
            let memo_offset = memo_len;
            memo_len += cel.memo_len();
            rules.push(CompiledRule {
                name,
                kind,
                methods,
                description: r.description.clone(),
                cel,
                memo_offset,
            });
        }
        let mut groups = Vec::with_capacity(policy.groups.len());
        for (g, table) in &policy.groups {
            groups.push(CompiledGroup {
                name: g.clone(),
                allow: patterns(&format!("groups.\"{g}\".allow"), &table.allow)?,
                deny: patterns(&format!("groups.\"{g}\".deny"), &table.deny)?,
            });
        }
        let mut scopes = Vec::with_capacity(policy.scopes.len());
        for (s, list) in &policy.scopes {
            scopes.push((s.clone(), patterns(&format!("scopes.\"{s}\""), list)?));
        }
        #[cfg(feature = "cedar")]
        let cedar = match &policy.cedar {
            Some(spec) => Some(crate::cedar::CedarEngine::new(spec)?),
            None => None,
        };
        #[cfg(not(feature = "cedar"))]
        if policy.cedar.is_some() {
            return Err(AuthzError::Cedar(
                "this build of mcp-authz has no `cedar` feature; enable it to use Cedar policies"
                    .into(),
            ));
        }
        Ok(Self {
            env,
            default: policy.default,
            rules,
            groups,
            scopes,
            scope_mode: policy.scope_mode,
            extra_methods,
            memo_len,
            #[cfg(feature = "cedar")]
            cedar,
        })
    }

    /// Whether requests with this method are decided (the item methods, and any
    /// method a rule names).
    pub(crate) fn governs(&self, method: &str) -> bool {
        is_item_method(method) || self.extra_methods.iter().any(|m| m == method)
    }

    /// Decides with full detail.
    pub(crate) fn decide(&self, identity: &Identity, request: &Request<'_>) -> Decision {
        let mut errors = Vec::new();
        let outcome = self.evaluate(identity, request, false, None, &mut errors);
        self.to_decision(outcome, errors)
    }

    /// Whether an item may be listed: decided without arguments, where rules
    /// that read arguments cannot deny and count as allowing if they fail.
    /// `memo` must belong to this identity and this policy ([`Self::new_memo`]).
    pub(crate) fn visible(
        &self,
        identity: &Identity,
        request: &Request<'_>,
        memo: &mut Memo,
    ) -> bool {
        let mut errors = Vec::new();
        let outcome = self.evaluate(identity, request, true, Some(memo), &mut errors);
        self.is_allowed(&outcome)
    }

    /// An empty memo for filtering one list for one identity.
    pub(crate) fn new_memo(&self) -> Memo {
        vec![None; self.memo_len]
    }

    fn is_allowed(&self, o: &Outcome<'_>) -> bool {
        match o {
            Outcome::DenyRule(_) | Outcome::DenyGroup(_) | Outcome::MissingScope(_) => false,
            Outcome::AllowRule(_) | Outcome::AllowGroup(_) | Outcome::AllowScope(_) => true,
            #[cfg(feature = "cedar")]
            Outcome::Cedar(allowed, _) => *allowed,
            Outcome::Default => self.default == DefaultAction::Allow,
        }
    }

    fn evaluate<'p>(
        &'p self,
        identity: &Identity,
        request: &Request<'_>,
        listing: bool,
        mut memo: Option<&mut Memo>,
        errors: &mut Vec<String>,
    ) -> Outcome<'p> {
        let method = request.method;
        let item = is_item_method(method);
        let has_rules = self.rules.iter().any(|r| r.applies(method));
        let activation = has_rules.then(|| Activation::new(identity, request));
        let ctx = activation.as_ref().map(|a| {
            let mut ctx = Context::with_env(Arc::clone(&self.env));
            ctx.set_variable_resolver(a);
            ctx
        });

        // 1. Deny rules, in order. A failing deny rule denies (fail closed).
        //    While listing, deny rules that read arguments are skipped (they
        //    are decided at call time, when there are arguments).
        if let Some(ctx) = &ctx {
            for r in self.rules.iter().filter(|r| matches!(r.kind, Kind::Deny)) {
                if !r.applies(method) || (listing && r.cel.uses_arguments) {
                    continue;
                }
                match r.eval(ctx, request, memo.as_deref_mut()) {
                    Eval::True => return Outcome::DenyRule(r),
                    Eval::False => {}
                    Eval::Error(e) => {
                        errors.push(format!("rule '{}': {e}", r.name));
                        return Outcome::DenyRule(r);
                    }
                }
            }
        }

        // 2. Group deny patterns.
        let member_groups = || {
            self.groups
                .iter()
                .filter(move |g| identity.groups().contains(&g.name))
        };
        if item {
            for g in member_groups() {
                if g.deny
                    .iter()
                    .any(|p| p.matches(request.server, request.name))
                {
                    return Outcome::DenyGroup(&g.name);
                }
            }
        }

        // 3. Cedar: a matching `forbid` denies; a `permit` is an allow source.
        #[cfg(feature = "cedar")]
        let mut cedar_allow: Option<String> = None;
        #[cfg(feature = "cedar")]
        if item && let Some(engine) = &self.cedar {
            match engine.decide(identity, request) {
                crate::cedar::CedarVerdict::Forbid(id) => return Outcome::Cedar(false, id),
                crate::cedar::CedarVerdict::Permit(id) => cedar_allow = Some(id),
                crate::cedar::CedarVerdict::NoPermit => {}
                crate::cedar::CedarVerdict::Error(e) => {
                    errors.push(format!("cedar: {e}"));
                    return Outcome::Cedar(false, "cedar".into());
                }
            }
        }

        // 4. Scope table: granted by a held scope (or, in `require` mode, only
        //    let through to the allow sources), or missing (step-up). In
        //    `require` mode a missing scope does not hide an item from lists.
        let mut missing: Option<&str> = None;
        if item && !self.scopes.is_empty() {
            let mut first_covering: Option<&str> = None;
            let mut held = false;
            for (scope, pats) in &self.scopes {
                if pats.iter().any(|p| p.matches(request.server, request.name)) {
                    if identity.has_scope(scope) {
                        if self.scope_mode == ScopeMode::Grant {
                            return Outcome::AllowScope(scope);
                        }
                        held = true;
                        break;
                    }
                    first_covering.get_or_insert(scope);
                }
            }
            match first_covering.filter(|_| !held) {
                Some(scope) if self.scope_mode == ScopeMode::Grant => {
                    return Outcome::MissingScope(scope);
                }
                // `require`: ask for the scope only if the rest allows the request
                // (a step-up that ends in a denial helps no one); lists ignore it.
                Some(scope) if !listing => missing = Some(scope),
                _ => {}
            }
        }

        let outcome = 'allow: {
            // 5. Other allow sources: group tables, allow rules, Cedar permits.
            if item {
                for g in member_groups() {
                    if g.allow
                        .iter()
                        .any(|p| p.matches(request.server, request.name))
                    {
                        break 'allow Outcome::AllowGroup(&g.name);
                    }
                }
            }
            if let Some(ctx) = &ctx {
                for r in self.rules.iter().filter(|r| matches!(r.kind, Kind::Allow)) {
                    if !r.applies(method) {
                        continue;
                    }
                    match r.eval(ctx, request, memo.as_deref_mut()) {
                        Eval::True => break 'allow Outcome::AllowRule(r),
                        Eval::False => {}
                        Eval::Error(_) if listing && r.cel.uses_arguments => {
                            break 'allow Outcome::AllowRule(r);
                        }
                        Eval::Error(e) => errors.push(format!("rule '{}': {e}", r.name)),
                    }
                }
            }
            #[cfg(feature = "cedar")]
            if let Some(id) = cedar_allow {
                break 'allow Outcome::Cedar(true, id);
            }

            // 6. The default.
            Outcome::Default
        };
        match missing {
            Some(scope) if self.is_allowed(&outcome) => Outcome::MissingScope(scope),
            _ => outcome,
        }
    }

    fn to_decision(&self, outcome: Outcome<'_>, errors: Vec<String>) -> Decision {
        let allowed = self.is_allowed(&outcome);
        let (rule, reason, missing_scope) = match outcome {
            Outcome::DenyRule(r) => (Some(r.name.clone()), r.reason("denied"), None),
            Outcome::AllowRule(r) => (Some(r.name.clone()), r.reason("allowed"), None),
            Outcome::DenyGroup(g) => (
                Some(format!("group:{g}")),
                format!("blocked for members of group '{g}'"),
                None,
            ),
            Outcome::AllowGroup(g) => (
                Some(format!("group:{g}")),
                format!("allowed for members of group '{g}'"),
                None,
            ),
            Outcome::AllowScope(s) => (
                Some(format!("scope:{s}")),
                format!("granted by scope '{s}'"),
                None,
            ),
            Outcome::MissingScope(s) => (
                Some(format!("scope:{s}")),
                format!("requires scope '{s}'"),
                Some(s.to_owned()),
            ),
            #[cfg(feature = "cedar")]
            Outcome::Cedar(ok, id) => {
                let verb = if ok { "permitted" } else { "forbidden" };
                let reason = format!("{verb} by Cedar policy '{id}'");
                (Some(format!("cedar:{id}")), reason, None)
            }
            Outcome::Default => (
                None,
                match self.default {
                    DefaultAction::Deny => "no rule allows this request (default deny)".into(),
                    DefaultAction::Allow => "no rule denies this request (default allow)".into(),
                },
                None,
            ),
        };
        Decision {
            allowed,
            rule,
            reason,
            missing_scope,
            errors,
        }
    }
}

fn patterns(what: &str, list: &[String]) -> Result<Vec<Pattern>, AuthzError> {
    list.iter()
        .enumerate()
        .map(|(i, p)| {
            Pattern::parse(p).ok_or_else(|| AuthzError::Invalid {
                what: format!("{what}[{i}]"),
                message: "empty pattern; write a tool name or glob like `list_*` or `github:*`"
                    .into(),
            })
        })
        .collect()
}
