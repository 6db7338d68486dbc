//! HTTP-level step-up: a `tools/call`, `prompts/get` or `resources/read` that
//! the policy denies only for a missing scope is answered `403` with
//! `WWW-Authenticate: Bearer error="insufficient_scope", scope="…"` (RFC 6750
//! §3.1, MCP authorization), so the client can get a wider token and retry.
//! Every other decision is made (and enforced) by the MCP handler, which
//! knows the routing; this middleware only peeks at single JSON-RPC requests.
//! The `403` never reaches the handler, so it is audited here: a line with
//! `decision: deny`, `rule: scope:<missing scope>` and `outcome: denied`.

use std::sync::Arc;
use std::time::Instant;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use mcp_authz::{PROMPTS_GET, RESOURCES_READ, TOOLS_CALL};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::audit::{Entry, Outcome};
use crate::front::FORBIDDEN;
use crate::gateway::Inner;
use crate::identity::identity_of;

#[derive(Deserialize)]
struct Peek {
    #[serde(default)]
    id: Option<Value>,
    method: String,
    #[serde(default)]
    params: Option<PeekParams>,
}

#[derive(Deserialize)]
struct PeekParams {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    uri: Option<String>,
    #[serde(default)]
    arguments: Option<Map<String, Value>>,
}

pub(crate) async fn step_up(
    State(inner): State<Arc<Inner>>,
    request: Request,
    next: Next,
) -> Response {
    if inner.authz.is_none() || request.method() != Method::POST {
        return next.run(request).await;
    }
    let (parts, body) = request.into_parts();
    let bytes = match axum::body::to_bytes(body, inner.config.max_body_bytes).await {
        Ok(bytes) => bytes,
        Err(_) => return crate::parse_error::too_large(inner.config.max_body_bytes),
    };
    if let Some(denied) = insufficient_scope(&inner, &parts, &bytes) {
        return denied;
    }
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}

fn insufficient_scope(
    inner: &Inner,
    parts: &http::request::Parts,
    bytes: &[u8],
) -> Option<Response> {
    let authz = inner.authz.as_ref()?;
    let started = Instant::now();
    // Cheap pre-check: only single requests of the governed methods are parsed.
    let text = std::str::from_utf8(bytes).ok()?;
    if ![TOOLS_CALL, PROMPTS_GET, RESOURCES_READ]
        .iter()
        .any(|m| text.contains(m))
    {
        return None;
    }
    let peek: Peek = serde_json::from_str(text).ok()?;
    let params = peek.params?;
    let catalog = inner.catalog();
    let route = match peek.method.as_str() {
        TOOLS_CALL => catalog.tool(params.name.as_deref()?),
        PROMPTS_GET => catalog.prompt(params.name.as_deref()?),
        RESOURCES_READ => catalog.resource(params.uri.as_deref()?),
        _ => None,
    }?;
    let backend = inner.backends.list.get(route.backend)?;
    let identity = identity_of(parts);
    let mut request =
        mcp_authz::Request::new(&peek.method, &route.original).server(&backend.config.name);
    if let Some(arguments) = &params.arguments {
        request = request.arguments(arguments);
    }
    let mut decision = authz.decide(&identity, &request);
    let missing = decision
        .missing_scope
        .clone()
        .filter(|_| !decision.allowed)?;
    let missing = missing.as_str();
    decision
        .rule
        .get_or_insert_with(|| format!("scope:{missing}"));
    if inner.audit.is_some() || inner.metrics.is_some() {
        inner.record(&Entry {
            request_id: peek.id.clone().unwrap_or(Value::Null),
            session: parts
                .headers
                .get("mcp-session-id")
                .and_then(|v| v.to_str().ok()),
            identity: &identity,
            method: &peek.method,
            backend: &backend.config.name,
            tool: &route.original,
            exposed: if peek.method == RESOURCES_READ {
                params.uri.as_deref()
            } else {
                params.name.as_deref()
            }
            .unwrap_or_default(),
            arguments: params.arguments.as_ref(),
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
    let body = json!({"jsonrpc": "2.0", "id": peek.id, "error": {"code": FORBIDDEN,
        "message": format!("insufficient scope: {}", decision.reason),
        "data": {"rule": decision.rule, "missing_scope": missing}}});
    let mut response = (StatusCode::FORBIDDEN, axum::Json(body)).into_response();
    if let Ok(value) = HeaderValue::from_str(&challenge) {
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, value);
    }
    Some(response)
}
