//! CEL rules: compilation, the load-time checks, and the per-request activation.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use cel::common::ast::{Expr, IdedExpr, operators};
use cel::common::types::CelString;
use cel::common::value::{CowVal, Val};
use cel::context::VariableResolver;
use cel::{Context, Env, Program};
use serde_json::{Map, Value};

use crate::error::AuthzError;
use crate::fast::Fast;
use crate::identity::{CelClaims, Identity, json_to_cel, to_val};
use crate::request::Request;

/// The variables a rule may use, with the fields the engine knows under each
/// (`None`: any field, as for the claims). This list is the reference of
/// `docs/policies.md` and is checked by a test against it.
pub const CEL_VARIABLES: &[(&str, Option<&[&str]>)] = &[
    ("jwt", None),
    ("claims", None),
    ("auth", Some(&["claims"])),
    ("tool", Some(&["name", "server", "arguments"])),
    ("mcp", Some(&["method", "tool"])),
    ("request", Some(&["headers"])),
];

const TOOL_FIELDS: &[&str] = &["name", "server", "arguments"];

/// The CEL environment shared by all rules: the standard library plus the
/// `strings` extension (`lowerAscii`, `split`, `replace`, ...).
pub(crate) fn environment() -> Arc<Env> {
    let mut env = Env::stdlib();
    // The extension only fails on a duplicate declaration, impossible on a fresh stdlib.
    let _ = env.add_extension(cel::extensions::strings);
    Arc::new(env)
}

/// One compiled rule.
#[derive(Debug)]
pub(crate) struct CelRule {
    /// The top-level `&&` operands, optimised (see [`optimize`]).
    conjuncts: Vec<Conjunct>,
    /// Whether the expression reads `tool.arguments` (or `mcp.tool.arguments`,
    /// or the whole `tool` / `mcp` map): such a rule cannot be decided when
    /// listing, where there are no arguments yet.
    pub(crate) uses_arguments: bool,
}

#[derive(Debug)]
struct Conjunct {
    expr: IdedExpr,
    /// The same condition in Rust, when it only tests `tool.*` / `mcp.method` strings.
    fast: Option<Fast>,
    /// Reads only the caller's claims (`jwt`, `claims`, `auth`): the same for
    /// every item of a list, so list filtering evaluates it once.
    identity_only: bool,
}

/// Results of identity-only conjuncts, kept while filtering one list.
pub(crate) type Memo = Vec<Option<Eval>>;

/// Outcome of evaluating one rule.
#[derive(Debug, Clone)]
pub(crate) enum Eval {
    True,
    False,
    /// Evaluation failed, or produced something other than a bool.
    Error(String),
}

impl CelRule {
    /// Compiles `source`, checks its variables and that it can be a bool.
    pub(crate) fn compile(env: &Arc<Env>, rule: &str, source: &str) -> Result<Self, AuthzError> {
        let program = env.compile(source).map_err(|e| AuthzError::RuleSyntax {
            rule: rule.to_owned(),
            message: e.to_string(),
        })?;
        let mut check = Checker {
            source,
            program: &program,
            rule,
            uses_arguments: false,
            bound: Vec::new(),
        };
        check.walk(program.expression())?;
        let uses_arguments = check.uses_arguments;
        check_bool_shape(rule, program.expression())?;
        let mut root = program.expression().clone();
        optimize(&mut root);
        let mut parts = Vec::new();
        flatten_and(root, &mut parts);
        let conjuncts = parts
            .into_iter()
            .map(|expr| Conjunct {
                identity_only: identity_only(&expr, &mut Vec::new()),
                fast: Fast::compile(&expr),
                expr,
            })
            .collect();
        let compiled = Self {
            conjuncts,
            uses_arguments,
        };
        compiled.dry_run(env, rule, program.expression())?;
        Ok(compiled)
    }

    /// How many memo slots the rule uses.
    pub(crate) fn memo_len(&self) -> usize {
        self.conjuncts.len()
    }

