//! `POST /oauth2/v1/clients`: OAuth 2.0 dynamic client registration (RFC 7591), at the path
//! Okta serves it. Open registration (no initial access token), as a dev simulator needs;
//! registered clients are org-wide, like Okta's, and bounded in number.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::response::{IntoResponse, Response};
use http::header::{CACHE_CONTROL, CONTENT_TYPE, PRAGMA};
use http::{HeaderMap, HeaderValue, StatusCode};
use serde_json::{Map, Value, json};

use crate::config::{GrantType, SimClient};
use crate::redirect_uri::check_redirect_uri;
use crate::state::{ClientRecord, SimState};
use crate::tokens::{random_id, unix_now};

/// At most this many redirect URIs per client.
const MAX_REDIRECT_URIS: usize = 10;
/// Longest `client_name`.
const MAX_NAME_CHARS: usize = 200;

pub(crate) async fn register(
    State(state): State<Arc<SimState>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    match registration(&state, &headers, body) {
        Ok(body) => respond(StatusCode::CREATED, body),
        Err(refusal) => {
            tracing::debug!(error = refusal.code, "okta-sim client registration refused");
            respond(
                refusal.status,
                json!({ "error": refusal.code, "error_description": refusal.description }),
            )
        }
    }
}

struct Refusal {
    status: StatusCode,
    code: &'static str,
    description: String,
}

fn metadata(description: impl Into<String>) -> Refusal {
    Refusal {
        status: StatusCode::BAD_REQUEST,
        code: "invalid_client_metadata",
        description: description.into(),
    }
}

