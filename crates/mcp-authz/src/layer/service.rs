//! The service the layer wraps around an MCP endpoint.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::header::{
    ACCEPT_ENCODING, CONTENT_ENCODING, CONTENT_LENGTH, CONTENT_TYPE, WWW_AUTHENTICATE,
};
use http::{HeaderMap, HeaderValue, Method, Response, StatusCode, Uri, Version};
use http_body::Body;
use http_body_util::{BodyExt, Full, LengthLimitError, Limited};
use serde_json::{Value, json};
use tower::{Service, ServiceExt};

use super::body::AuthzBody;
use super::filter::{Expect, Filterer, ListKind};
use super::jsonrpc::{self, Message};
use super::sse::SseFilter;
use super::{BoxError, KNOWN_METHODS, Shared, UnknownMethods};
use crate::engine::Decision;
use crate::identity::Identity;
use crate::request::Request;
use crate::sink::DecisionEvent;

/// The service [`AuthzLayer`](super::AuthzLayer) produces. The inner service
/// receives `http::Request<Full<Bytes>>` (the body was read to judge it).
#[derive(Clone)]
pub struct AuthzService<S> {
    inner: S,
    shared: Arc<Shared>,
}

impl<S> std::fmt::Debug for AuthzService<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthzService").finish_non_exhaustive()
    }
}

impl<S> AuthzService<S> {
    pub(crate) fn new(inner: S, shared: Arc<Shared>) -> Self {
        Self { inner, shared }
    }
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

impl<S, ReqB, ResB> Service<http::Request<ReqB>> for AuthzService<S>
where
    S: Service<http::Request<Full<Bytes>>, Response = Response<ResB>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    ReqB: Body + Send + 'static,
    ReqB::Data: Send,
    ReqB::Error: Into<BoxError>,
    ResB: Body<Data = Bytes> + Send + 'static,
    ResB::Error: Into<BoxError>,
{
    type Response = Response<AuthzBody<ResB>>;
    type Error = S::Error;
    type Future = BoxFuture<Result<Self::Response, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: http::Request<ReqB>) -> Self::Future {
        let clone = self.inner.clone();
        let inner = std::mem::replace(&mut self.inner, clone);
        let shared = Arc::clone(&self.shared);
        Box::pin(handle(inner, shared, req))
    }
}

/// The parts of the incoming request needed to forward it (again).
struct Head {
    method: Method,
    uri: Uri,
    version: Version,
    headers: HeaderMap,
    extensions: http::Extensions,
}

impl Head {
    fn request(&self, body: Bytes, strip_mcp_headers: bool) -> http::Request<Full<Bytes>> {
        let mut req = http::Request::new(Full::new(body));
        *req.method_mut() = self.method.clone();
        *req.uri_mut() = self.uri.clone();
        *req.version_mut() = self.version;
        *req.headers_mut() = self.headers.clone();
        *req.extensions_mut() = self.extensions.clone();
        let h = req.headers_mut();
        h.remove(CONTENT_LENGTH);
        if strip_mcp_headers {
            // Batch entries are read by the layer: ask for them uncompressed.
            h.remove(ACCEPT_ENCODING);
            // SEP-2243 headers describe the original body, not a batch entry.
            let names: Vec<_> = h
                .keys()
                .filter(|k| {
                    let k = k.as_str();
                    k == "mcp-method" || k == "mcp-name" || k.starts_with("mcp-param-")
                })
                .cloned()
                .collect();
            for n in names {
                h.remove(n);
            }
        }
        req
    }
}