    /// Evaluates against a prepared activation. `memo` (the rule's slots)
    /// caches identity-only conjuncts across the items of one list.
    ///
    /// The conjuncts combine as CEL's `&&` does: any `false` makes it false
    /// (even next to an error), else any error makes it an error.
    pub(crate) fn eval(
        &self,
        ctx: &Context<'_, '_>,
        request: &Request<'_>,
        mut memo: Option<&mut [Option<Eval>]>,
    ) -> Eval {
        let mut error = None;
        for (i, c) in self.conjuncts.iter().enumerate() {
            if let Some(fast) = &c.fast {
                if fast.eval(request) {
                    continue;
                }
                return Eval::False;
            }
            let slot = match memo.as_deref_mut() {
                Some(m) if c.identity_only => m.get_mut(i),
                _ => None,
            };
            let r = match slot {
                Some(slot) => slot.get_or_insert_with(|| eval_expr(ctx, &c.expr)).clone(),
                None => eval_expr(ctx, &c.expr),
            };
            match r {
                Eval::False => return Eval::False,
                Eval::True => {}
                Eval::Error(e) => {
                    error.get_or_insert(e);
                }
            }
        }
        error.map_or(Eval::True, Eval::Error)
    }

    /// Runs the rule once on an empty identity and request: a successful
    /// result that is not a bool can never become one.
    fn dry_run(&self, env: &Arc<Env>, rule: &str, root: &IdedExpr) -> Result<(), AuthzError> {
        let identity = Identity::from_claims(Map::new());
        let args = Map::new();
        let request = Request::call_tool("").arguments(&args);
        let activation = Activation::new(&identity, &request);
        let mut ctx = Context::with_env(Arc::clone(env));
        ctx.set_variable_resolver(&activation);
        match ctx.resolve(root) {
            Ok(cel::Value::Bool(_)) | Err(_) => Ok(()),
            Ok(other) => Err(AuthzError::NotBool {
                rule: rule.to_owned(),
                message: format!("it evaluates to {}", type_name(&other)),
            }),
        }
    }
}

fn eval_expr(ctx: &Context<'_, '_>, expr: &IdedExpr) -> Eval {
    match ctx.resolve(expr) {
        Ok(cel::Value::Bool(true)) => Eval::True,
        Ok(cel::Value::Bool(false)) => Eval::False,
        Ok(other) => Eval::Error(format!("result is {}, not a bool", type_name(&other))),
        Err(e) => Eval::Error(e.to_string()),
    }
}

/// Splits `a && (b && c)` into `[a, b, c]`.
fn flatten_and(e: IdedExpr, out: &mut Vec<IdedExpr>) {
    match e.expr {
        Expr::Call(call)
            if call.func_name == operators::LOGICAL_AND
                && call.target.is_none()
                && call.args.len() == 2 =>
        {
            for a in call.args {
                flatten_and(a, out);
            }
        }
        expr => out.push(IdedExpr { id: e.id, expr }),
    }
}

/// Rewrites `list.exists(x, x == LITERAL)` (and `LITERAL == x`) into the
/// equivalent, much cheaper `LITERAL in list`; seed 004 writes scope checks
/// that way.
fn optimize(e: &mut IdedExpr) {
    let replacement = match &e.expr {
        Expr::Comprehension(c) => exists_equals(c),
        _ => None,
    };
    if let Some(expr) = replacement {
        e.expr = expr;
    }
    match &mut e.expr {
        Expr::Call(call) => {
            if let Some(t) = &mut call.target {
                optimize(t);
            }
            call.args.iter_mut().for_each(optimize);
        }
        Expr::Select(sel) => optimize(&mut sel.operand),
        Expr::List(list) => list.elements.iter_mut().for_each(optimize),
        Expr::Comprehension(c) => {
            optimize(&mut c.iter_range);
            optimize(&mut c.loop_step);
            optimize(&mut c.result);
        }
        _ => {}
    }
}

