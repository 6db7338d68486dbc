//! The tower layer in front of an MCP streamable-HTTP service.
//!
//! What it does with each HTTP request (details in `docs/policies.md`):
//!
//! 1. Reads the caller's [`Identity`] through an [`IdentityExtractor`]. None:
//!    `401` with `WWW-Authenticate: Bearer` (plus `resource_metadata` when
//!    configured) and a JSON-RPC error [`UNAUTHENTICATED`]; nothing is forwarded.
//! 2. Reads the body up to [`AuthzLayer::max_body_bytes`] (`413` beyond).
//! 3. `POST`: parses JSON-RPC strictly (a repeated key anywhere is a parse
//!    error: `400` + [`PARSE_ERROR`]; a message without `method`/`result`/`error`
//!    or with a bad `jsonrpc`/`id` is `400` + [`INVALID_REQUEST`]).
//!    - `tools/call`, `prompts/get`, `resources/read` (and methods a rule
//!      names) are decided. Allowed: forwarded byte for byte. Denied for a
//!      missing scope: `403` with `WWW-Authenticate: Bearer
//!      error="insufficient_scope", scope="…", resource_metadata="…"`. Denied
//!      otherwise: `200` with a JSON-RPC error [`FORBIDDEN`] naming the rule.
//!      Wrong `params` types: JSON-RPC [`INVALID_PARAMS`], not forwarded.
//!    - `tools/list`, `prompts/list`, `resources/list`: forwarded; the response
//!      to that id is filtered, in `application/json` (read whole, bounded by
//!      [`AuthzLayer::max_response_bytes`]) or `text/event-stream` (event by
//!      event, each bounded by [`AuthzLayer::max_event_bytes`]).
//!    - Notifications and responses: forwarded byte for byte; the service's
//!      answer (usually `202`) is relayed.
//!    - Other methods: forwarded, or refused with [`FORBIDDEN`] for methods
//!      outside the MCP specification when [`UnknownMethods::Deny`] is set.
//!    - Batches: see [`AuthzLayer`].
//! 4. `GET` (the server-to-client stream, which may resume an earlier POST's
//!    stream): every list-shaped result in it is filtered. Other methods pass.

mod body;
mod filter;
mod jsonrpc;
mod service;
mod sse;

use std::sync::Arc;

use http::request::Parts;

use crate::authorizer::Authorizer;
use crate::identity::Identity;
use crate::sink::DecisionSink;

pub use body::AuthzBody;
pub use jsonrpc::{
    FORBIDDEN, INTERNAL_ERROR, INVALID_PARAMS, INVALID_REQUEST, PARSE_ERROR, UNAUTHENTICATED,
};
pub use service::AuthzService;

/// Errors of response bodies.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Gets the caller's identity out of an HTTP request (usually from an
/// extension an authentication layer inserted). Any
/// `Fn(&http::request::Parts) -> Option<Identity>` is one.
///
/// ```
/// use mcp_authz::{Identity, IdentityExtractor};
///
/// #[derive(Clone)]
/// struct MyClaims(serde_json::Map<String, serde_json::Value>);
///
/// let extractor = |parts: &http::request::Parts| {
///     parts.extensions.get::<MyClaims>().map(|c| Identity::from_claims(c.0.clone()))
/// };
/// fn takes(_: impl IdentityExtractor) {}
/// takes(extractor);
/// ```
pub trait IdentityExtractor: Send + Sync + 'static {
    /// The identity, or `None` when the request is not authenticated.
    fn extract(&self, parts: &Parts) -> Option<Identity>;
}

impl<F> IdentityExtractor for F
where
    F: Fn(&Parts) -> Option<Identity> + Send + Sync + 'static,
{
    fn extract(&self, parts: &Parts) -> Option<Identity> {
        self(parts)
    }
}

/// The default extractor: an [`Identity`] stored in the request extensions.
#[derive(Debug, Clone, Copy, Default)]
pub struct ExtensionIdentity;

impl IdentityExtractor for ExtensionIdentity {
    fn extract(&self, parts: &Parts) -> Option<Identity> {
        parts.extensions.get::<Identity>().cloned()
    }
}

/// What the layer does with JSON-RPC methods the MCP specification does not define.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum UnknownMethods {
    /// Forward them (the server answers "method not found" if it has none).
    #[default]
    Pass,
    /// Refuse them with a [`FORBIDDEN`] JSON-RPC error.
    Deny,
}

/// Methods of the MCP specification (2025-11-25 and 2026-07-28) a client may send.
pub(crate) const KNOWN_METHODS: &[&str] = &[
    "initialize",
    "ping",
    "server/discover",
    "tools/list",
    "tools/call",
    "prompts/list",
    "prompts/get",
    "resources/list",
    "resources/read",
    "resources/templates/list",
    "resources/subscribe",
    "resources/unsubscribe",
    "completion/complete",
    "logging/setLevel",
    "tasks/get",
    "tasks/result",
    "tasks/list",
    "tasks/cancel",
];

