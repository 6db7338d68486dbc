//! Calls answered as plain JSON: a `tools/call`, `prompts/get` or
//! `resources/read` that [`FrontSessions`](crate::front_sessions) serves in
//! place, and that ends within half a second, is answered
//! `Content-Type: application/json` (one JSON-RPC message, with a length)
//! instead of an SSE stream, which the MCP streamable-HTTP transport allows
//! for any POSTed request. A longer call is answered as SSE with keep-alive
//! comments, as rmcp would (a client's read timeout must not end it). rmcp's
//! service frames every session answer as SSE, so the MCP endpoint
//! ([`McpEndpoint`](crate::endpoint::McpEndpoint)) answers such calls itself
//! instead of calling rmcp's service. Measured A/B (docs/benchmarks.md):
//! about +16 % throughput at concurrency 64 and +8 % at 1.
//!
//! It takes a request only when rmcp's own checks would pass it, and hands
//! everything else to rmcp's service untouched (which then checks and
//! answers as always):
//! - `POST` with `Content-Type: application/json` and an `Accept` naming both
//!   `application/json` and `text/event-stream` without weights (rmcp asks
//!   for both; a weighted list goes to rmcp);
//! - no `Origin` header (browsers send one; rmcp checks it against
//!   `allowed_origins`);
//! - a `Host` that rmcp's `allowed_hosts` rule accepts (DNS-rebinding
//!   protection), compared as rmcp does (authority parsed, brackets trimmed,
//!   lower case, a listed host without port matching any port);
//! - an `Mcp-Session-Id` of an open, initialized session and the
//!   `MCP-Protocol-Version` that session negotiated;
//! - none of SEP-2243's `Mcp-Method`, `Mcp-Name`, `Mcp-Param-*` headers
//!   (rmcp checks them against the body).
//!
//! Everything before runs as for any request: the token check, session
//! binding, in-flight tracking and the step-up decision (which the handler
//! uses).

use std::convert::Infallible;
use std::time::Duration;

use bytes::Bytes;

use axum::body::Body;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::front_sessions::OneAnswer;

/// How long a call may run before its answer becomes an SSE stream instead
/// of plain JSON (see [`answered`]).
const JSON_WINDOW: Duration = Duration::from_millis(500);
/// Keep-alive comments of an SSE answer (rmcp's front sends them as often).
const KEEP_ALIVE: Duration = Duration::from_secs(15);

/// The HTTP answer of a call started in place: plain JSON when the call ends
/// within [`JSON_WINDOW`]; else an SSE stream (as rmcp would send) with a
/// keep-alive comment every [`KEEP_ALIVE`], so a long call does not run into
/// a client's read timeout before its answer.
pub(crate) async fn answered(mut answer: OneAnswer) -> Response {
    match tokio::time::timeout(JSON_WINDOW, answer.answer()).await {
        Ok(Some(answer)) => match answer.into_json() {
            Ok(json) => ([(header::CONTENT_TYPE, "application/json")], json).into_response(),
            Err(e) => {
                tracing::error!("encoding an answer failed: {e}");
                StatusCode::INTERNAL_SERVER_ERROR.into_response()
            }
        },
        // Cancelled by the client: nothing to say, as on rmcp's path (an
        // SSE answer that ends without an event).
        Ok(None) => sse(Body::empty()),
        Err(_) => {
            let tick =
                tokio::time::interval_at(tokio::time::Instant::now() + KEEP_ALIVE, KEEP_ALIVE);
            let events = futures::stream::unfold(Some((answer, tick)), |state| async move {
                let (mut answer, mut tick) = state?;
                tokio::select! {
                    answer = answer.answer() => {
                        let data = answer?.into_json().ok()?;
                        let mut event = Vec::with_capacity(data.len() + 8);
                        event.extend_from_slice(b"data: ");
                        // A line break would end the SSE field. JSON has them only
                        // as whitespace between tokens (never raw inside a string),
                        // and a backend's unchanged result may be pretty-printed.
                        event.extend(data.iter().map(|&b| match b {
                            b'\n' | b'\r' => b' ',
                            b => b,
                        }));
                        event.extend_from_slice(b"\n\n");
                        Some((Ok::<_, Infallible>(Bytes::from(event)), None))
                    }
                    _ = tick.tick() => {
                        Some((Ok(Bytes::from_static(b": keep-alive\n\n")), Some((answer, tick))))
                    }
                }
            });
            sse(Body::from_stream(events))
        }
    }
}

fn sse(body: Body) -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/event-stream"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        body,
    )
        .into_response()
}

/// Whether the headers are ones rmcp's checks pass (see the module docs).
/// Compared without allocating: this runs for every `POST`.
pub(crate) fn takes(headers: &HeaderMap, uri: &http::Uri, hosts: &AllowedHosts) -> bool {
    let text = |name: header::HeaderName| headers.get(name).and_then(|v| v.to_str().ok());
    let json_body = text(header::CONTENT_TYPE).is_some_and(|v| {
        v.get(..16)
            .is_some_and(|p| p.eq_ignore_ascii_case("application/json"))
    });
    let accepts = text(header::ACCEPT).is_some_and(|v| {
        contains(v, "application/json")
            && contains(v, "text/event-stream")
            && !contains(v, ";q=")
            && !contains(v, "; q=")
    });
    let standard_headers = headers.keys().any(|name| {
        let name = name.as_str();
        name == "mcp-method" || name == "mcp-name" || name.starts_with("mcp-param-")
    });
    json_body
        && accepts
        && !standard_headers
        && !headers.contains_key(header::ORIGIN)
        && headers.contains_key("mcp-session-id")
        && headers.contains_key("mcp-protocol-version")
        && hosts.allow(headers, uri)
}