fn exists_equals(c: &cel::common::ast::ComprehensionExpr) -> Option<Expr> {
    if c.iter_var2.is_some() || c.accu_var != "@result" {
        return None;
    }
    let is_accu = |e: &IdedExpr| matches!(&e.expr, Expr::Ident(n) if *n == c.accu_var);
    if !is_accu(&c.result) {
        return None;
    }
    let Expr::Call(step) = &c.loop_step.expr else {
        return None;
    };
    if step.func_name != operators::LOGICAL_OR || step.args.len() != 2 || !is_accu(&step.args[0]) {
        return None;
    }
    let Expr::Call(eq) = &step.args[1].expr else {
        return None;
    };
    if eq.func_name != operators::EQUALS || eq.args.len() != 2 {
        return None;
    }
    let is_var = |e: &IdedExpr| matches!(&e.expr, Expr::Ident(n) if *n == c.iter_var);
    let literal = match (&eq.args[0], &eq.args[1]) {
        (
            v,
            lit @ IdedExpr {
                expr: Expr::Literal(_),
                ..
            },
        ) if is_var(v) => lit,
        (
            lit @ IdedExpr {
                expr: Expr::Literal(_),
                ..
            },
            v,
        ) if is_var(v) => lit,
        _ => return None,
    };
    Some(Expr::Call(cel::common::ast::CallExpr {
        func_name: operators::IN.to_owned(),
        target: None,
        args: vec![literal.clone(), c.iter_range.clone()],
    }))
}

/// Whether an expression reads nothing but the caller's claims.
fn identity_only(e: &IdedExpr, bound: &mut Vec<String>) -> bool {
    match &e.expr {
        Expr::Ident(name) => {
            name.starts_with('@')
                || bound.iter().any(|b| b == name)
                || matches!(name.as_str(), "jwt" | "claims")
        }
        Expr::Select(sel) => match &sel.operand.expr {
            Expr::Ident(root) if root == "auth" && !bound.iter().any(|b| b == root) => {
                sel.field == "claims"
            }
            _ => identity_only(&sel.operand, bound),
        },
        Expr::Call(call) => {
            call.target
                .as_deref()
                .is_none_or(|t| identity_only(t, bound))
                && call.args.iter().all(|a| identity_only(a, bound))
        }
        Expr::Comprehension(c) => {
            if !identity_only(&c.iter_range, bound) || !identity_only(&c.accu_init, bound) {
                return false;
            }
            let before = bound.len();
            bound.push(c.iter_var.clone());
            if let Some(v) = &c.iter_var2 {
                bound.push(v.clone());
            }
            bound.push(c.accu_var.clone());
            let ok = identity_only(&c.loop_cond, bound)
                && identity_only(&c.loop_step, bound)
                && identity_only(&c.result, bound);
            bound.truncate(before);
            ok
        }
        Expr::List(l) => l.elements.iter().all(|x| identity_only(x, bound)),
        Expr::Literal(_) => true,
        Expr::Map(_) | Expr::Struct(_) | Expr::Unspecified => false,
    }
}

fn type_name(v: &cel::Value) -> &'static str {
    match v {
        cel::Value::List(_) => "a list",
        cel::Value::Map(_) => "a map",
        cel::Value::Int(_) => "an int",
        cel::Value::UInt(_) => "a uint",
        cel::Value::Float(_) => "a double",
        cel::Value::String(_) => "a string",
        cel::Value::Bytes(_) => "bytes",
        cel::Value::Bool(_) => "a bool",
        cel::Value::Null => "null",
        _ => "a non-bool value",
    }
}

/// Static check of the root: literals, collections and arithmetic are never bools.
fn check_bool_shape(rule: &str, root: &IdedExpr) -> Result<(), AuthzError> {
    let what = match &root.expr {
        Expr::Literal(lit) => {
            if matches!(lit, cel::common::ast::LiteralValue::Boolean(_)) {
                return Ok(());
            }
            "a literal that is not a bool"
        }
        Expr::List(_) => "a list",
        Expr::Map(_) => "a map",
        Expr::Struct(_) => "a struct",
        Expr::Call(call)
            if matches!(
                call.func_name.as_str(),
                "_+_" | "_-_" | "_*_" | "_/_" | "_%_" | "-_"
            ) =>
        {
            "arithmetic"
        }
        _ => return Ok(()),
    };
    Err(AuthzError::NotBool {
        rule: rule.to_owned(),
        message: format!("the expression is {what}"),
    })
}

