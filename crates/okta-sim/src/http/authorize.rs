//! `GET|POST /oauth2/{id}/v1/authorize`: the authorization endpoint of custom servers
//! (RFC 6749 §4.1.1, PKCE S256 required, RFC 8707 `resource`, OIDC `nonce`).
//!
//! Order of checks: the server, then the request's parameters (no duplicates), `client_id`
//! and `redirect_uri` — failures there show an error page and never redirect (RFC 6749
//! §4.1.2.1) — then everything else, whose failures redirect back with `error`, `state` and
//! `iss` (RFC 9207). A `login_hint` naming an active user (or, on POST, the `login` the
//! sign-in page submits) signs in at once; otherwise the sign-in page is shown. Consent is
//! skipped.

use std::sync::Arc;
use std::time::Instant;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, RawQuery, State};
use axum::response::{IntoResponse, Response};
use http::header::{CACHE_CONTROL, CONTENT_TYPE, LOCATION};
use http::{HeaderMap, HeaderValue, StatusCode};
use url::Url;

use super::errors::unknown_auth_server;
use super::signin_page::{self, SignInPage};
use crate::codes::CodeGrant;
use crate::config::{AuthServerId, GrantType, SimUser};
use crate::form::TokenForm;
use crate::grants::authorize_scopes;
use crate::redirect_uri::{check_resource, form_action_source};
use crate::state::{ClientRecord, ServerState, SimState, lock, read};
use crate::tokens::{random_id, unix_now};

/// Longest `state` / `nonce` accepted.
const MAX_ECHO_CHARS: usize = 2048;

/// Authorization request parameters the sign-in page posts back.
const CARRIED: [&str; 10] = [
    "client_id",
    "redirect_uri",
    "response_type",
    "response_mode",
    "scope",
    "state",
    "nonce",
    "code_challenge",
    "code_challenge_method",
    "resource",
];

pub(crate) async fn authorize_get(
    State(state): State<Arc<SimState>>,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
) -> Response {
    let params = TokenForm::parse(query.unwrap_or_default().as_bytes());
    authorize(&state, &id, params, Method::Get)
}

pub(crate) async fn authorize_post(
    State(state): State<Arc<SimState>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let is_form = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|m| {
            m.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        });
    let params = match body {
        Ok(body) if is_form => TokenForm::parse(&body),
        Ok(_) => {
            Err("The request must have Content-Type application/x-www-form-urlencoded.".to_owned())
        }
        Err(rejection) => Err(format!("The request body could not be read: {rejection}")),
    };
    authorize(&state, &id, params, Method::Post)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Method {
    Get,
    Post,
}

/// A request that passed the checks that decide where errors go.
struct Redirectable<'a> {
    client: &'a ClientRecord,
    redirect_uri: &'a str,
    redirect_url: Url,
    state: Option<&'a str>,
}

/// A request that passed every check.
struct Valid<'a> {
    target: Redirectable<'a>,
    checked: Checked<'a>,
}

/// What the checks found.
struct Checked<'a> {
    scopes: Vec<String>,
    challenge: String,
    nonce: Option<&'a str>,
    resource: Option<&'a str>,
    prompt_none: bool,
}

