//! HTTP-level step-up: a `tools/call`, `prompts/get` or `resources/read` that
//! the policy denies only for a missing scope is answered `403` with
//! `WWW-Authenticate: Bearer error="insufficient_scope", scope="…"` (RFC 6750
//! §3.1, MCP authorization), so the client can get a wider token and retry.
//! Every other decision is enforced by the MCP handler: the MCP endpoint
//! ([`McpEndpoint`](crate::endpoint::McpEndpoint)) hands it the decision made
//! here ([`Decided`], so a call is decided once) and the handler decides what
//! was not seen here (only single JSON-RPC requests of these methods are).
//! The `403` never reaches the handler, so it is audited here: a line with
//! `decision: deny`, `rule: scope:<missing scope>` and `outcome: denied`.

use std::time::Instant;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use mcp_authz::{PROMPTS_GET, RESOURCES_READ, TOOLS_CALL};
use rmcp::model::{ClientRequest, RequestId};
use serde_json::json;

use crate::audit::{Entry, Outcome};
use crate::call_json;
use crate::front::FORBIDDEN;
use crate::gateway::Inner;
use crate::identity::identity_of;

/// A decision made here for the one JSON-RPC request of an HTTP
/// request, handed to the MCP handler in the request's extensions (rmcp puts
/// the HTTP parts in the handler's `RequestContext`), so a call is decided and
/// its claims converted once.
#[derive(Clone)]
pub(crate) struct Decided {
    /// The JSON-RPC id of the request decided.
    pub(crate) id: RequestId,
    pub(crate) method: String,
    /// The exposed (prefixed) tool or prompt name, or the resource URI.
    pub(crate) exposed: String,
    /// The backend and the item's own name it was routed to when decided (a
    /// catalog rebuilt in between routes elsewhere: then it is decided again).
    pub(crate) route: (String, String),
    pub(crate) identity: mcp_authz::Identity,
    pub(crate) decision: mcp_authz::Decision,
}

impl Decided {
    /// This decision, if it was made for `id`'s `method` on `exposed`, routed
    /// to `route` (backend, original name).
    pub(crate) fn of<'a>(
        parts: &'a http::request::Parts,
        id: &RequestId,
        method: &str,
        exposed: &str,
        route: (&str, &str),
    ) -> Option<&'a Decided> {
        let decided = parts.extensions.get::<Decided>()?;
        (decided.id == *id
            && decided.method == method
            && decided.exposed == exposed
            && decided.route.0 == route.0
            && decided.route.1 == route.1)
            .then_some(decided)
    }
}

/// Decides `call` (the parsed body of `parts`' request) when a policy is
/// configured: its decision goes into `parts`' extensions for the handler;
/// the answer is the `403` step-up answer (already audited), if denied for
/// a missing scope.
pub(crate) fn step_up(
    inner: &Inner,
    parts: &mut http::request::Parts,
    call: &call_json::ClientCall,
) -> Option<Response> {
    match decide(inner, parts, call)? {
        Ok(decided) => {
            parts.extensions.insert(decided);
            None
        }
        Err(denied) => Some(denied),
    }
}

