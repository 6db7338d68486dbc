//! Prometheus metrics of the gateway, served as OpenMetrics text on the HTTP
//! listener (`metrics.path`, default `/metrics`).
//!
//! Everything is recorded in one place, [`Metrics::record`], from the same
//! [`Entry`] an audit line is made of (whether audit is on or not), so the
//! metrics and the audit trail count the same requests. Labels are the
//! method, the backend's name, the audit outcome and the decision: no user,
//! token, argument or other high-cardinality or private value.
//!
//! | metric | type | labels |
//! |---|---|---|
//! | `mcp_proxy_requests_total` | counter | `method`, `backend`, `outcome` |
//! | `mcp_proxy_decisions_total` | counter | `decision` (`allow`, `deny`) |
//! | `mcp_proxy_backend_call_duration_seconds` | histogram | `backend` |
//! | `mcp_proxy_backend_up` | gauge (1/0, at scrape time) | `backend` |
//! | `mcp_proxy_sessions` | gauge | — |

use std::sync::Arc;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::{Registry, Unit};

use crate::audit::{Entry, Outcome};
use crate::backends::BackendStatus;

/// The content type of the exposition (OpenMetrics text 1.0.0).
pub(crate) const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Upper bounds of the call duration buckets, in seconds: 100 µs to 30 s.
const DURATION_BUCKETS: [f64; 17] = [
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
    5.0, 10.0, 30.0,
];

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: &'static str,
    backend: String,
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DecisionLabels {
    decision: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct BackendLabels {
    backend: String,
}

type HistogramFamily = Family<BackendLabels, Histogram, fn() -> Histogram>;

fn duration_histogram() -> Histogram {
    Histogram::new(DURATION_BUCKETS)
}

/// The gateway's metrics and the registry that encodes them.
pub(crate) struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    decisions: Family<DecisionLabels, Counter>,
    durations: HistogramFamily,
    backend_up: Family<BackendLabels, Gauge>,
    sessions: Gauge,
}

impl Metrics {
    pub(crate) fn new() -> Self {
        let mut registry = Registry::with_prefix("mcp_proxy");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "requests",
            "Routed requests (tools/call, prompts/get, resources/read) and backend requests relayed to their caller (sampling/createMessage, elicitation/create, roots/list) by how they ended, as in the audit line",
            requests.clone(),
        );
        let decisions = Family::<DecisionLabels, Counter>::default();
        registry.register(
            "decisions",
            "Policy decisions on routed requests",
            decisions.clone(),
        );
        let durations: HistogramFamily = Family::new_with_constructor(duration_histogram);
        registry.register_with_unit(
            "backend_call_duration",
            "Time from the policy decision to the end of a forwarded call",
            Unit::Seconds,
            durations.clone(),
        );
        let backend_up = Family::<BackendLabels, Gauge>::default();
        registry.register(
            "backend_up",
            "1 while the backend is connected, else 0",
            backend_up.clone(),
        );
        let sessions = Gauge::default();
        registry.register(
            "sessions",
            "Open MCP sessions at the front",
            sessions.clone(),
        );
        Metrics {
            registry,
            requests,
            decisions,
            durations,
            backend_up,
            sessions,
        }
    }

    /// Counts one routed request as its audit entry describes it: its
    /// outcome, its decision (with a policy) and, when it was forwarded, the
    /// time since the decision.
    pub(crate) fn record(&self, entry: &Entry<'_>) {
        self.requests
            .get_or_create(&RequestLabels {
                method: method_label(entry.method),
                backend: entry.backend.to_owned(),
                outcome: entry.outcome.as_str(),
            })
            .inc();
        if let Some(decision) = entry.decision {
            let decision = if decision.allowed { "allow" } else { "deny" };
            self.decisions
                .get_or_create(&DecisionLabels { decision })
                .inc();
        }
        if entry.outcome != Outcome::Denied && routed(entry.method) {
            self.durations
                .get_or_create(&BackendLabels {
                    backend: entry.backend.to_owned(),
                })
                .observe(entry.started.elapsed().as_secs_f64());
        }
    }

    /// Counts a front session until the guard is dropped.
    pub(crate) fn session(self: &Arc<Self>) -> SessionGuard {
        self.sessions.inc();
        SessionGuard(Arc::clone(self))
    }

    /// The exposition, with `mcp_proxy_backend_up` taken from `backends` now.
    pub(crate) fn encode(&self, backends: &[BackendStatus]) -> Result<String, std::fmt::Error> {
        for backend in backends {
            self.backend_up
                .get_or_create(&BackendLabels {
                    backend: backend.name.clone(),
                })
                .set(i64::from(backend.state == "up"));
        }
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &self.registry)?;
        Ok(text)
    }
}