fn authorize(
    state: &SimState,
    server_id: &str,
    params: Result<TokenForm, String>,
    method: Method,
) -> Response {
    let Some(server) = state.server(&AuthServerId::Custom(server_id.to_owned())) else {
        return unknown_auth_server(server_id);
    };
    let params = match params {
        Ok(params) => params,
        Err(why) => return signin_page::error(StatusCode::BAD_REQUEST, "invalid_request", &why),
    };
    let target = match redirect_target(state, &params) {
        Ok(target) => target,
        Err((code, why)) => return signin_page::error(StatusCode::BAD_REQUEST, code, &why),
    };
    let status = match method {
        Method::Get => StatusCode::FOUND,
        Method::Post => StatusCode::SEE_OTHER,
    };
    if target.state.is_some_and(|s| s.len() > MAX_ECHO_CHARS) {
        let target = Redirectable {
            state: None,
            ..target
        };
        let why = "The 'state' parameter is too long.";
        return redirect_error(server, &target, status, "invalid_request", why);
    }
    let valid = match check(server, &params, &target) {
        Ok(checked) => Valid { target, checked },
        Err((code, why)) => return redirect_error(server, &target, status, code, &why),
    };
    let (login, from_page) = match (method, params.get("login")) {
        (Method::Post, Some(login)) => (Some(login), true),
        _ => (params.get("login_hint"), false),
    };
    let user = login.and_then(|l| state.active_user(l));
    match user {
        Some(user) => issue_code(state, server, &valid, user, status),
        None if valid.checked.prompt_none => redirect_error(
            server,
            &valid.target,
            status,
            "login_required",
            "The user is not signed in and prompt=none forbids the sign-in page.",
        ),
        None => {
            let notice = (from_page && login.is_some())
                .then_some("That user does not exist or is not active; choose another.");
            sign_in_page(state, server_id, &params, &valid, notice)
        }
    }
}

/// `client_id` and `redirect_uri`: errors here are shown, never redirected.
fn redirect_target<'a>(
    state: &'a SimState,
    params: &'a TokenForm,
) -> Result<Redirectable<'a>, (&'static str, String)> {
    let client_id = params.get("client_id").ok_or((
        "invalid_request",
        "The request has no 'client_id'.".to_owned(),
    ))?;
    let client = state.client(client_id).ok_or((
        "invalid_client",
        "The client_id is not a client of this org (unknown client).".to_owned(),
    ))?;
    let redirect_uri = params.get("redirect_uri").ok_or((
        "invalid_request",
        "The request has no 'redirect_uri'; it is required.".to_owned(),
    ))?;
    if !client
        .config
        .redirect_uris
        .iter()
        .any(|r| r == redirect_uri)
    {
        return Err((
            "invalid_request",
            "The 'redirect_uri' parameter must be a Login redirect URI registered for the \
             client (exact match)."
                .to_owned(),
        ));
    }
    let redirect_url = Url::parse(redirect_uri).map_err(|_| {
        (
            "invalid_request",
            "The registered redirect URI cannot be parsed.".to_owned(),
        )
    })?;
    Ok(Redirectable {
        client,
        redirect_uri,
        redirect_url,
        state: params.get("state"),
    })
}

/// Every check whose failure is redirected back to the client: `(error, description)`.
fn check<'a>(
    server: &ServerState,
    params: &'a TokenForm,
    target: &Redirectable<'a>,
) -> Result<Checked<'a>, (&'static str, String)> {
    match params.get("response_type") {
        None => {
            return Err((
                "invalid_request",
                "The request has no 'response_type'.".into(),
            ));
        }
        Some("code") => {}
        Some(_) => {
            return Err((
                "unsupported_response_type",
                "Only response_type=code is supported.".into(),
            ));
        }
    }
    if !target
        .client
        .config
        .grants
        .contains(&GrantType::AuthorizationCode)
    {
        return Err((
            "unauthorized_client",
            "The client is not allowed to use the authorization_code grant.".into(),
        ));
    }
    if params.get("response_mode").is_some_and(|m| m != "query") {
        return Err((
            "invalid_request",
            "Only response_mode=query is supported.".into(),
        ));
    }
    let challenge = crate::pkce::check_challenge(
        params.get("code_challenge"),
        params.get("code_challenge_method"),
    )
    .map_err(|why| ("invalid_request", why))?;
    let nonce = params.get("nonce");
    if nonce.is_some_and(|n| n.len() > MAX_ECHO_CHARS) {
        return Err((
            "invalid_request",
            "The 'nonce' parameter is too long.".into(),
        ));
    }
    let scopes = authorize_scopes(server, target.client, params.get("scope"))
        .map_err(|error| ("invalid_scope", error.description().to_owned()))?;
    let resource = params.get("resource");
    if let Some(resource) = resource {
        check_resource(resource).map_err(|why| ("invalid_target", why))?;
        let served =
            resource == server.audience || read(&server.resources).iter().any(|r| r == resource);
        if !served {
            return Err((
                "invalid_target",
                "The resource is not served by this authorization server.".into(),
            ));
        }
    }
    let prompt_none = params
        .get("prompt")
        .is_some_and(|p| p.split(' ').any(|v| v == "none"));
    Ok(Checked {
        scopes,
        challenge,
        nonce,
        resource,
        prompt_none,
    })
}

