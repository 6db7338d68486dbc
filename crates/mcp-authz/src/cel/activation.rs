//! The variables of one decision.

use std::collections::HashMap;
use std::sync::OnceLock;

use cel::common::types::CelString;
use cel::common::value::{CowVal, Val};
use cel::context::VariableResolver;
use serde_json::Value;

use crate::identity::{CelClaims, Identity, json_to_cel, to_val};
use crate::request::Request;

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