/// Decides a single governed request: `Err` is the `403` step-up answer,
/// `Ok` the decision for the handler to enforce; `None` when it is not a
/// routed `tools/call`, `prompts/get` or `resources/read`.
fn decide(
    inner: &Inner,
    parts: &http::request::Parts,
    call: &call_json::ClientCall,
) -> Option<Result<Decided, Response>> {
    let authz = inner.authz.as_ref()?;
    let started = Instant::now();
    let (method, exposed, arguments) = match &call.request {
        ClientRequest::CallToolRequest(r) => (TOOLS_CALL, &*r.params.name, &r.params.arguments),
        ClientRequest::GetPromptRequest(r) => (PROMPTS_GET, &*r.params.name, &r.params.arguments),
        ClientRequest::ReadResourceRequest(r) => (RESOURCES_READ, &*r.params.uri, &None),
        _ => return None,
    };
    let catalog = inner.catalog();
    let route = match method {
        TOOLS_CALL => catalog.tool(exposed),
        PROMPTS_GET => catalog.prompt(exposed),
        _ => catalog.resource(exposed),
    }?;
    let backend = inner.backends.list.get(route.backend)?;
    let identity = identity_of(parts);
    let mut request = mcp_authz::Request::new(method, &route.original).server(&backend.config.name);
    if let Some(arguments) = arguments {
        request = request.arguments(arguments);
    }
    let mut decision = authz.decide(&identity, &request);
    let Some(missing) = decision.missing_scope.clone().filter(|_| !decision.allowed) else {
        return Some(Ok(Decided {
            id: call.id.clone(),
            method: method.to_owned(),
            exposed: exposed.to_owned(),
            route: (backend.config.name.clone(), route.original.clone()),
            identity,
            decision,
        }));
    };
    let missing = missing.as_str();
    decision
        .rule
        .get_or_insert_with(|| format!("scope:{missing}"));
    if inner.audit.is_some() || inner.metrics.is_some() {
        inner.record(&Entry {
            request_id: serde_json::to_value(&call.id).unwrap_or_default(),
            session: parts
                .headers
                .get("mcp-session-id")
                .and_then(|v| v.to_str().ok()),
            identity: &identity,
            method,
            backend: &backend.config.name,
            tool: &route.original,
            exposed,
            arguments: arguments.as_ref(),
            decision: Some(&decision),
            outcome: Outcome::Denied,
            started,
        });
    }
    // Ask for what the caller has plus what it lacks, so a new token keeps working elsewhere.
    let mut scopes: Vec<&str> = identity.scopes().iter().map(String::as_str).collect();
    if !scopes.contains(&missing) {
        scopes.push(missing);
    }
    let mut challenge = format!(
        "Bearer error=\"insufficient_scope\", scope=\"{}\", error_description=\"{}\"",
        scopes.join(" "),
        format!("{missing} is required").replace('"', "'")
    );
    if let Some(url) = inner.resource_metadata_url() {
        challenge.push_str(&format!(", resource_metadata=\"{url}\""));
    }
    let body = json!({"jsonrpc": "2.0", "id": call.id, "error": {"code": FORBIDDEN,
        "message": format!("insufficient scope: {}", decision.reason),
        "data": {"rule": decision.rule, "missing_scope": missing}}});
    let mut response = (StatusCode::FORBIDDEN, axum::Json(body)).into_response();
    if let Ok(value) = HeaderValue::from_str(&challenge) {
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, value);
    }
    Some(Err(response))
}

#[cfg(test)]
mod tests {
    use rmcp::model::{NumberOrString, RequestId};

    use super::Decided;

    fn parts_with(decided: Decided) -> http::request::Parts {
        let (mut parts, ()) = http::Request::new(()).into_parts();
        parts.extensions.insert(decided);
        parts
    }

    fn decided(id: RequestId) -> Decided {
        Decided {
            id,
            method: "tools/call".into(),
            exposed: "github_push_to_branch".into(),
            route: ("github".into(), "push_to_branch".into()),
            identity: crate::identity::anonymous(),
            decision: mcp_authz::Decision {
                allowed: true,
                rule: Some("seniors".into()),
                reason: "ok".into(),
                missing_scope: None,
                errors: vec![],
            },
        }
    }

    #[test]
    fn a_decision_serves_only_the_request_it_was_made_for() {
        let route = ("github", "push_to_branch");
        let parts = parts_with(decided(NumberOrString::Number(7)));
        let seven = NumberOrString::Number(7);
        let call = "tools/call";
        let name = "github_push_to_branch";
        assert!(Decided::of(&parts, &seven, call, name, route).is_some());
        assert!(Decided::of(&parts, &NumberOrString::Number(8), call, name, route).is_none());
        assert!(
            Decided::of(
                &parts,
                &NumberOrString::String("7".into()),
                call,
                name,
                route
            )
            .is_none()
        );
        assert!(Decided::of(&parts, &seven, "prompts/get", name, route).is_none());
        assert!(Decided::of(&parts, &seven, call, "github_delete_branch", route).is_none());
        assert!(Decided::of(&parts, &seven, call, name, ("gitlab", "push_to_branch")).is_none());
        assert!(Decided::of(&parts, &seven, call, name, ("github", "delete_branch")).is_none());
        let parts = parts_with(decided(NumberOrString::String("a-1".into())));
        let a1 = NumberOrString::String("a-1".into());
        assert!(Decided::of(&parts, &a1, call, name, route).is_some());
        let (bare, ()) = http::Request::new(()).into_parts();
        assert!(Decided::of(&bare, &a1, call, name, route).is_none());
    }
}
