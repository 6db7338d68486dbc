//! Native evaluation of the CEL shapes policies use most: string tests on
//! `tool.name`, `tool.server` and `mcp.method` combined with `&&`, `||`, `!`.
//!
//! Such conditions cannot fail (the fields are always strings), so evaluating
//! them in Rust gives exactly CEL's answer, without the interpreter.

use cel::common::ast::{Expr, IdedExpr, LiteralValue, operators};

use crate::request::Request;

/// A condition compiled to Rust.
#[derive(Debug, Clone)]
pub(crate) enum Fast {
    And(Vec<Fast>),
    Or(Vec<Fast>),
    Not(Box<Fast>),
    Test(Field, Op, String),
    In(Field, Vec<String>),
}

#[derive(Debug, Clone, Copy)]
pub(crate) enum Field {
    ToolName,
    ToolServer,
    Method,
}

#[derive(Debug, Clone, Copy)]
pub(crate) enum Op {
    Eq,
    Ne,
    StartsWith,
    EndsWith,
    Contains,
}

impl Fast {
    /// Compiles `e` if every part of it is a supported shape.
    pub(crate) fn compile(e: &IdedExpr) -> Option<Self> {
        let Expr::Call(call) = &e.expr else {
            return None;
        };
        let f = call.func_name.as_str();
        match (&call.target, call.args.as_slice()) {
            (None, [a, b]) if f == operators::LOGICAL_AND => {
                Some(Fast::And(vec![Self::compile(a)?, Self::compile(b)?]))
            }
            (None, [a, b]) if f == operators::LOGICAL_OR => {
                Some(Fast::Or(vec![Self::compile(a)?, Self::compile(b)?]))
            }
            (None, [a]) if f == operators::LOGICAL_NOT => {
                Some(Fast::Not(Box::new(Self::compile(a)?)))
            }
            (None, [a, b]) if f == operators::EQUALS || f == operators::NOT_EQUALS => {
                let op = if f == operators::EQUALS {
                    Op::Eq
                } else {
                    Op::Ne
                };
                match (field(a), string(b), field(b), string(a)) {
                    (Some(fl), Some(s), _, _) | (_, _, Some(fl), Some(s)) => {
                        Some(Fast::Test(fl, op, s))
                    }
                    _ => None,
                }
            }
            (None, [a, b]) if f == operators::IN => {
                let Expr::List(list) = &b.expr else {
                    return None;
                };
                let items = list
                    .elements
                    .iter()
                    .map(string)
                    .collect::<Option<Vec<_>>>()?;
                Some(Fast::In(field(a)?, items))
            }
            (Some(t), [arg]) => {
                let op = match f {
                    "startsWith" => Op::StartsWith,
                    "endsWith" => Op::EndsWith,
                    "contains" => Op::Contains,
                    _ => return None,
                };
                Some(Fast::Test(field(t)?, op, string(arg)?))
            }
            _ => None,
        }
    }

    pub(crate) fn eval(&self, r: &Request<'_>) -> bool {
        match self {
            Fast::And(xs) => xs.iter().all(|x| x.eval(r)),
            Fast::Or(xs) => xs.iter().any(|x| x.eval(r)),
            Fast::Not(x) => !x.eval(r),
            Fast::Test(f, op, s) => {
                let v = f.get(r);
                match op {
                    Op::Eq => v == s,
                    Op::Ne => v != s,
                    Op::StartsWith => v.starts_with(s.as_str()),
                    Op::EndsWith => v.ends_with(s.as_str()),
                    Op::Contains => v.contains(s.as_str()),
                }
            }
            Fast::In(f, items) => {
                let v = f.get(r);
                items.iter().any(|i| i == v)
            }
        }
    }
}

impl Field {
    fn get<'a>(self, r: &Request<'a>) -> &'a str {
        match self {
            Field::ToolName => r.name,
            Field::ToolServer => r.server.unwrap_or(""),
            Field::Method => r.method,
        }
    }
}

/// `tool.name`, `tool.server`, `mcp.tool.name`, `mcp.tool.server`, `mcp.method`.
fn field(e: &IdedExpr) -> Option<Field> {
    let Expr::Select(sel) = &e.expr else {
        return None;
    };
    if sel.test {
        return None;
    }
    let leaf = match sel.field.as_str() {
        "name" => Field::ToolName,
        "server" => Field::ToolServer,
        "method" => Field::Method,
        _ => return None,
    };
    match (&sel.operand.expr, leaf) {
        (Expr::Ident(root), Field::ToolName | Field::ToolServer) if root == "tool" => Some(leaf),
        (Expr::Ident(root), Field::Method) if root == "mcp" => Some(leaf),
        (Expr::Select(inner), Field::ToolName | Field::ToolServer)
            if !inner.test
                && inner.field == "tool"
                && matches!(&inner.operand.expr, Expr::Ident(r) if r == "mcp") =>
        {
            Some(leaf)
        }
        _ => None,
    }
}

fn string(e: &IdedExpr) -> Option<String> {
    match &e.expr {
        Expr::Literal(LiteralValue::String(s)) => Some(s.inner().to_owned()),
        _ => None,
    }
}