/// Walks the AST: every free identifier must be a known variable, and known
/// variables' fields (`tool.nmae`) must exist.
struct Checker<'a> {
    source: &'a str,
    program: &'a Program,
    rule: &'a str,
    uses_arguments: bool,
    bound: Vec<String>,
}

impl Checker<'_> {
    fn walk(&mut self, e: &IdedExpr) -> Result<(), AuthzError> {
        match &e.expr {
            Expr::Ident(name) => self.ident(e.id, name, &[]),
            Expr::Select(sel) => {
                // A chain of selects on an identifier: check it as a qualified name.
                let mut fields = vec![sel.field.as_str()];
                let mut cur = &sel.operand;
                loop {
                    match &cur.expr {
                        Expr::Select(inner) => {
                            fields.push(inner.field.as_str());
                            cur = &inner.operand;
                        }
                        Expr::Ident(name) => {
                            fields.reverse();
                            return self.ident(cur.id, name, &fields);
                        }
                        _ => return self.walk(cur),
                    }
                }
            }
            Expr::Call(call) => {
                if let Some(t) = &call.target {
                    self.walk(t)?;
                }
                for a in &call.args {
                    self.walk(a)?;
                }
                Ok(())
            }
            Expr::Comprehension(c) => {
                self.walk(&c.iter_range)?;
                self.walk(&c.accu_init)?;
                let before = self.bound.len();
                self.bound.push(c.iter_var.clone());
                if let Some(v2) = &c.iter_var2 {
                    self.bound.push(v2.clone());
                }
                self.bound.push(c.accu_var.clone());
                let r = self
                    .walk(&c.loop_cond)
                    .and_then(|_| self.walk(&c.loop_step))
                    .and_then(|_| self.walk(&c.result));
                self.bound.truncate(before);
                r
            }
            Expr::List(list) => list.elements.iter().try_for_each(|el| self.walk(el)),
            Expr::Map(map) => map.entries.iter().try_for_each(|en| self.entry(&en.expr)),
            Expr::Struct(st) => st.entries.iter().try_for_each(|en| self.entry(&en.expr)),
            Expr::Literal(_) | Expr::Unspecified => Ok(()),
        }
    }

    fn entry(&mut self, e: &cel::common::ast::EntryExpr) -> Result<(), AuthzError> {
        match e {
            cel::common::ast::EntryExpr::StructField(f) => self.walk(&f.value),
            cel::common::ast::EntryExpr::MapEntry(m) => {
                self.walk(&m.key)?;
                self.walk(&m.value)
            }
        }
    }

    /// `name` followed by `fields` (`tool` `["name"]` for `tool.name`).
    fn ident(&mut self, id: u64, name: &str, fields: &[&str]) -> Result<(), AuthzError> {
        if name.starts_with('@') || self.bound.iter().any(|b| b == name) {
            return Ok(());
        }
        let Some((_, known_fields)) = CEL_VARIABLES.iter().find(|(v, _)| *v == name) else {
            return Err(self.unknown(id, name.to_owned()));
        };
        // Which of tool's fields is read, directly or under mcp.tool.
        let tool_field = match (name, fields) {
            ("tool", [f, ..]) => Some(Some(*f)),
            ("tool", []) => Some(None),
            ("mcp", ["tool", f, ..]) => Some(Some(*f)),
            ("mcp", ["tool"] | []) => Some(None),
            _ => None,
        };
        match tool_field {
            Some(Some("arguments")) | Some(None) => self.uses_arguments = true,
            Some(Some(f)) if !TOOL_FIELDS.contains(&f) => {
                return Err(self.unknown(id, format!("{name}.{}", fields.join("."))));
            }
            _ => {}
        }
        if let (Some(known), Some(first)) = (known_fields, fields.first())
            && !known.contains(first)
        {
            return Err(self.unknown(id, format!("{name}.{first}")));
        }
        Ok(())
    }

    fn unknown(&self, id: u64, variable: String) -> AuthzError {
        let (line, column) = self
            .program
            .source_info()
            .offset_for(id)
            .map(|(start, _)| line_col(self.source, start as usize))
            .unwrap_or((1, 1));
        AuthzError::UnknownVariable {
            rule: self.rule.to_owned(),
            variable,
            line,
            column,
            known: known_variables(),
        }
    }
}