/// One open front session in `mcp_proxy_sessions`.
pub(crate) struct SessionGuard(Arc<Metrics>);

impl Drop for SessionGuard {
    fn drop(&mut self) {
        self.0.sessions.dec();
    }
}

/// Whether `method` is a request forwarded to a backend (the others in
/// [`Entry`]s are relayed to a client, and their time is the client's).
fn routed(method: &str) -> bool {
    matches!(
        method,
        mcp_authz::TOOLS_CALL | mcp_authz::PROMPTS_GET | mcp_authz::RESOURCES_READ
    )
}

/// The routed and relayed methods as static labels (any other is `other`;
/// none is recorded).
fn method_label(method: &str) -> &'static str {
    match method {
        mcp_authz::TOOLS_CALL => mcp_authz::TOOLS_CALL,
        mcp_authz::PROMPTS_GET => mcp_authz::PROMPTS_GET,
        mcp_authz::RESOURCES_READ => mcp_authz::RESOURCES_READ,
        "sampling/createMessage" => "sampling/createMessage",
        "elicitation/create" => "elicitation/create",
        "roots/list" => "roots/list",
        _ => "other",
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Instant;

    use super::Metrics;
    use crate::audit::{Entry, Outcome};

    fn entry<'a>(
        identity: &'a mcp_authz::Identity,
        decision: Option<&'a mcp_authz::Decision>,
        outcome: Outcome,
    ) -> Entry<'a> {
        Entry {
            request_id: serde_json::Value::Null,
            session: None,
            identity,
            method: "tools/call",
            backend: "github",
            tool: "push_to_branch",
            exposed: "github_push_to_branch",
            arguments: None,
            decision,
            outcome,
            started: Instant::now(),
        }
    }

    #[test]
    fn records_outcomes_decisions_durations_and_sessions_without_user_data() {
        let metrics = Arc::new(Metrics::new());
        let identity = mcp_authz::Identity::from_claims(
            serde_json::json!({"sub": "alice", "groups": ["Senior Engineers"]})
                .as_object()
                .cloned()
                .unwrap(),
        );
        metrics.record(&entry(&identity, None, Outcome::Ok));
        metrics.record(&entry(&identity, None, Outcome::Denied));
        let session = metrics.session();
        let text = metrics.encode(&[]).unwrap();
        assert!(
            text.contains(
                "mcp_proxy_requests_total{method=\"tools/call\",backend=\"github\",outcome=\"ok\"} 1\n"
            ),
            "{text}"
        );
        assert!(
            text.contains(
                "mcp_proxy_requests_total{method=\"tools/call\",backend=\"github\",outcome=\"denied\"} 1\n"
            ),
            "{text}"
        );
        assert!(
            text.contains("mcp_proxy_backend_call_duration_seconds_count{backend=\"github\"} 1\n"),
            "only the forwarded call is timed: {text}"
        );
        assert!(text.contains("mcp_proxy_sessions 1\n"), "{text}");
        assert!(text.ends_with("# EOF\n"), "{text}");
        assert!(
            !text.contains("alice") && !text.contains("Senior"),
            "{text}"
        );
        drop(session);
        assert!(
            metrics
                .encode(&[])
                .unwrap()
                .contains("mcp_proxy_sessions 0\n")
        );
    }
}
