//! Binds each MCP session to the user who opened it (MCP security best
//! practices, "Session Hijacking": servers should bind session ids to
//! user-specific information). The owner is the verified token's issuer and
//! subject. A request naming a session another user opened is answered `404`,
//! exactly as for a session that does not exist, so session ids reveal nothing
//! across users; every request is still authorized by its own token. Without
//! auth every caller is the same anonymous owner.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use okta_auth::{OktaClaims, Verified};
use serde_json::json;

/// The MCP session header.
const SESSION_HEADER: &str = "mcp-session-id";
/// Sessions remembered at most; the oldest binding is forgotten first (its
/// session then answers `404` and the client opens a new one).
const MAX_SESSIONS: usize = 100_000;

/// Who opened a session: `(iss, sub)` of the verified token, empty without one.
type Owner = (String, String);

/// Session id → owner, bounded.
#[derive(Default)]
pub(crate) struct SessionOwners {
    inner: Mutex<Owners>,
}

#[derive(Default)]
struct Owners {
    by_session: HashMap<String, Owner>,
    order: VecDeque<String>,
}

impl SessionOwners {
    fn owner(&self, session: &str) -> Option<Owner> {
        self.inner.lock().ok()?.by_session.get(session).cloned()
    }

    fn bind(&self, session: String, owner: Owner) {
        let Ok(mut owners) = self.inner.lock() else {
            return;
        };
        // `order` may still hold forgotten ids; bounding it bounds both.
        while owners.order.len() >= MAX_SESSIONS {
            let Some(oldest) = owners.order.pop_front() else {
                break;
            };
            owners.by_session.remove(&oldest);
        }
        if owners.by_session.insert(session.clone(), owner).is_none() {
            owners.order.push_back(session);
        }
    }

    fn forget(&self, session: &str) {
        if let Ok(mut owners) = self.inner.lock() {
            owners.by_session.remove(session);
        }
    }
}

fn owner_of(request: &Request) -> Owner {
    request
        .extensions()
        .get::<Verified<OktaClaims>>()
        .map(|v| {
            let claims = v.claims();
            (claims.iss.clone(), claims.sub.clone().unwrap_or_default())
        })
        .unwrap_or_default()
}

fn session_id(headers: &HeaderMap) -> Option<String> {
    headers
        .get(SESSION_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

fn not_found() -> Response {
    let body = json!({"jsonrpc": "2.0", "id": null,
        "error": {"code": -32001, "message": "Session not found"}});
    (StatusCode::NOT_FOUND, axum::Json(body)).into_response()
}

/// The middleware (inside the auth layer, which puts the claims in place).
pub(crate) async fn bind_sessions(
    State(owners): State<Arc<SessionOwners>>,
    request: Request,
    next: Next,
) -> Response {
    let owner = owner_of(&request);
    let Some(session) = session_id(request.headers()) else {
        // No session yet: an initialize may open one, owned by this caller.
        let response = next.run(request).await;
        if response.status().is_success()
            && let Some(opened) = session_id(response.headers())
        {
            owners.bind(opened, owner);
        }
        return response;
    };
    // Fail closed: a session without a known owner is treated as unknown.
    if owners.owner(&session).as_ref() != Some(&owner) {
        return not_found();
    }
    let delete = request.method() == Method::DELETE;
    let response = next.run(request).await;
    let status = response.status();
    if (delete && status.is_success()) || status == StatusCode::NOT_FOUND {
        owners.forget(&session);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::{MAX_SESSIONS, SessionOwners};

    #[test]
    fn bindings_are_bounded_and_forgettable() {
        let owners = SessionOwners::default();
        let alice = ("iss".to_owned(), "alice".to_owned());
        for i in 0..(MAX_SESSIONS + 10) {
            owners.bind(format!("s{i}"), alice.clone());
        }
        assert_eq!(owners.owner("s0"), None, "the oldest was forgotten");
        assert_eq!(
            owners.owner(&format!("s{}", MAX_SESSIONS + 9)),
            Some(alice.clone())
        );
        owners.forget("s20");
        assert_eq!(owners.owner("s20"), None);
        let len = owners.inner.lock().unwrap().by_session.len();
        assert_eq!(len, MAX_SESSIONS - 1);
    }
}