async fn handle<S, ReqB, ResB>(
    inner: S,
    shared: Arc<Shared>,
    req: http::Request<ReqB>,
) -> Result<Response<AuthzBody<ResB>>, S::Error>
where
    S: Service<http::Request<Full<Bytes>>, Response = Response<ResB>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    ReqB: Body + Send + 'static,
    ReqB::Error: Into<BoxError>,
    ResB: Body<Data = Bytes> + Send + 'static,
    ResB::Error: Into<BoxError>,
{
    let (parts, body) = req.into_parts();
    let Some(identity) = shared.extractor.extract(&parts) else {
        return Ok(unauthenticated(&shared));
    };
    let bytes = match Limited::new(body, shared.max_body).collect().await {
        Ok(c) => c.to_bytes(),
        Err(e) if e.downcast_ref::<LengthLimitError>().is_some() => {
            let msg = format!("request body exceeds {} bytes", shared.max_body);
            let err = jsonrpc::error(None, jsonrpc::INVALID_REQUEST, &msg, None);
            return Ok(json_response(StatusCode::PAYLOAD_TOO_LARGE, &err));
        }
        Err(_) => {
            let err = jsonrpc::error(
                None,
                jsonrpc::INVALID_REQUEST,
                "unreadable request body",
                None,
            );
            return Ok(json_response(StatusCode::BAD_REQUEST, &err));
        }
    };
    let head = Head {
        method: parts.method,
        uri: parts.uri,
        version: parts.version,
        headers: parts.headers,
        extensions: parts.extensions,
    };
    let filterer = || {
        Arc::new(Filterer {
            authz: shared.authz.clone(),
            identity: identity.clone(),
            server: shared.server.clone(),
        })
    };

    if head.method != Method::POST {
        let is_get = head.method == Method::GET;
        let mut req = head.request(bytes, false);
        if is_get {
            // The layer reads this stream: ask for it uncompressed.
            req.headers_mut().remove(ACCEPT_ENCODING);
        }
        let resp = inner.oneshot(req).await?;
        if is_get {
            return Ok(filter_response(resp, &shared, filterer(), Expect::Shape).await);
        }
        return Ok(resp.map(AuthzBody::pass));
    }

    let parsed = match jsonrpc::parse(&bytes) {
        Ok(p) => p,
        Err(why) => {
            let err = jsonrpc::error(
                None,
                jsonrpc::PARSE_ERROR,
                &format!("parse error: {why}"),
                None,
            );
            return Ok(json_response(StatusCode::BAD_REQUEST, &err));
        }
    };
    match parsed {
        jsonrpc::Body::Single(msg) => {
            let judgement = match jsonrpc::classify(&msg) {
                Message::Notification | Message::Response => Judgement::Forward(None),
                Message::Invalid { id, why } => {
                    let err = jsonrpc::error(id, jsonrpc::INVALID_REQUEST, why, None);
                    return Ok(json_response(StatusCode::BAD_REQUEST, &err));
                }
                Message::Request { id, method, params } => {
                    if let Err(why) = headers_match_body(&head.headers, method, params) {
                        let err = jsonrpc::error(Some(id), jsonrpc::INVALID_REQUEST, why, None);
                        return Ok(json_response(StatusCode::BAD_REQUEST, &err));
                    }
                    judge(&shared, &identity, &head.headers, id, method, params)
                }
            };
            match judgement {
                Judgement::Forward(None) => {
                    let resp = inner.oneshot(into_request(head, bytes)).await?;
                    Ok(resp.map(AuthzBody::pass))
                }
                Judgement::Forward(Some(expect)) => {
                    let mut req = into_request(head, bytes);
                    req.headers_mut().remove(ACCEPT_ENCODING);
                    let resp = inner.oneshot(req).await?;
                    Ok(filter_response(resp, &shared, filterer(), expect).await)
                }
                Judgement::Answer(v) => Ok(json_response(StatusCode::OK, &v)),
                Judgement::StepUp(scope, v) => Ok(step_up(&shared, &[scope], &v)),
            }
        }
        jsonrpc::Body::Batch(items) => {
            // Each entry keeps its exact text: it is forwarded as the client wrote it.
            let items = items
                .into_iter()
                .map(|(item, raw)| (item, bytes.slice_ref(raw)))
                .collect();
            batch(inner, &shared, &identity, &head, items, filterer()).await
        }
    }
}

