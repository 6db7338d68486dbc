//! Load-time checks of a rule: known variables and fields, bool shape.

use cel::Program;
use cel::common::ast::{Expr, IdedExpr};

use crate::error::AuthzError;

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

/// Static check of the root: literals, collections and arithmetic are never bools.
/// `(line, column)` is where the root is written, for the error.
pub(super) fn check_bool_shape(
    rule: &str,
    root: &IdedExpr,
    (line, column): (usize, usize),
) -> Result<(), AuthzError> {
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
        line,
        column,
    })
}

/// Checks every free identifier and known field; returns whether the rule
/// reads `tool.arguments`.
pub(super) fn check_variables(
    source: &str,
    program: &Program,
    rule: &str,
) -> Result<bool, AuthzError> {
    let mut check = Checker {
        source,
        program,
        rule,
        uses_arguments: false,
        bound: Vec::new(),
    };
    check.walk(program.expression())?;
    Ok(check.uses_arguments)
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
        let (line, column) = position(self.source, self.program, id);
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

/// 1-based line and column where the node `id` of `program` is written in
/// `source` (`(1, 1)` when the parser recorded no position for it).
pub(super) fn position(source: &str, program: &Program, id: u64) -> (usize, usize) {
    program
        .source_info()
        .offset_for(id)
        .map(|(start, _)| line_col(source, start as usize))
        .unwrap_or((1, 1))
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