/// Tower layer that authorizes MCP requests; see the module docs for the flow.
///
/// **Batches** (JSON arrays, from clients of protocol 2025-03-26): every
/// request in the batch is judged first. If any is denied for a missing scope,
/// the whole batch is answered `403` with the union of the missing scopes and
/// nothing is forwarded (the client steps up and retries). Otherwise denied and
/// malformed entries are answered by the layer, and the other entries are
/// forwarded to the service one at a time, as single messages (each exactly
/// as written in the batch), in order (MCP servers of later protocol
/// versions, rmcp among them, do not accept batches). Each answer is read whole (bounded), list results are filtered,
/// and the responses are merged, in the batch's order, into one
/// `application/json` array; server-to-client notifications sent while
/// answering a batch entry are not relayed. A batch of notifications and
/// responses only is answered `202`.
///
/// ```
/// use mcp_authz::{Authorizer, AuthzLayer, Policy, UnknownMethods};
///
/// let authz = Authorizer::new(Policy::default()).unwrap();
/// let layer = AuthzLayer::new(authz)
///     .resource_metadata("https://mcp.example.com/.well-known/oauth-protected-resource")
///     .unknown_methods(UnknownMethods::Deny)
///     .sink(|e: &mcp_authz::DecisionEvent<'_>| tracing::info!(name = e.name, allowed = e.decision.allowed));
/// # let _ = layer;
/// ```
#[derive(Clone)]
pub struct AuthzLayer {
    shared: Arc<Shared>,
}

#[derive(Clone)]
pub(crate) struct Shared {
    pub(crate) authz: Authorizer,
    pub(crate) extractor: Arc<dyn IdentityExtractor>,
    pub(crate) sink: Option<Arc<dyn DecisionSink>>,
    pub(crate) max_body: usize,
    pub(crate) max_response: usize,
    pub(crate) max_event: usize,
    pub(crate) unknown_methods: UnknownMethods,
    pub(crate) resource_metadata: Option<String>,
    pub(crate) server: Option<String>,
}

impl std::fmt::Debug for AuthzLayer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthzLayer")
            .field("max_body", &self.shared.max_body)
            .field("unknown_methods", &self.shared.unknown_methods)
            .field("server", &self.shared.server)
            .finish_non_exhaustive()
    }
}

impl AuthzLayer {
    /// A layer deciding with `authz`; identities from [`ExtensionIdentity`].
    pub fn new(authz: Authorizer) -> Self {
        Self {
            shared: Arc::new(Shared {
                authz,
                extractor: Arc::new(ExtensionIdentity),
                sink: None,
                max_body: 4 * 1024 * 1024,
                max_response: 16 * 1024 * 1024,
                max_event: 16 * 1024 * 1024,
                unknown_methods: UnknownMethods::Pass,
                resource_metadata: None,
                server: None,
            }),
        }
    }

    fn with(mut self, f: impl FnOnce(&mut Shared)) -> Self {
        f(Arc::make_mut(&mut self.shared));
        self
    }

    /// How to find the caller's identity.
    pub fn identity(self, extractor: impl IdentityExtractor) -> Self {
        self.with(|s| s.extractor = Arc::new(extractor))
    }

    /// Where decisions are reported.
    pub fn sink(self, sink: impl DecisionSink) -> Self {
        self.with(|s| s.sink = Some(Arc::new(sink)))
    }

    /// Largest accepted request body (default 4 MiB); larger ones get `413`.
    pub fn max_body_bytes(self, n: usize) -> Self {
        self.with(|s| s.max_body = n)
    }

    /// Largest JSON response the layer reads to filter it (default 16 MiB);
    /// a larger one is replaced by a JSON-RPC [`INTERNAL_ERROR`] (fail closed).
    pub fn max_response_bytes(self, n: usize) -> Self {
        self.with(|s| s.max_response = n)
    }

    /// Largest SSE event the layer buffers to filter it (default 16 MiB); a
    /// larger one ends the stream with an error (fail closed).
    pub fn max_event_bytes(self, n: usize) -> Self {
        self.with(|s| s.max_event = n)
    }

    /// What to do with methods the MCP specification does not define.
    pub fn unknown_methods(self, policy: UnknownMethods) -> Self {
        self.with(|s| s.unknown_methods = policy)
    }

    /// The RFC 9728 metadata URL put in `WWW-Authenticate` challenges.
    pub fn resource_metadata(self, url: impl Into<String>) -> Self {
        self.with(|s| s.resource_metadata = Some(url.into()))
    }

    /// The backend name CEL rules and `server:` patterns see as `tool.server`.
    pub fn server(self, name: impl Into<String>) -> Self {
        self.with(|s| s.server = Some(name.into()))
    }
}

impl<S> tower::Layer<S> for AuthzLayer {
    type Service = AuthzService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        AuthzService::new(inner, Arc::clone(&self.shared))
    }
}