/// SEP-2243 `Mcp-Method` / `Mcp-Name` headers must say what the body says:
/// the layer judges the body, and nothing downstream may route by a header
/// that names another tool.
fn headers_match_body(
    headers: &HeaderMap,
    method: &str,
    params: Option<&Value>,
) -> Result<(), &'static str> {
    let mut methods = headers.get_all("mcp-method").iter();
    if let Some(h) = methods.next()
        && (h.as_bytes() != method.as_bytes() || methods.next().is_some())
    {
        return Err("the Mcp-Method header does not match the body's method");
    }
    let mut names = headers.get_all("mcp-name").iter();
    if let Some(h) = names.next() {
        let body_name = params
            .and_then(|p| p.get("name").or_else(|| p.get("uri")))
            .and_then(Value::as_str);
        if Some(h.as_bytes()) != body_name.map(str::as_bytes) || names.next().is_some() {
            return Err("the Mcp-Name header does not match the body's name");
        }
    }
    Ok(())
}

fn into_request(head: Head, bytes: Bytes) -> http::Request<Full<Bytes>> {
    let mut req = http::Request::new(Full::new(bytes));
    *req.method_mut() = head.method;
    *req.uri_mut() = head.uri;
    *req.version_mut() = head.version;
    *req.headers_mut() = head.headers;
    *req.extensions_mut() = head.extensions;
    req
}

enum Judgement {
    /// Forward; filter the response when it answers a list.
    Forward(Option<Expect>),
    /// Answer with this JSON-RPC message.
    Answer(Value),
    /// Answer 403 insufficient_scope.
    StepUp(String, Value),
}

fn judge(
    shared: &Shared,
    identity: &Identity,
    headers: &HeaderMap,
    id: &Value,
    method: &str,
    params: Option<&Value>,
) -> Judgement {
    let governed = shared.authz.governs(method);
    if governed {
        let target = match jsonrpc::target(method, params) {
            Ok(t) => t,
            Err(why) => {
                let msg = format!("invalid params: {why}");
                return Judgement::Answer(jsonrpc::error(
                    Some(id),
                    jsonrpc::INVALID_PARAMS,
                    &msg,
                    None,
                ));
            }
        };
        let mut req = Request::new(method, target.name).headers(headers);
        req.server = shared.server.as_deref();
        req.arguments = target.arguments;
        let decision = shared.authz.decide(identity, &req);
        report(shared, Some(identity), id, method, target.name, &decision);
        if !decision.allowed {
            return denial(id, decision);
        }
    }
    if let Some(kind) = ListKind::from_method(method) {
        return Judgement::Forward(Some(Expect::Id(id.clone(), kind)));
    }
    if !governed
        && shared.unknown_methods == UnknownMethods::Deny
        && !KNOWN_METHODS.contains(&method)
    {
        let decision = Decision {
            allowed: false,
            rule: None,
            reason: format!("method '{method}' is not part of MCP and unknown methods are denied"),
            missing_scope: None,
            errors: Vec::new(),
        };
        report(shared, Some(identity), id, method, "", &decision);
        return denial(id, decision);
    }
    Judgement::Forward(None)
}

fn denial(id: &Value, decision: Decision) -> Judgement {
    if !decision.errors.is_empty() {
        tracing::warn!(errors = ?decision.errors, rule = ?decision.rule, "policy rules failed to evaluate; denied");
    }
    let data = json!({ "rule": decision.rule });
    match decision.missing_scope {
        Some(scope) => {
            let msg = format!("insufficient scope: this request requires scope '{scope}'");
            let data = json!({ "rule": decision.rule, "scope": scope });
            Judgement::StepUp(
                scope,
                jsonrpc::error(Some(id), jsonrpc::FORBIDDEN, &msg, Some(data)),
            )
        }
        None => {
            let msg = format!("forbidden: {}", decision.reason);
            Judgement::Answer(jsonrpc::error(
                Some(id),
                jsonrpc::FORBIDDEN,
                &msg,
                Some(data),
            ))
        }
    }
}