/// Whether `text` contains `needle`, ignoring ASCII case.
fn contains(text: &str, needle: &str) -> bool {
    text.as_bytes()
        .windows(needle.len())
        .any(|w| w.eq_ignore_ascii_case(needle.as_bytes()))
}

/// rmcp's `allowed_hosts`, parsed once: an empty list allows every host;
/// else the request's host must equal a listed one, and its port a listed
/// port when the entry names one (hosts compared as rmcp compares them:
/// brackets trimmed, ASCII case ignored).
pub(crate) struct AllowedHosts {
    any: bool,
    /// Lower-case host, and the port if the entry names one.
    rules: Vec<(String, Option<u16>)>,
}

impl AllowedHosts {
    pub(crate) fn new(list: &[String]) -> Self {
        let rules = list
            .iter()
            .map(|allowed| allowed.trim())
            .filter(|allowed| !allowed.is_empty())
            .map(|allowed| match http::uri::Authority::try_from(allowed) {
                Ok(entry) => (normalize(entry.host()), entry.port_u16()),
                Err(_) => (normalize(allowed), None),
            })
            .collect();
        Self {
            any: list.is_empty(),
            rules,
        }
    }

    fn allow(&self, headers: &HeaderMap, uri: &http::Uri) -> bool {
        if self.any {
            return true;
        }
        let authority = match uri.authority() {
            Some(authority) => Some(authority.clone()),
            None => headers
                .get(header::HOST)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| http::uri::Authority::try_from(v).ok()),
        };
        let Some(authority) = authority else {
            return false;
        };
        let host = trim_brackets(authority.host());
        let port = authority.port_u16();
        self.rules.iter().any(|(allowed, allowed_port)| {
            allowed.eq_ignore_ascii_case(host) && allowed_port.is_none_or(|p| Some(p) == port)
        })
    }
}

fn trim_brackets(host: &str) -> &str {
    host.trim_matches('[').trim_matches(']')
}

fn normalize(host: &str) -> String {
    trim_brackets(host).to_ascii_lowercase()
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderMap;

    use super::{AllowedHosts, takes};

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, value.parse().unwrap());
        }
        map
    }

    const PLAIN: [(&str, &str); 5] = [
        ("host", "127.0.0.1:8080"),
        ("content-type", "application/json"),
        ("accept", "application/json, text/event-stream"),
        ("mcp-session-id", "s-1"),
        ("mcp-protocol-version", "2025-11-25"),
    ];

    fn loopback() -> AllowedHosts {
        AllowedHosts::new(&["localhost".into(), "127.0.0.1".into(), "::1".into()])
    }

    #[test]
    fn plain_requests_are_taken_and_anything_rmcp_must_check_is_not() {
        let uri = "/mcp".parse().unwrap();
        assert!(takes(&headers(&PLAIN), &uri, &loopback()));
        let with = |extra: (&'static str, &'static str)| {
            let mut all = PLAIN.to_vec();
            all.push(extra);
            takes(&headers(&all), &uri, &loopback())
        };
        assert!(!with(("origin", "http://127.0.0.1:8080")));
        assert!(!with(("mcp-method", "tools/call")));
        assert!(!with(("mcp-param-repo", "x")));
        let without = |name: &str| {
            let all: Vec<_> = PLAIN.iter().copied().filter(|(n, _)| *n != name).collect();
            takes(&headers(&all), &uri, &loopback())
        };
        for name in [
            "host",
            "content-type",
            "accept",
            "mcp-session-id",
            "mcp-protocol-version",
        ] {
            assert!(!without(name), "{name}");
        }
        let mut shouting = PLAIN.to_vec();
        shouting[1] = ("content-type", "Application/JSON; charset=utf-8");
        shouting[2] = ("accept", "Application/Json, Text/Event-Stream");
        assert!(takes(&headers(&shouting), &uri, &loopback()));
        shouting[2] = ("accept", "application/json;Q=0.5, text/event-stream");
        assert!(!takes(&headers(&shouting), &uri, &loopback()));
        let mut weighted = PLAIN.to_vec();
        weighted[2] = ("accept", "application/json;q=0, text/event-stream");
        assert!(!takes(&headers(&weighted), &uri, &loopback()));
    }

    #[test]
    fn hosts_follow_rmcps_rule() {
        let uri = "/mcp".parse().unwrap();
        let host = |value: &'static str, allowed: &[&str]| {
            let allowed: Vec<String> = allowed.iter().map(|s| (*s).to_owned()).collect();
            AllowedHosts::new(&allowed).allow(&headers(&[("host", value)]), &uri)
        };
        assert!(host("127.0.0.1:8080", &["127.0.0.1"]));
        assert!(host("LOCALHOST:1", &["localhost"]));
        assert!(host("[::1]:8080", &["::1"]));
        assert!(host("[::1]:8080", &["[::1]:8080"]));
        assert!(!host("[::1]:8081", &["[::1]:8080"]));
        assert!(host("mcp.example.com", &["mcp.example.com"]));
        assert!(host("mcp.example.com:8443", &["mcp.example.com:8443"]));
        assert!(!host("mcp.example.com:9000", &["mcp.example.com:8443"]));
        assert!(!host(
            "evil.example:8080",
            &["localhost", "127.0.0.1", "::1"]
        ));
        assert!(!host("127.0.0.1.evil.example", &["127.0.0.1"]));
        assert!(
            host("anything", &[]),
            "an empty list allows every host, as in rmcp"
        );
        assert!(!loopback().allow(&HeaderMap::new(), &uri));
        assert!(
            !host("anything", &[" "]),
            "a list of blank entries allows none, as in rmcp"
        );
    }
}
