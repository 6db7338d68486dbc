//! Rewrites that make rules cheaper without changing their meaning.

use cel::common::ast::{Expr, IdedExpr, operators};

/// Splits `a && (b && c)` into `[a, b, c]`.
pub(super) fn flatten_and(e: IdedExpr, out: &mut Vec<IdedExpr>) {
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
pub(super) fn optimize(e: &mut IdedExpr) {
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
pub(super) fn identity_only(e: &IdedExpr, bound: &mut Vec<String>) -> bool {
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