fn report(
    shared: &Shared,
    identity: Option<&Identity>,
    id: &Value,
    method: &str,
    name: &str,
    decision: &Decision,
) {
    tracing::debug!(
        subject = identity.and_then(Identity::subject),
        method,
        name,
        allowed = decision.allowed,
        rule = decision.rule.as_deref(),
        "authorization decision"
    );
    if let Some(sink) = &shared.sink {
        sink.record(&DecisionEvent {
            identity,
            request_id: Some(id),
            method,
            name,
            server: shared.server.as_deref(),
            decision,
        });
    }
}

/// One entry of a batch, after judging.
enum Slot {
    /// Answered by the layer.
    Answer(Value),
    /// A request forwarded as written; its answer (to this id) is filtered as expected.
    Forward(Bytes, Value, Expect),
    /// A notification or response forwarded as written; nothing to answer.
    ForwardQuiet(Bytes),
}

async fn batch<S, ResB>(
    inner: S,
    shared: &Shared,
    identity: &Identity,
    head: &Head,
    items: Vec<(Value, Bytes)>,
    filterer: Arc<Filterer>,
) -> Result<Response<AuthzBody<ResB>>, S::Error>
where
    S: Service<http::Request<Full<Bytes>>, Response = Response<ResB>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    ResB: Body<Data = Bytes> + Send + 'static,
    ResB::Error: Into<BoxError>,
{
    if items.is_empty() {
        let err = jsonrpc::error(None, jsonrpc::INVALID_REQUEST, "empty batch", None);
        return Ok(json_response(StatusCode::BAD_REQUEST, &err));
    }
    let mut slots = Vec::with_capacity(items.len());
    let mut missing: Vec<String> = Vec::new();
    for (item, raw) in items {
        let slot = match jsonrpc::classify(&item) {
            Message::Notification | Message::Response => Slot::ForwardQuiet(raw),
            Message::Invalid { id, why } => {
                Slot::Answer(jsonrpc::error(id, jsonrpc::INVALID_REQUEST, why, None))
            }
            Message::Request { id, method, params } => {
                match judge(shared, identity, &head.headers, id, method, params) {
                    Judgement::Forward(expect) => {
                        Slot::Forward(raw, id.clone(), expect.unwrap_or(Expect::Shape))
                    }
                    Judgement::Answer(v) => Slot::Answer(v),
                    Judgement::StepUp(scope, _) => {
                        if !missing.contains(&scope) {
                            missing.push(scope);
                        }
                        Slot::Answer(Value::Null)
                    }
                }
            }
        };
        slots.push(slot);
    }
    if !missing.is_empty() {
        let msg = format!(
            "insufficient scope: this batch requires scope '{}'",
            missing.join(" ")
        );
        let err = jsonrpc::error(
            None,
            jsonrpc::FORBIDDEN,
            &msg,
            Some(json!({"scope": missing.join(" ")})),
        );
        return Ok(step_up(shared, &missing, &err));
    }
    let mut out = Vec::new();
    for slot in slots {
        match slot {
            Slot::Answer(v) => out.push(v),
            Slot::ForwardQuiet(raw) => {
                let _ignored = forward_one(inner.clone(), shared, head, raw).await?;
            }
            Slot::Forward(raw, id, expect) => {
                let answer = forward_one(inner.clone(), shared, head, raw).await?;
                let mut found = None;
                match answer {
                    Ok(messages) => {
                        for mut m in messages {
                            if m.get("id") == Some(&id) && m.get("method").is_none() {
                                filterer.filter_message(&mut m, &expect);
                                found = Some(m);
                                break;
                            }
                        }
                    }
                    Err(why) => tracing::warn!(%why, "batch entry failed upstream"),
                }
                out.push(found.unwrap_or_else(|| {
                    jsonrpc::error(
                        Some(&id),
                        jsonrpc::INTERNAL_ERROR,
                        "the MCP server gave no usable answer to this batch entry",
                        None,
                    )
                }));
            }
        }
    }
    if out.is_empty() {
        let mut resp = Response::new(AuthzBody::full(Bytes::new()));
        *resp.status_mut() = StatusCode::ACCEPTED;
        return Ok(resp);
    }
    Ok(json_response(StatusCode::OK, &Value::Array(out)))
}

