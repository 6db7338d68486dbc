//! Where decisions go for audit.

use serde_json::Value;

use crate::engine::Decision;
use crate::identity::Identity;

/// One decision the layer made, as reported to a [`DecisionSink`].
#[derive(Debug, Clone, Copy)]
pub struct DecisionEvent<'a> {
    /// The caller (`None` when the request had no identity and was refused).
    pub identity: Option<&'a Identity>,
    /// The JSON-RPC id of the request, if any.
    pub request_id: Option<&'a Value>,
    /// The MCP method.
    pub method: &'a str,
    /// Tool or prompt name, resource URI (empty for other methods).
    pub name: &'a str,
    /// The backend, when the layer was configured with one.
    pub server: Option<&'a str>,
    /// The decision.
    pub decision: &'a Decision,
}

/// Receives every decision the layer makes (calls, prompt gets, resource
/// reads, refused unknown methods; not the per-item checks of list filtering).
///
/// `record` runs on the request path: keep it cheap (hand the event to a
/// channel or a buffered writer). Any `Fn(&DecisionEvent)` is a sink.
///
/// ```
/// use std::sync::{Arc, Mutex};
/// use mcp_authz::{DecisionEvent, DecisionSink};
///
/// let seen = Arc::new(Mutex::new(Vec::new()));
/// let log = Arc::clone(&seen);
/// let sink = move |e: &DecisionEvent<'_>| log.lock().unwrap().push((e.name.to_owned(), e.decision.allowed));
/// fn takes_sink(_: impl DecisionSink) {}
/// takes_sink(sink);
/// ```
pub trait DecisionSink: Send + Sync + 'static {
    /// Records one decision.
    fn record(&self, event: &DecisionEvent<'_>);
}

impl<F> DecisionSink for F
where
    F: Fn(&DecisionEvent<'_>) + Send + Sync + 'static,
{
    fn record(&self, event: &DecisionEvent<'_>) {
        self(event)
    }
}
