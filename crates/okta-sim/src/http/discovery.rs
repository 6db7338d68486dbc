//! Discovery documents: OpenID Connect Discovery 1.0 and RFC 8414 metadata.
//!
//! Okta serves both documents for the org server at `/.well-known/…` and for each custom
//! server at `/oauth2/{id}/.well-known/…`. Okta does not serve the RFC 8414 path-inserted
//! form (`/.well-known/oauth-authorization-server/oauth2/{id}`), and neither does the
//! simulator. The documents list what the simulator implements, not Okta's full feature list.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::errors::unknown_auth_server;
use crate::client_auth::{ASSERTION_ALGORITHMS, AUTH_METHODS};
use crate::config::AuthServerId;
use crate::grants;
use crate::state::{ServerState, SimState};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flavor {
    OpenIdConfiguration,
    OAuthAuthorizationServer,
}

pub(crate) async fn org_openid(State(state): State<Arc<SimState>>) -> Response {
    Json(document(&state.org, Flavor::OpenIdConfiguration)).into_response()
}

pub(crate) async fn org_oauth(State(state): State<Arc<SimState>>) -> Response {
    Json(document(&state.org, Flavor::OAuthAuthorizationServer)).into_response()
}

pub(crate) async fn custom_openid(
    State(state): State<Arc<SimState>>,
    Path(id): Path<String>,
) -> Response {
    custom(&state, &id, Flavor::OpenIdConfiguration)
}

pub(crate) async fn custom_oauth(
    State(state): State<Arc<SimState>>,
    Path(id): Path<String>,
) -> Response {
    custom(&state, &id, Flavor::OAuthAuthorizationServer)
}

fn custom(state: &SimState, id: &str, flavor: Flavor) -> Response {
    match state.server(&AuthServerId::Custom(id.to_owned())) {
        Some(server) => Json(document(server, flavor)).into_response(),
        None => unknown_auth_server(id),
    }
}

fn document(server: &ServerState, flavor: Flavor) -> Value {
    let grant_types: Vec<&str> = grants::supported(server)
        .iter()
        .map(|g| g.as_str())
        .collect();
    let mut doc = json!({
        "issuer": server.issuer,
        "authorization_endpoint": server.authorization_endpoint(),
        "token_endpoint": server.token_endpoint(),
        "jwks_uri": server.jwks_uri(),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": grant_types,
        "scopes_supported": server.scopes,
        "token_endpoint_auth_methods_supported": AUTH_METHODS,
        "token_endpoint_auth_signing_alg_values_supported": ASSERTION_ALGORITHMS,
        "code_challenge_methods_supported": ["S256"],
        "request_parameter_supported": false,
        "registration_endpoint": server.registration_endpoint,
        "authorization_response_iss_parameter_supported": true,
    });
    if flavor == Flavor::OpenIdConfiguration
        && let Value::Object(map) = &mut doc
    {
        map.insert("subject_types_supported".into(), json!(["public"]));
        map.insert(
            "id_token_signing_alg_values_supported".into(),
            json!(["RS256"]),
        );
        map.insert(
            "claims_supported".into(),
            json!([
                "iss",
                "ver",
                "sub",
                "aud",
                "iat",
                "exp",
                "jti",
                "auth_time",
                "amr",
                "idp",
                "nonce",
                "name",
                "email",
                "preferred_username",
                "at_hash",
                "groups"
            ]),
        );
        map.insert("claims_parameter_supported".into(), json!(false));
    }
    doc
}