/// Forwards one message of a batch (its text as the client wrote it); returns
/// the JSON-RPC messages of the answer.
async fn forward_one<S, ResB>(
    inner: S,
    shared: &Shared,
    head: &Head,
    body: Bytes,
) -> Result<Result<Vec<Value>, String>, S::Error>
where
    S: Service<http::Request<Full<Bytes>>, Response = Response<ResB>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    ResB: Body<Data = Bytes> + Send + 'static,
    ResB::Error: Into<BoxError>,
{
    let resp = inner.oneshot(head.request(body, true)).await?;
    let status = resp.status();
    if status == StatusCode::ACCEPTED {
        return Ok(Ok(Vec::new()));
    }
    let is_sse = content_type(resp.headers()).starts_with("text/event-stream");
    let bytes = match Limited::new(resp.into_body(), shared.max_response)
        .collect()
        .await
    {
        Ok(c) => c.to_bytes(),
        Err(e) => return Ok(Err(format!("reading the answer failed: {e}"))),
    };
    let mut messages = Vec::new();
    if is_sse {
        let text = String::from_utf8_lossy(&bytes);
        let mut data = String::new();
        for line in text.split(['\n']).map(|l| l.trim_end_matches('\r')) {
            if line.is_empty() {
                if let Ok(v) = serde_json::from_str::<Value>(&data) {
                    messages.push(v);
                }
                data.clear();
            } else if let Some(d) = line.strip_prefix("data:") {
                if !data.is_empty() {
                    data.push('\n');
                }
                data.push_str(d.strip_prefix(' ').unwrap_or(d));
            }
        }
        if let Ok(v) = serde_json::from_str::<Value>(&data) {
            messages.push(v);
        }
    } else {
        match serde_json::from_slice::<Value>(&bytes) {
            Ok(Value::Array(vs)) => messages.extend(vs),
            Ok(v) => messages.push(v),
            Err(_) => {
                return Ok(Err(format!(
                    "MCP server answered HTTP {status} without JSON"
                )));
            }
        }
    }
    Ok(Ok(messages))
}

fn content_type(headers: &HeaderMap) -> &str {
    headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}