/// `jwt, claims, auth.claims, tool.name, ...`, for error messages and docs.
pub fn known_variables() -> String {
    let mut out = Vec::new();
    for (root, fields) in CEL_VARIABLES {
        match fields {
            None => out.push((*root).to_owned()),
            Some(fs) => out.extend(fs.iter().map(|f| format!("{root}.{f}"))),
        }
    }
    out.join(", ")
}

/// 1-based line and column of a character offset.
fn line_col(source: &str, offset: usize) -> (usize, usize) {
    let (mut line, mut col) = (1, 1);
    for (i, c) in source.chars().enumerate() {
        if i == offset {
            break;
        }
        if c == '\n' {
            line += 1;
            col = 1;
        } else {
            col += 1;
        }
    }
    (line, col)
}

/// The variables of one decision, resolved on demand and without copying the
/// claims (they are borrowed from the identity's cached CEL values).
pub(crate) struct Activation<'a> {
    claims: &'a CelClaims,
    request: &'a Request<'a>,
    arguments: OnceLock<Box<dyn Val>>,
    tool: OnceLock<Box<dyn Val>>,
    mcp: OnceLock<Box<dyn Val>>,
    headers: OnceLock<Box<dyn Val>>,
    req: OnceLock<Box<dyn Val>>,
}

impl<'a> Activation<'a> {
    pub(crate) fn new(identity: &'a Identity, request: &'a Request<'a>) -> Self {
        Self {
            claims: identity.cel(),
            request,
            arguments: OnceLock::new(),
            tool: OnceLock::new(),
            mcp: OnceLock::new(),
            headers: OnceLock::new(),
            req: OnceLock::new(),
        }
    }

    fn arguments_value(&self) -> cel::Value {
        match self.request.arguments {
            Some(args) => json_to_cel(&Value::Object(args.clone())),
            None => cel::Value::from(HashMap::<String, cel::Value>::new()),
        }
    }

    fn tool_value(&self) -> cel::Value {
        let mut m: HashMap<String, cel::Value> = HashMap::with_capacity(3);
        m.insert("name".into(), self.request.name.into());
        m.insert("server".into(), self.request.server.unwrap_or("").into());
        m.insert("arguments".into(), self.arguments_value());
        cel::Value::from(m)
    }

    fn headers_value(&self) -> cel::Value {
        let mut m: HashMap<String, cel::Value> = HashMap::new();
        if let Some(h) = self.request.headers {
            for (k, v) in h {
                // Lowercase by construction in `http`; repeated headers are joined with ", ".
                let v = String::from_utf8_lossy(v.as_bytes()).into_owned();
                m.entry(k.as_str().to_owned())
                    .and_modify(|e| {
                        if let cel::Value::String(s) = e {
                            *e = format!("{s}, {v}").into();
                        }
                    })
                    .or_insert_with(|| v.clone().into());
            }
        }
        cel::Value::from(m)
    }
}

fn borrowed(v: &dyn Val) -> CowVal<'_, '_> {
    CowVal::Borrowed(v)
}

