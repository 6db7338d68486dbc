//! Cedar policies (feature `cedar`), with ToolHive's entity model.
//!
//! | MCP                      | Cedar                                                  |
//! |--------------------------|--------------------------------------------------------|
//! | caller (`sub` claim)     | principal `Client::"<sub>"` (else `cid`, else `""`)    |
//! | each of `groups`         | a parent of the principal: `THVGroup::"<group>"`       |
//! | `tools/call` of `x`      | `Action::"call_tool"`, resource `Tool::"x"`            |
//! | `prompts/get` of `x`     | `Action::"get_prompt"`, resource `Prompt::"x"`         |
//! | `resources/read` of `u`  | `Action::"read_resource"`, resource `Resource::"u"`    |
//! | claims, arguments        | `context.claims`, `context.arguments`, and ToolHive's flat `context.claim_<name>` / `context.arg_<name>` for scalar values |
//!
//! Type names are configurable in [`CedarSpec`]. JSON values Cedar cannot
//! hold (null, fractional numbers) are left out of the context, and so are
//! keys starting with `__`, which Cedar's JSON format reads as entity or
//! extension escapes (a caller must not be able to forge an entity reference
//! through tool arguments).

use std::collections::HashSet;
use std::str::FromStr;

use cedar_policy::{
    Authorizer, Context, Decision as CedarDecision, Entities, Entity, EntityId, EntityTypeName,
    EntityUid, PolicySet, Request as CedarRequest,
};
use serde_json::{Map, Value};

use crate::error::AuthzError;
use crate::identity::Identity;
use crate::policy::CedarSpec;
use crate::request::{PROMPTS_GET, RESOURCES_READ, Request, TOOLS_CALL};

pub(crate) enum CedarVerdict {
    /// A `forbid` matched (its policy id).
    Forbid(String),
    /// A `permit` matched and no `forbid` (the first permit's id).
    Permit(String),
    /// Nothing matched (Cedar's default deny).
    NoPermit,
    /// A policy failed to evaluate or the request could not be built.
    Error(String),
}

pub(crate) struct CedarEngine {
    policies: PolicySet,
    authorizer: Authorizer,
    principal: EntityTypeName,
    group: EntityTypeName,
    tool: EntityTypeName,
    prompt: EntityTypeName,
    resource: EntityTypeName,
    action: EntityTypeName,
}

fn type_name(name: &str) -> Result<EntityTypeName, AuthzError> {
    EntityTypeName::from_str(name)
        .map_err(|e| AuthzError::Cedar(format!("entity type name '{name}': {e}")))
}

impl CedarEngine {
    pub(crate) fn new(spec: &CedarSpec) -> Result<Self, AuthzError> {
        let policies =
            PolicySet::from_str(&spec.policies).map_err(|e| AuthzError::Cedar(e.to_string()))?;
        Ok(Self {
            policies,
            authorizer: Authorizer::new(),
            principal: type_name(&spec.principal_type)?,
            group: type_name(&spec.group_type)?,
            tool: type_name(&spec.tool_type)?,
            prompt: type_name(&spec.prompt_type)?,
            resource: type_name(&spec.resource_type)?,
            action: type_name("Action")?,
        })
    }

    pub(crate) fn decide(&self, identity: &Identity, request: &Request<'_>) -> CedarVerdict {
        match self.try_decide(identity, request) {
            Ok(v) => v,
            Err(e) => CedarVerdict::Error(e),
        }
    }