/// Filters a response that may carry list results.
async fn filter_response<B>(
    resp: Response<B>,
    shared: &Shared,
    filterer: Arc<Filterer>,
    expect: Expect,
) -> Response<AuthzBody<B>>
where
    B: Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    if !resp.status().is_success() {
        return resp.map(AuthzBody::pass);
    }
    let encoded = resp
        .headers()
        .get(CONTENT_ENCODING)
        .is_some_and(|v| !v.as_bytes().eq_ignore_ascii_case(b"identity"));
    if encoded {
        // Compressed despite the request: the layer cannot read it, so it is not relayed.
        let id = match &expect {
            Expect::Id(id, _) => Some(id),
            Expect::Shape => None,
        };
        let err = jsonrpc::error(
            id,
            jsonrpc::INTERNAL_ERROR,
            "the MCP server answered with a content encoding the layer cannot filter",
            None,
        );
        return json_response(StatusCode::BAD_GATEWAY, &err);
    }
    let ct = content_type(resp.headers()).to_ascii_lowercase();
    if ct.starts_with("text/event-stream") {
        let (mut parts, body) = resp.into_parts();
        parts.headers.remove(CONTENT_LENGTH);
        let body = SseFilter::new(body, filterer, expect, shared.max_event);
        return Response::from_parts(parts, AuthzBody::sse(body));
    }
    let is_json = ct.starts_with("application/json") || ct.contains("+json");
    if !is_json {
        return match expect {
            // A GET may answer anything (405, an empty 200): nothing to filter.
            Expect::Shape => resp.map(AuthzBody::pass),
            Expect::Id(id, _) => {
                let err = jsonrpc::error(
                    Some(&id),
                    jsonrpc::INTERNAL_ERROR,
                    "the MCP server answered a list with an unexpected content type",
                    None,
                );
                json_response(StatusCode::BAD_GATEWAY, &err)
            }
        };
    }
    let (mut parts, body) = resp.into_parts();
    let bytes = match Limited::new(body, shared.max_response).collect().await {
        Ok(c) => c.to_bytes(),
        Err(_) => {
            let id = match &expect {
                Expect::Id(id, _) => Some(id),
                Expect::Shape => None,
            };
            let err = jsonrpc::error(
                id,
                jsonrpc::INTERNAL_ERROR,
                "the MCP server's answer could not be read for filtering",
                None,
            );
            return json_response(StatusCode::BAD_GATEWAY, &err);
        }
    };
    let out = match serde_json::from_slice::<Value>(&bytes) {
        Ok(mut v) => {
            if filterer.filter_message(&mut v, &expect) {
                Bytes::from(v.to_string())
            } else {
                bytes
            }
        }
        Err(_) => bytes,
    };
    parts
        .headers
        .insert(CONTENT_LENGTH, HeaderValue::from(out.len()));
    Response::from_parts(parts, AuthzBody::full(out))
}

fn json_response<B>(status: StatusCode, body: &Value) -> Response<AuthzBody<B>> {
    let bytes = Bytes::from(body.to_string());
    let mut resp = Response::new(AuthzBody::full(bytes));
    *resp.status_mut() = status;
    resp.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    resp
}

/// Quotes a value for an auth-param (RFC 9110 quoted-string).
fn quoted(v: &str) -> String {
    let mut s = String::with_capacity(v.len() + 2);
    s.push('"');
    for c in v.chars() {
        if c == '"' || c == '\\' {
            s.push('\\');
        }
        if !c.is_control() {
            s.push(c);
        }
    }
    s.push('"');
    s
}

fn challenge(shared: &Shared, params: &[(&str, &str)]) -> HeaderValue {
    let mut parts: Vec<String> = params
        .iter()
        .map(|(k, v)| format!("{k}={}", quoted(v)))
        .collect();
    if let Some(rm) = &shared.resource_metadata {
        parts.push(format!("resource_metadata={}", quoted(rm)));
    }
    let value = if parts.is_empty() {
        "Bearer".to_owned()
    } else {
        format!("Bearer {}", parts.join(", "))
    };
    HeaderValue::from_str(&value).unwrap_or_else(|_| HeaderValue::from_static("Bearer"))
}

fn step_up<B>(shared: &Shared, scopes: &[String], body: &Value) -> Response<AuthzBody<B>> {
    let scope = scopes.join(" ");
    let mut resp = json_response(StatusCode::FORBIDDEN, body);
    let header = challenge(
        shared,
        &[("error", "insufficient_scope"), ("scope", &scope)],
    );
    resp.headers_mut().insert(WWW_AUTHENTICATE, header);
    resp
}

fn unauthenticated<B>(shared: &Shared) -> Response<AuthzBody<B>> {
    let err = jsonrpc::error(
        None,
        jsonrpc::UNAUTHENTICATED,
        "authentication required: no verified identity on this request",
        None,
    );
    let mut resp = json_response(StatusCode::UNAUTHORIZED, &err);
    resp.headers_mut()
        .insert(WWW_AUTHENTICATE, challenge(shared, &[]));
    resp
}
