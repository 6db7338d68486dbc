//! `private_key_jwt` client assertions (RFC 7523 §2.2 and §3, OIDC Core §9).
//!
//! Accepted audiences: the exact token endpoint URL of the server the request was sent to
//! (what Okta documents), and that server's issuer identifier (what RFC 7523bis recommends
//! and some MCP SDKs send). Nothing else, in particular not another server's endpoint.

use jsonwebtoken::{Algorithm, Validation};
use serde_json::{Map, Value};

use crate::form::TokenForm;
use crate::http::errors::OAuthError;
use crate::state::{ClientRecord, ServerState, SimState, lock};
use crate::tokens::unix_now;

use super::replay::ReplayError;

/// The only accepted `client_assertion_type`.
pub(crate) const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// Assertions may not be valid for longer than this (seconds from now to `exp`).
const MAX_LIFETIME_SECS: i64 = 3600;

/// Accepted clock difference between client and simulator, in seconds.
const CLOCK_SKEW_SECS: i64 = 30;

/// Longer assertions are refused before any parsing.
const MAX_ASSERTION_BYTES: usize = 16 * 1024;

/// Longest accepted `jti`.
const MAX_JTI_CHARS: usize = 256;

/// Verifies the client assertion of `form` and returns the authenticated client.
pub(crate) fn verify<'a>(
    state: &'a SimState,
    server: &ServerState,
    form: &TokenForm,
) -> Result<&'a ClientRecord, OAuthError> {
    let assertion_type = form.get("client_assertion_type").ok_or_else(|| {
        OAuthError::invalid_request("client_assertion was sent without client_assertion_type.")
    })?;
    if assertion_type != ASSERTION_TYPE {
        return Err(OAuthError::invalid_client(format!(
            "The client_assertion_type must be '{ASSERTION_TYPE}'."
        )));
    }
    let assertion = form.get("client_assertion").ok_or_else(|| {
        OAuthError::invalid_request("client_assertion_type was sent without client_assertion.")
    })?;
    if assertion.len() > MAX_ASSERTION_BYTES {
        return Err(invalid("The client_assertion is too large."));
    }
    let header = jsonwebtoken::decode_header(assertion).map_err(|_| {
        invalid("The client_assertion is not a well-formed JWT with a supported 'alg'.")
    })?;
    let alg = header.alg;
    if matches!(alg, Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512) {
        return Err(invalid(
            "The client_assertion is signed with HMAC (client_secret_jwt), which this client \
             cannot use; sign it with the private key of the registered public key.",
        ));
    }
    if !super::ASSERTION_ALGORITHMS.contains(&format!("{alg:?}").as_str()) {
        return Err(invalid(format!(
            "The client_assertion 'alg' {alg:?} is not supported; use one of {:?}.",
            super::ASSERTION_ALGORITHMS
        )));
    }

    // Find the client: client_id in the body if sent, else the (unverified) `sub`.
    let unverified: Map<String, Value> = jsonwebtoken::dangerous::insecure_decode_claims(assertion)
        .map_err(|_| invalid("The client_assertion claims are not a JSON object."))?;
    let claimed_sub = unverified.get("sub").and_then(Value::as_str);
    let client_id = match (form.get("client_id"), claimed_sub) {
        (Some(id), Some(sub)) if id != sub => {
            return Err(invalid(
                "The client_assertion 'sub' does not match the client_id.",
            ));
        }
        (Some(id), _) => id,
        (None, Some(sub)) => sub,
        (None, None) => return Err(invalid("The client_assertion has no 'sub' claim.")),
    };
    let record = state
        .client(client_id)
        .ok_or_else(|| invalid("Client authentication failed: unknown client."))?;
    let keys = record.keys.as_ref().ok_or_else(|| {
        invalid("The client is not registered for private_key_jwt; it must use its client_secret.")
    })?;

    let mut validation = Validation::new(alg);
    validation.validate_exp = false;
    validation.validate_nbf = false;
    validation.validate_aud = false;
    validation.required_spec_claims.clear();
    let mut candidates = keys.candidates(header.kid.as_deref(), alg).peekable();
    if candidates.peek().is_none() {
        return Err(invalid(
            "No public key registered for the client matches the client_assertion's kid and alg.",
        ));
    }
    let claims = candidates
        .find_map(|key| {
            jsonwebtoken::decode::<Map<String, Value>>(assertion, &key.key, &validation).ok()
        })
        .map(|data| data.claims)
        .ok_or_else(|| invalid("The client_assertion signature is invalid."))?;

    check_claims(&claims, &record.config.id, server)?;
    let exp = claims.get("exp").and_then(Value::as_i64).unwrap_or(0);
    let jti = claims
        .get("jti")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let now = unix_now();
    match lock(&state.replay).check_and_remember(
        &record.config.id,
        jti,
        exp.saturating_add(CLOCK_SKEW_SECS),
        now,
    ) {
        Ok(()) => {}
        Err(ReplayError::Replayed) => {
            return Err(invalid("The client_assertion 'jti' has already been used."));
        }
        Err(ReplayError::Full) => {
            return Err(OAuthError::temporarily_unavailable(
                "Too many unexpired client assertions are remembered; retry later.",
            ));
        }
    }
    tracing::debug!(client_id = %record.config.id, "private_key_jwt client assertion accepted");
    Ok(record)
}