fn registration(
    state: &SimState,
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Value, Refusal> {
    let is_json = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json"));
    if !is_json {
        return Err(metadata(
            "The request must have Content-Type application/json.",
        ));
    }
    let body = body.map_err(|e| metadata(format!("The request body could not be read: {e}")))?;
    let request: Map<String, Value> = serde_json::from_slice(&body)
        .map_err(|_| metadata("The request body must be a JSON object of client metadata."))?;

    let auth_method = match request.get("token_endpoint_auth_method") {
        None => "client_secret_basic",
        Some(Value::String(m))
            if matches!(
                m.as_str(),
                "none" | "client_secret_basic" | "client_secret_post"
            ) =>
        {
            m.as_str()
        }
        Some(_) => {
            return Err(metadata(
                "token_endpoint_auth_method must be none, client_secret_basic or \
                 client_secret_post.",
            ));
        }
    };
    let public = auth_method == "none";
    let grant_names =
        strings(&request, "grant_types")?.unwrap_or_else(|| vec!["authorization_code".to_owned()]);
    let mut grants = Vec::new();
    for name in &grant_names {
        let grant = match name.as_str() {
            "authorization_code" => GrantType::AuthorizationCode,
            "refresh_token" => GrantType::RefreshToken,
            "client_credentials" if !public => GrantType::ClientCredentials,
            _ => {
                return Err(metadata(format!(
                    "grant_types may contain authorization_code, refresh_token and (for \
                     confidential clients) client_credentials, not `{}`.",
                    shown(name)
                )));
            }
        };
        if !grants.contains(&grant) {
            grants.push(grant);
        }
    }
    let response_types = strings(&request, "response_types")?.unwrap_or_else(|| {
        if grants.contains(&GrantType::AuthorizationCode) {
            vec!["code".to_owned()]
        } else {
            Vec::new()
        }
    });
    if response_types.iter().any(|r| r != "code") {
        return Err(metadata("response_types may only contain code."));
    }
    if grants.contains(&GrantType::AuthorizationCode) != response_types.iter().any(|r| r == "code")
    {
        return Err(metadata(
            "The authorization_code grant and the code response type go together (RFC 7591 §2.1).",
        ));
    }
    let redirect_uris = strings(&request, "redirect_uris")?.unwrap_or_default();
    if grants.contains(&GrantType::AuthorizationCode) && redirect_uris.is_empty() {
        return Err(Refusal {
            code: "invalid_redirect_uri",
            ..metadata("redirect_uris is required for the authorization_code grant.")
        });
    }
    if redirect_uris.len() > MAX_REDIRECT_URIS {
        return Err(Refusal {
            code: "invalid_redirect_uri",
            ..metadata(format!(
                "At most {MAX_REDIRECT_URIS} redirect_uris are accepted."
            ))
        });
    }
    for uri in &redirect_uris {
        check_redirect_uri(uri).map_err(|why| Refusal {
            code: "invalid_redirect_uri",
            ..metadata(format!("Invalid redirect URI: {why}."))
        })?;
    }
    let client_name = match request.get("client_name") {
        None => None,
        Some(Value::String(name)) if name.chars().count() <= MAX_NAME_CHARS => Some(name.clone()),
        Some(_) => {
            return Err(metadata(format!(
                "client_name must be a string of at most {MAX_NAME_CHARS} characters."
            )));
        }
    };
    let scope = match request.get("scope") {
        None => None,
        Some(Value::String(scope)) => Some(scope.clone()),
        Some(_) => return Err(metadata("scope must be a space-separated string.")),
    };
    // Like Okta, the registered `scope` does not limit what the client may ask
    // for later (the authorization server's scopes and policies do): MCP clients
    // register with the scope of their first challenge and step up from there.
    // It is still checked for syntax and echoed, as RFC 7591 §3.2.1 expects.
    if let Some(scope) = &scope {
        crate::grants::parse_scopes(scope)
            .map_err(|e| metadata(format!("scope: {}", e.description())))?;
    }

    let server_error = |_| Refusal {
        status: StatusCode::INTERNAL_SERVER_ERROR,
        code: "server_error",
        description: "The random generator failed.".to_owned(),
    };
    let client_id = loop {
        let id = format!(
            "0oa{}",
            random_id(12)
                .map_err(server_error)?
                .replace(['-', '_'], "x")
        );
        if state.client(&id).is_none() {
            break id;
        }
    };
    let secret = if public {
        None
    } else {
        Some(random_id(32).map_err(server_error)?)
    };
    let mut client = match &secret {
        Some(secret) => SimClient::secret(client_id.clone(), secret.clone()),
        None => SimClient::public(client_id.clone()),
    }
    .grants(grants)
    .redirect_uris(redirect_uris.clone());
    if let Some(name) = &client_name {
        client = client.name(name.clone());
    }
    let record = ClientRecord {
        config: client,
        keys: None,
    };
    if !state.registry.insert(record) {
        return Err(Refusal {
            status: StatusCode::SERVICE_UNAVAILABLE,
            code: "temporarily_unavailable",
            description: "The simulator's limit of dynamically registered clients is reached \
                          (OktaSimBuilder::max_registered_clients)."
                .to_owned(),
        });
    }
    tracing::debug!(client_id, public, "okta-sim registered a client");
    let mut response = json!({
        "client_id": client_id,
        "client_id_issued_at": unix_now(),
        "redirect_uris": redirect_uris,
        "grant_types": grant_names,
        "response_types": response_types,
        "token_endpoint_auth_method": auth_method,
        "application_type": if public { "native" } else { "web" },
    });
    if let Some(secret) = secret {
        response["client_secret"] = json!(secret);
        response["client_secret_expires_at"] = json!(0);
    }
    if let Some(name) = client_name {
        response["client_name"] = json!(name);
    }
    if let Some(scope) = scope {
        response["scope"] = json!(scope);
    }
    Ok(response)
}

/// An optional array-of-strings member.
fn strings(request: &Map<String, Value>, name: &str) -> Result<Option<Vec<String>>, Refusal> {
    let Some(value) = request.get(name) else {
        return Ok(None);
    };
    let invalid = || metadata(format!("{name} must be an array of strings."));
    let items = value.as_array().ok_or_else(invalid)?;
    if items.len() > 64 {
        return Err(metadata(format!("{name} has too many entries.")));
    }
    items
        .iter()
        .map(|v| v.as_str().map(str::to_owned).ok_or_else(invalid))
        .collect::<Result<Vec<_>, _>>()
        .map(Some)
}

fn respond(status: StatusCode, body: Value) -> Response {
    let mut response = (status, Json(body)).into_response();
    let headers = response.headers_mut();
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(PRAGMA, HeaderValue::from_static("no-cache"));
    response
}

fn shown(value: &str) -> String {
    value.chars().take(100).collect()
}