    fn try_decide(
        &self,
        identity: &Identity,
        request: &Request<'_>,
    ) -> Result<CedarVerdict, String> {
        let (action, rtype) = match request.method {
            TOOLS_CALL => ("call_tool", &self.tool),
            PROMPTS_GET => ("get_prompt", &self.prompt),
            RESOURCES_READ => ("read_resource", &self.resource),
            _ => return Ok(CedarVerdict::NoPermit),
        };
        let uid = |t: &EntityTypeName, id: &str| {
            EntityUid::from_type_name_and_id(t.clone(), EntityId::new(id))
        };
        let pid = identity.subject().or(identity.client_id()).unwrap_or("");
        let principal = uid(&self.principal, pid);
        let groups: HashSet<EntityUid> = identity
            .groups()
            .iter()
            .map(|g| uid(&self.group, g))
            .collect();
        let mut entities: Vec<Entity> = groups
            .iter()
            .map(|g| Entity::new_no_attrs(g.clone(), HashSet::new()))
            .collect();
        entities.push(Entity::new_no_attrs(principal.clone(), groups));
        let resource = uid(rtype, request.name);
        entities.push(Entity::new_no_attrs(resource.clone(), HashSet::new()));
        let entities = Entities::from_entities(entities, None).map_err(|e| e.to_string())?;

        let mut ctx = Map::new();
        let claims = sanitize_map(identity.claims());
        let args = request.arguments.map(sanitize_map).unwrap_or_default();
        for (prefix, map) in [("claim_", &claims), ("arg_", &args)] {
            for (k, v) in map {
                if matches!(v, Value::String(_) | Value::Bool(_) | Value::Number(_)) {
                    ctx.insert(format!("{prefix}{k}"), v.clone());
                }
            }
        }
        ctx.insert("claims".into(), Value::Object(claims));
        ctx.insert("arguments".into(), Value::Object(args));
        let context =
            Context::from_json_value(Value::Object(ctx), None).map_err(|e| e.to_string())?;
        let req = CedarRequest::new(
            principal,
            uid(&self.action, action),
            resource,
            context,
            None,
        )
        .map_err(|e| e.to_string())?;
        let resp = self
            .authorizer
            .is_authorized(&req, &self.policies, &entities);
        if let Some(err) = resp.diagnostics().errors().next() {
            return Err(err.to_string());
        }
        let first = resp.diagnostics().reason().next().map(ToString::to_string);
        Ok(match (resp.decision(), first) {
            (CedarDecision::Deny, Some(id)) => CedarVerdict::Forbid(id),
            (CedarDecision::Deny, None) => CedarVerdict::NoPermit,
            (CedarDecision::Allow, id) => CedarVerdict::Permit(id.unwrap_or_default()),
        })
    }
}

fn sanitize_map(m: &Map<String, Value>) -> Map<String, Value> {
    m.iter()
        .filter(|(k, _)| !k.starts_with("__"))
        .filter_map(|(k, v)| sanitize(v).map(|v| (k.clone(), v)))
        .collect()
}

fn sanitize(v: &Value) -> Option<Value> {
    match v {
        Value::Null => None,
        Value::Number(n) if n.as_i64().is_none() => None,
        Value::Array(items) => Some(Value::Array(items.iter().filter_map(sanitize).collect())),
        Value::Object(m) => Some(Value::Object(sanitize_map(m))),
        other => Some(other.clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn context_cannot_smuggle_entities() {
        let m = json!({"__entity": {"type": "THVGroup", "id": "mcp-admin"}, "x": {"__extn": 1}, "f": 1.5, "n": null, "ok": 1});
        let s = sanitize_map(m.as_object().unwrap());
        assert_eq!(Value::Object(s), json!({"x": {}, "ok": 1}));
    }

    #[test]
    fn claims_and_arguments_reach_the_context() {
        let spec = CedarSpec::new(
            r#"permit(principal, action == Action::"call_tool", resource)
               when { context.claim_email == "a@x" && context.arguments.n == 2 && context.arg_n == 2 };"#,
        );
        let engine = CedarEngine::new(&spec).unwrap();
        let claims = json!({"sub": "a", "email": "a@x"});
        let id = Identity::from_claims(claims.as_object().unwrap().clone());
        let args = json!({"n": 2});
        let req = Request::call_tool("t").arguments(args.as_object().unwrap());
        assert!(matches!(engine.decide(&id, &req), CedarVerdict::Permit(_)));
        let args = json!({"n": 3});
        let req = Request::call_tool("t").arguments(args.as_object().unwrap());
        assert!(matches!(engine.decide(&id, &req), CedarVerdict::NoPermit));
    }
}