/// `iss`, `sub`, `aud`, `exp`, `nbf`, `iat` and `jti` of a verified assertion.
fn check_claims(
    claims: &Map<String, Value>,
    client_id: &str,
    server: &ServerState,
) -> Result<(), OAuthError> {
    let iss = claims.get("iss").and_then(Value::as_str);
    let sub = claims.get("sub").and_then(Value::as_str);
    if iss != Some(client_id) || sub != Some(client_id) {
        return Err(invalid(
            "The client_assertion 'iss' and 'sub' must both be the client_id.",
        ));
    }
    let token_endpoint = server.token_endpoint();
    let accepted = |aud: &str| aud == token_endpoint || aud == server.issuer;
    let aud_ok = match claims.get("aud") {
        Some(Value::String(aud)) => accepted(aud),
        Some(Value::Array(auds)) => auds.iter().filter_map(Value::as_str).any(accepted),
        _ => false,
    };
    if !aud_ok {
        return Err(invalid(format!(
            "The client_assertion 'aud' must be the token endpoint '{token_endpoint}'."
        )));
    }
    let now = unix_now();
    let exp = claims
        .get("exp")
        .and_then(Value::as_i64)
        .ok_or_else(|| invalid("The client_assertion has no numeric 'exp' claim."))?;
    if exp.saturating_add(CLOCK_SKEW_SECS) <= now {
        return Err(invalid("The client_assertion has expired."));
    }
    if exp.saturating_sub(now) > MAX_LIFETIME_SECS.saturating_add(CLOCK_SKEW_SECS) {
        return Err(invalid(
            "The client_assertion 'exp' is too far in the future (at most 1 hour from now).",
        ));
    }
    if let Some(nbf) = claims.get("nbf") {
        let nbf = nbf
            .as_i64()
            .ok_or_else(|| invalid("The client_assertion 'nbf' is not a number."))?;
        if nbf.saturating_sub(CLOCK_SKEW_SECS) > now {
            return Err(invalid("The client_assertion is not valid yet ('nbf')."));
        }
    }
    if let Some(iat) = claims.get("iat") {
        let iat = iat
            .as_i64()
            .ok_or_else(|| invalid("The client_assertion 'iat' is not a number."))?;
        if iat.saturating_sub(CLOCK_SKEW_SECS) > now {
            return Err(invalid(
                "The client_assertion was issued in the future ('iat').",
            ));
        }
    }
    match claims.get("jti").and_then(Value::as_str) {
        Some(jti) if !jti.is_empty() && jti.chars().count() <= MAX_JTI_CHARS => Ok(()),
        Some(_) => Err(invalid(
            "The client_assertion 'jti' must be 1 to 256 characters.",
        )),
        None => Err(invalid("The client_assertion has no 'jti' claim.")),
    }
}

fn invalid(description: impl Into<String>) -> OAuthError {
    OAuthError::invalid_client(description)
}
