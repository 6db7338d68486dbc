//! RFC 8693 token exchange at the org server: a user's ID token becomes an ID-JAG
//! (draft-ietf-oauth-identity-assertion-authz-grant) for a custom server the client has a
//! managed connection to — Okta's cross-app access.

use axum::Json;
use axum::response::{IntoResponse, Response};
use http::HeaderValue;
use http::header::{CACHE_CONTROL, PRAGMA};
use id_jag::{ID_JAG_TYP, TOKEN_TYPE_ID_JAG, TOKEN_TYPE_ID_TOKEN};
use serde_json::{Map, Value, json};

use super::scopes;
use crate::client_auth::AuthenticatedClient;
use crate::form::TokenForm;
use crate::http::errors::OAuthError;
use crate::redirect_uri::check_resource;
use crate::state::{ServerState, SimState, read};
use crate::tokens::{KidHeader, encode_jwt, random_id, unix_now};

/// Lifetime of an ID-JAG (Okta issues 5-minute assertions).
pub(crate) const ID_JAG_TTL_SECS: i64 = 300;

pub(super) async fn grant(
    state: &SimState,
    org: &ServerState,
    client: &AuthenticatedClient<'_>,
    form: &TokenForm,
) -> Result<Response, OAuthError> {
    let required = |name: &str| {
        form.get(name).ok_or_else(|| {
            OAuthError::invalid_request(format!("The token exchange requires '{name}'."))
        })
    };
    let subject_token = required("subject_token")?;
    if required("subject_token_type")? != TOKEN_TYPE_ID_TOKEN {
        return Err(OAuthError::invalid_request(format!(
            "'subject_token_type' must be '{TOKEN_TYPE_ID_TOKEN}'."
        )));
    }
    if required("requested_token_type")? != TOKEN_TYPE_ID_JAG {
        return Err(OAuthError::invalid_request(format!(
            "'requested_token_type' must be '{TOKEN_TYPE_ID_JAG}'."
        )));
    }
    // The ID-JAG draft (§4.3): "`actor_token` and `actor_token_type` are not used in this
    // specification". Refused rather than ignored, so a client never believes it obtained a
    // delegated (`act`) assertion.
    for unused in ["actor_token", "actor_token_type"] {
        if form.get(unused).is_some() {
            return Err(OAuthError::invalid_request(format!(
                "The ID-JAG token exchange does not use '{unused}'."
            )));
        }
    }
    let audience = required("audience")?;
    let resources = requested_resources(form)?;
    let (server_id, target) = state
        .custom
        .iter()
        .find(|(_, s)| s.issuer == audience)
        .ok_or_else(|| {
            OAuthError::invalid_target("The 'audience' is not an authorization server of this org.")
        })?;
    if !state.cross_app.is_managed(client.id(), server_id) {
        return Err(OAuthError::invalid_target(
            "The client has no managed connection to the requested audience.",
        ));
    }
    let verifiers = state.cross_app.verifiers(state).await?;
    let id_token = verifiers
        .id_tokens
        .verify(subject_token)
        .await
        .map_err(|e| match e {
            okta_auth::Error::Expired => OAuthError::invalid_grant("The subject token is expired."),
            other => OAuthError::invalid_grant(format!("The subject token is invalid: {other}.")),
        })?;
    // The ID-JAG draft (§4.3): the subject token's audience must be the client that
    // presents it; an agent cannot exchange an ID token issued to another app.
    if !id_token.aud.iter().any(|aud| aud == client.id()) {
        return Err(OAuthError::invalid_grant(
            "The subject token was not issued to this client.",
        ));
    }
    let user_id = id_token.sub.clone().unwrap_or_default();
    let user = state
        .users
        .values()
        .find(|u| u.user_id() == user_id)
        .and_then(|u| state.active_user(u.login()))
        .ok_or_else(|| OAuthError::invalid_grant("The subject token's user is not active."))?;
    let scopes = scopes::resolve(target, client, form.get("scope"), false)?;
    if let Some(url) = state.cross_app.consent_url(server_id) {
        return Err(OAuthError::interaction_required(
            "The user must consent to this connection first.",
            url,
        ));
    }
    let now = unix_now();
    let mut claims = Map::new();
    claims.insert("iss".into(), json!(org.issuer));
    claims.insert("sub".into(), json!(user.user_id()));
    claims.insert("aud".into(), json!(target.issuer));
    claims.insert("client_id".into(), json!(client.id()));
    claims.insert(
        "jti".into(),
        json!(format!(
            "JAG.{}",
            random_id(16).map_err(|e| OAuthError::server_error(e.to_string()))?
        )),
    );
    claims.insert("iat".into(), json!(now));
    claims.insert("exp".into(), json!(now + ID_JAG_TTL_SECS));
    claims.insert("scope".into(), json!(scopes.join(" ")));
    match resources.as_slice() {
        [] => {}
        [one] => {
            claims.insert("resource".into(), json!(one));
        }
        several => {
            claims.insert("resource".into(), json!(several));
        }
    }
    if let Some(auth_time) = id_token.raw.get("auth_time") {
        claims.insert("auth_time".into(), auth_time.clone());
    }
    let key = read(&org.keys).current();
    let id_jag = encode_jwt(&key, &KidHeader::Signing, Some(ID_JAG_TYP), &claims)
        .map_err(|e| OAuthError::server_error(e.to_string()))?;
    tracing::debug!(
        client_id = client.id(),
        audience,
        "okta-sim issued an ID-JAG"
    );
    let body: Value = json!({
        "access_token": id_jag,
        "issued_token_type": TOKEN_TYPE_ID_JAG,
        "token_type": "N_A",
        "expires_in": ID_JAG_TTL_SECS,
        "scope": scopes.join(" "),
    });
    let mut response = Json(body).into_response();
    let headers = response.headers_mut();
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(PRAGMA, HeaderValue::from_static("no-cache"));
    Ok(response)
}

/// The RFC 8707 resources of the request, each an absolute URI without fragment
/// (`invalid_target` otherwise), in request order without duplicates. The ID-JAG's
/// `resource` claim is "either a single URI or an array of URIs" (draft §3.1): a string
/// for one, an array for several.
fn requested_resources(form: &TokenForm) -> Result<Vec<&str>, OAuthError> {
    let mut resources: Vec<&str> = Vec::with_capacity(form.resources().len());
    for resource in form.resources() {
        check_resource(resource).map_err(|why| {
            OAuthError::invalid_target(format!("The 'resource' is not valid: {why}."))
        })?;
        if !resources.contains(&resource.as_str()) {
            resources.push(resource);
        }
    }
    Ok(resources)
}