impl VariableResolver for Activation<'_> {
    fn resolve<'b>(&'b self, variable: &str) -> Option<CowVal<'b, 'b>> {
        let claims_field = variable
            .strip_prefix("claims.")
            .or_else(|| variable.strip_prefix("jwt."))
            .or_else(|| variable.strip_prefix("auth.claims."));
        if let Some(field) = claims_field {
            return self.claims.entries.get(field).map(|v| borrowed(v.as_ref()));
        }
        let req = self.request;
        Some(match variable {
            "claims" | "jwt" | "auth.claims" => borrowed(self.claims.map.as_ref()),
            "auth" => borrowed(self.claims.auth.as_ref()),
            "tool.name" | "mcp.tool.name" => CowVal::owned(CelString::from(req.name)),
            "tool.server" | "mcp.tool.server" => {
                CowVal::owned(CelString::from(req.server.unwrap_or("")))
            }
            "mcp.method" => CowVal::owned(CelString::from(req.method)),
            "tool.arguments" | "mcp.tool.arguments" => borrowed(
                self.arguments
                    .get_or_init(|| to_val(self.arguments_value()))
                    .as_ref(),
            ),
            "tool" | "mcp.tool" => {
                borrowed(self.tool.get_or_init(|| to_val(self.tool_value())).as_ref())
            }
            "mcp" => borrowed(
                self.mcp
                    .get_or_init(|| {
                        let mut m: HashMap<String, cel::Value> = HashMap::with_capacity(2);
                        m.insert("method".into(), req.method.into());
                        m.insert("tool".into(), self.tool_value());
                        to_val(cel::Value::from(m))
                    })
                    .as_ref(),
            ),
            "request.headers" => borrowed(
                self.headers
                    .get_or_init(|| to_val(self.headers_value()))
                    .as_ref(),
            ),
            "request" => borrowed(
                self.req
                    .get_or_init(|| {
                        let mut m: HashMap<String, cel::Value> = HashMap::with_capacity(1);
                        m.insert("headers".into(), self.headers_value());
                        to_val(cel::Value::from(m))
                    })
                    .as_ref(),
            ),
            _ => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn run(expr: &str, claims: Value, request: &Request<'_>) -> Eval {
        let env = environment();
        let rule = CelRule::compile(&env, "t", expr).unwrap();
        let identity = Identity::from_claims(claims.as_object().unwrap().clone());
        let activation = Activation::new(&identity, request);
        let mut ctx = Context::with_env(env);
        ctx.set_variable_resolver(&activation);
        rule.eval(&ctx, request, None)
    }

    fn is_true(expr: &str, claims: Value, request: &Request<'_>) -> bool {
        match run(expr, claims, request) {
            Eval::True => true,
            Eval::False => false,
            Eval::Error(e) => panic!("{expr}: {e}"),
        }
    }

    #[test]
    fn seed_expressions_evaluate() {
        let c = json!({"sub": "a", "scp": ["mcp:read"], "groups": ["AI-Users"]});
        let list = Request::call_tool("list_channels");
        let post = Request::call_tool("post_message");
        let read = "claims.scp.exists(s, s == 'mcp:read') && (tool.name.startsWith('list_') || tool.name.startsWith('get_'))";
        assert!(is_true(read, c.clone(), &list));
        assert!(!is_true(read, c.clone(), &post));
        assert!(is_true(
            r#""AI-Users" in auth.claims.groups"#,
            c.clone(),
            &list
        ));
        assert!(!is_true(r#""Admins" in jwt.groups"#, c.clone(), &list));
        assert!(is_true("tool.name.contains('chan')", c.clone(), &list));
        assert!(is_true(
            "tool.name.matches('^list_[a-z]+$')",
            c.clone(),
            &list
        ));
        assert!(is_true(
            "has(claims.scp) && !has(claims.email)",
            c.clone(),
            &list
        ));
        assert!(is_true(
            "mcp.method == 'tools/call' && mcp.tool.name == tool.name",
            c.clone(),
            &list
        ));
        assert!(is_true("tool.server == ''", c.clone(), &list));
        assert!(is_true(
            "size(claims.scp) == 1 && claims['sub'] == 'a'",
            c,
            &list
        ));
    }

    #[test]
    fn arguments_and_headers() {
        let args = json!({"branch": "main", "n": 3});
        let mut headers = http::HeaderMap::new();
        headers.insert("x-env", http::HeaderValue::from_static("prod"));
        let req = Request::call_tool("push_to_branch")
            .server("github")
            .arguments(args.as_object().unwrap())
            .headers(&headers);
        let c = json!({});
        assert!(is_true(
            "tool.arguments.branch == 'main' && tool.arguments.n > 2",
            c.clone(),
            &req
        ));
        assert!(is_true(
            "mcp.tool.arguments.branch == 'main'",
            c.clone(),
            &req
        ));
        assert!(is_true(
            "request.headers['x-env'] == 'prod'",
            c.clone(),
            &req
        ));
        assert!(is_true(
            "tool.server == 'github' && tool.name in ['push_to_branch']",
            c.clone(),
            &req
        ));
        assert!(is_true("!('x-missing' in request.headers)", c, &req));
    }

    #[test]
    fn missing_claim_is_an_error_not_false() {
        let r = run(
            "'x' in claims.groups",
            json!({"sub": "a"}),
            &Request::call_tool("t"),
        );
        assert!(matches!(r, Eval::Error(_)));
    }

    #[test]
    fn unknown_variable_is_a_load_error_with_position() {
        let env = environment();
        let e = CelRule::compile(&env, "r1", "tool.name == 'x' &&\n  user.admin").unwrap_err();
        let msg = e.to_string();
        assert!(msg.contains("'r1'") && msg.contains("'user'"), "{msg}");
        assert!(msg.contains("line 2, column 3"), "{msg}");
        let e = CelRule::compile(&env, "r2", "tool.nmae == 'x'").unwrap_err();
        assert!(e.to_string().contains("tool.nmae"), "{e}");
        let e = CelRule::compile(&env, "r3", "mcp.tool.nmae == 'x'").unwrap_err();
        assert!(e.to_string().contains("mcp.tool.nmae"), "{e}");
        let e = CelRule::compile(&env, "r4", "auth.claim.groups == []").unwrap_err();
        assert!(e.to_string().contains("auth.claim"), "{e}");
        // Comprehension variables are bound, not unknown.
        CelRule::compile(
            &env,
            "ok",
            "claims.scp.all(x, x != '') && [1].exists(y, y == 1)",
        )
        .unwrap();
    }

    #[test]
    fn syntax_and_type_errors_are_load_errors() {
        let env = environment();
        let e = CelRule::compile(&env, "bad", "tool.name ==").unwrap_err();
        assert!(matches!(e, AuthzError::RuleSyntax { .. }), "{e}");
        assert!(e.to_string().contains("'bad'"));
        for src in ["'yes'", "1 + 2", "[true]", "tool.name", "size(tool.name)"] {
            let e = CelRule::compile(&env, "nb", src).unwrap_err();
            assert!(matches!(e, AuthzError::NotBool { .. }), "{src}: {e}");
        }
    }

    #[test]
    fn detects_argument_use() {
        let env = environment();
        assert!(
            CelRule::compile(&env, "a", "tool.arguments.x == 1")
                .unwrap()
                .uses_arguments
        );
        assert!(
            CelRule::compile(&env, "a", "mcp.tool.arguments.x == 1")
                .unwrap()
                .uses_arguments
        );
        assert!(
            !CelRule::compile(&env, "a", "tool.name == 'x'")
                .unwrap()
                .uses_arguments
        );
    }

    #[test]
    fn exists_equality_becomes_in_and_keeps_its_meaning() {
        let env = environment();
        let rule = CelRule::compile(
            &env,
            "r",
            "claims.scp.exists(s, s == 'mcp:read') && tool.name == 'x'",
        )
        .unwrap();
        assert_eq!(rule.conjuncts.len(), 2);
        assert!(
            matches!(&rule.conjuncts[0].expr.expr, Expr::Call(c) if c.func_name == operators::IN)
        );
        assert!(rule.conjuncts[0].identity_only);
        assert!(!rule.conjuncts[1].identity_only);
        let x = Request::call_tool("x");
        let e = "claims.scp.exists(s, s == 'mcp:read')";
        assert!(is_true(e, json!({"scp": ["a", "mcp:read"]}), &x));
        assert!(!is_true(e, json!({"scp": ["a"]}), &x));
        assert!(!is_true(e, json!({"scp": []}), &x));
        assert!(is_true(
            "claims.scp.exists(s, 'b' == s)",
            json!({"scp": ["b"]}),
            &x
        ));
        assert!(matches!(run(e, json!({}), &x), Eval::Error(_)));
        // Other predicates stay comprehensions and still work.
        assert!(is_true(
            "claims.scp.exists(s, s.startsWith('mcp:'))",
            json!({"scp": ["mcp:w"]}),
            &x
        ));
        assert!(!is_true(
            "claims.scp.all(s, s == 'a')",
            json!({"scp": ["a", "b"]}),
            &x
        ));
    }

    #[test]
    fn conjuncts_combine_like_cel_and() {
        let x = Request::call_tool("x");
        // false wins over an error on either side; an error beats true.
        assert!(!is_true(
            "claims.missing == 1 && tool.name == 'y'",
            json!({}),
            &x
        ));
        assert!(!is_true(
            "tool.name == 'y' && claims.missing == 1",
            json!({}),
            &x
        ));
        assert!(matches!(
            run("tool.name == 'x' && claims.missing == 1", json!({}), &x),
            Eval::Error(_)
        ));
        let env = environment();
        let rule = CelRule::compile(
            &env,
            "r",
            "'g' in claims.groups && tool.name.startsWith('a')",
        )
        .unwrap();
        let identity = Identity::from_claims(json!({"groups": ["g"]}).as_object().unwrap().clone());
        let mut memo: Memo = vec![None; rule.memo_len()];
        for (name, want) in [("a1", true), ("b1", false), ("a2", true)] {
            let req = Request::call_tool(name);
            let activation = Activation::new(&identity, &req);
            let mut ctx = Context::with_env(Arc::clone(&env));
            ctx.set_variable_resolver(&activation);
            let got = matches!(rule.eval(&ctx, &req, Some(&mut memo)), Eval::True);
            assert_eq!(got, want, "{name}");
        }
        assert!(
            matches!(memo[0], Some(Eval::True)),
            "identity part evaluated once and kept"
        );
        assert!(memo[1].is_none(), "tool part never memoised");
    }

    #[test]
    fn string_tests_on_tool_fields_run_natively_with_cel_semantics() {
        let env = environment();
        let fast = [
            "tool.name.contains('delete') || tool.name.contains('merge_pull_request')",
            "tool.name.startsWith('list_') || tool.name.startsWith('get_')",
            "tool.server == 'github' && tool.name in ['a', 'push_to_branch']",
            "!(mcp.method != 'tools/call') && mcp.tool.name.endsWith('_x')",
        ];
        for src in fast {
            let rule = CelRule::compile(&env, "r", src).unwrap();
            assert!(rule.conjuncts.iter().all(|c| c.fast.is_some()), "{src}");
        }
        let slow = [
            "tool.name.matches('^a')",
            "tool.arguments.x == 'a'",
            "claims.sub == tool.name",
        ];
        for src in slow {
            let rule = CelRule::compile(&env, "r", src).unwrap();
            assert!(rule.conjuncts.iter().all(|c| c.fast.is_none()), "{src}");
        }
        // Same answers as the interpreter, over a grid.
        let c = json!({});
        for name in [
            "delete_x",
            "list_a",
            "get_x",
            "push_to_branch",
            "a",
            "",
            "merge_pull_requests",
            "b_x",
        ] {
            for server in ["github", ""] {
                let req = Request::call_tool(name).server(server);
                for src in fast {
                    let rule = CelRule::compile(&env, "r", src).unwrap();
                    let native = rule
                        .conjuncts
                        .iter()
                        .all(|c| c.fast.as_ref().unwrap().eval(&req));
                    let program = env.compile(src).unwrap();
                    let identity = Identity::from_claims(c.as_object().unwrap().clone());
                    let activation = Activation::new(&identity, &req);
                    let mut ctx = Context::with_env(Arc::clone(&env));
                    ctx.set_variable_resolver(&activation);
                    let interpreted = program.execute(&ctx) == Ok(cel::Value::Bool(true));
                    assert_eq!(native, interpreted, "{src} on {server}:{name}");
                }
            }
        }
    }
}