fn issue_code(
    state: &SimState,
    server: &ServerState,
    valid: &Valid<'_>,
    user: &SimUser,
    status: StatusCode,
) -> Response {
    let ids = random_id(32).and_then(|code| Ok((code, random_id(16)?)));
    let Ok((code, grant_id)) = ids else {
        return redirect_error(
            server,
            &valid.target,
            status,
            "server_error",
            "The random generator failed.",
        );
    };
    let grant = CodeGrant {
        server: server.id.clone(),
        client_id: valid.target.client.config.id.clone(),
        redirect_uri: valid.target.redirect_uri.to_owned(),
        challenge: valid.checked.challenge.clone(),
        login: user.login().to_owned(),
        scopes: valid.checked.scopes.clone(),
        nonce: valid.checked.nonce.map(str::to_owned),
        resource: valid.checked.resource.map(str::to_owned),
        auth_time: unix_now(),
        grant_id,
    };
    if !lock(&state.codes).insert(&code, grant, Instant::now()) {
        return redirect_error(
            server,
            &valid.target,
            status,
            "temporarily_unavailable",
            "Too many outstanding authorization codes; retry shortly.",
        );
    }
    tracing::debug!(
        client_id = valid.target.client.config.id.as_str(),
        login = user.login(),
        "okta-sim issued an authorization code"
    );
    redirect(server, &valid.target, status, &[("code", &code)])
}

fn redirect_error(
    server: &ServerState,
    target: &Redirectable<'_>,
    status: StatusCode,
    code: &str,
    description: &str,
) -> Response {
    tracing::debug!(error = code, "okta-sim authorization request refused");
    redirect(
        server,
        target,
        status,
        &[("error", code), ("error_description", description)],
    )
}

fn redirect(
    server: &ServerState,
    target: &Redirectable<'_>,
    status: StatusCode,
    pairs: &[(&str, &str)],
) -> Response {
    let mut url = target.redirect_url.clone();
    {
        let mut query = url.query_pairs_mut();
        for (name, value) in pairs {
            query.append_pair(name, value);
        }
        if let Some(state) = target.state {
            query.append_pair("state", state);
        }
        query.append_pair("iss", &server.issuer);
    }
    let mut response = status.into_response();
    let headers = response.headers_mut();
    match HeaderValue::from_str(url.as_str()) {
        Ok(location) => {
            headers.insert(LOCATION, location);
        }
        Err(_) => {
            return signin_page::error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "The redirect URI cannot be put in a Location header.",
            );
        }
    }
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

fn sign_in_page(
    state: &SimState,
    server_id: &str,
    params: &TokenForm,
    valid: &Valid<'_>,
    notice: Option<&str>,
) -> Response {
    let mut users: Vec<&SimUser> = state
        .users
        .keys()
        .filter_map(|login| state.active_user(login))
        .collect();
    users.sort_by(|a, b| a.login().cmp(b.login()));
    let hidden = CARRIED
        .iter()
        .filter_map(|name| params.get(name).map(|value| (*name, value)))
        .collect();
    let config = &valid.target.client.config;
    signin_page::sign_in(&SignInPage {
        server_id,
        client_name: config.name.as_deref().unwrap_or(&config.id),
        scopes: &valid.checked.scopes,
        users,
        hidden,
        notice,
        redirect_source: form_action_source(&valid.target.redirect_url),
    })
}
