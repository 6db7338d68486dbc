//! CEL rules: compilation, the load-time checks, and evaluation.

mod activation;
mod check;
mod fast;
mod optimize;

use std::sync::Arc;

use cel::common::ast::IdedExpr;
use cel::{Context, Env};
use serde_json::Map;

use crate::error::AuthzError;
use crate::identity::Identity;
use crate::request::Request;

pub(crate) use activation::Activation;
pub use check::{CEL_VARIABLES, known_variables};
use check::{check_bool_shape, check_variables, position};
use fast::Fast;
use optimize::{flatten_and, identity_only, optimize};

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
        let program = env.compile(source).map_err(|e| syntax_error(rule, &e))?;
        let uses_arguments = check_variables(source, &program, rule)?;
        let root_position = position(source, &program, program.expression().id);
        check_bool_shape(rule, program.expression(), root_position)?;
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
        compiled.dry_run(env, rule, program.expression(), root_position)?;
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
    fn dry_run(
        &self,
        env: &Arc<Env>,
        rule: &str,
        root: &IdedExpr,
        (line, column): (usize, usize),
    ) -> Result<(), AuthzError> {
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
                line,
                column,
            }),
        }
    }
}

/// The parser's errors as one load error, placed at the first one.
fn syntax_error(rule: &str, errors: &cel::ParseErrors) -> AuthzError {
    let (line, column) = errors.errors.first().map_or((1, 1), |e| {
        (
            usize::try_from(e.pos.0).unwrap_or(0).max(1),
            usize::try_from(e.pos.1).unwrap_or(0).max(1),
        )
    });
    let mut message = errors
        .errors
        .iter()
        .map(|e| match &e.source {
            // The parser failed outright: its own message is a placeholder.
            Some(cause) if e.msg == "UNKNOWN" => cause.to_string(),
            _ => e.msg.clone(),
        })
        .collect::<Vec<_>>()
        .join("; ");
    if message.is_empty() {
        message = "syntax error".to_owned();
    }
    AuthzError::RuleSyntax {
        rule: rule.to_owned(),
        message,
        line,
        column,
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

#[cfg(test)]
mod tests {
    use super::*;
    use cel::common::ast::{Expr, operators};
    use serde_json::{Value, json};

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

    /// Where each load error points: (source, line, column).
    fn position_of(src: &str) -> (AuthzError, usize, usize) {
        let e = CelRule::compile(&environment(), "r", src).unwrap_err();
        let (line, column) = match &e {
            AuthzError::RuleSyntax { line, column, .. }
            | AuthzError::NotBool { line, column, .. } => (*line, *column),
            other => panic!("{src}: {other}"),
        };
        let msg = e.to_string();
        assert!(msg.contains("'r'"), "{msg}");
        assert!(
            msg.contains(&format!("line {line}, column {column}")),
            "{msg}"
        );
        (e, line, column)
    }

    #[test]
    fn syntax_errors_name_line_and_column() {
        // The parser stops at the end of the input, after `==`.
        let (e, line, column) = position_of("tool.name ==");
        assert!(matches!(e, AuthzError::RuleSyntax { .. }), "{e}");
        assert_eq!((line, column), (1, 13), "{e}");
        // On the second line, at the stray `)`.
        let (e, line, column) = position_of("tool.name == 'a' &&\n  tool.name == 'b')");
        assert!(matches!(e, AuthzError::RuleSyntax { .. }), "{e}");
        assert_eq!((line, column), (2, 19), "{e}");
        assert!(!e.to_string().contains('\n'), "one line: {e}");
    }

    #[test]
    fn non_bool_results_name_line_and_column() {
        // Statically not a bool: the root node's position (an operator's is the operator).
        let (e, line, column) = position_of("'yes'");
        assert!(matches!(e, AuthzError::NotBool { .. }), "{e}");
        assert_eq!((line, column), (1, 1), "{e}");
        let (e, line, column) = position_of("1 +\n  2");
        assert!(matches!(e, AuthzError::NotBool { .. }), "{e}");
        assert_eq!((line, column), (1, 3), "{e}");
        // Found by the dry run: a call evaluating to an int, on line 2 (a
        // call's position is its `(`, a field selection's its `.`, as in cel-go).
        let (e, line, column) = position_of("\n  size(tool.name)");
        assert!(e.to_string().contains("evaluates to an int"), "{e}");
        assert_eq!((line, column), (2, 7), "{e}");
        let (e, line, column) = position_of("  tool.name");
        assert!(e.to_string().contains("evaluates to a string"), "{e}");
        assert_eq!((line, column), (1, 7), "{e}");
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
