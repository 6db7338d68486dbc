//! Which scopes a token request gets: requested (or default) scopes, checked against the
//! server's scopes and the client's allowed scopes.

use crate::client_auth::AuthenticatedClient;
use crate::http::errors::OAuthError;
use crate::state::{OIDC_SCOPES, ServerState};

/// At most this many scopes per request.
const MAX_SCOPES: usize = 50;

/// Resolves the granted scopes. `allow_oidc` is false for client credentials, which
/// cannot carry OpenID Connect scopes (no user).
pub(crate) fn resolve(
    server: &ServerState,
    client: &AuthenticatedClient<'_>,
    requested: Option<&str>,
    allow_oidc: bool,
) -> Result<Vec<String>, OAuthError> {
    let scopes = match requested {
        Some(requested) => parse(requested)?,
        None if server.default_scopes.is_empty() => {
            return Err(OAuthError::invalid_scope(
                "The authorization server resource does not have any configured default scopes, \
                 'scope' must be provided.",
            ));
        }
        None => server.default_scopes.clone(),
    };
    let unknown: Vec<&str> = scopes
        .iter()
        .map(String::as_str)
        .filter(|s| !server.has_scope(s))
        .collect();
    if !unknown.is_empty() {
        return Err(OAuthError::invalid_scope(format!(
            "One or more scopes are not configured for the authorization server resource: {}",
            shown(&unknown)
        )));
    }
    if !allow_oidc {
        let oidc: Vec<&str> = scopes
            .iter()
            .map(String::as_str)
            .filter(|s| OIDC_SCOPES.contains(s))
            .collect();
        if !oidc.is_empty() {
            return Err(OAuthError::invalid_scope(format!(
                "Client credentials requests cannot contain OpenID Connect scopes: {}",
                shown(&oidc)
            )));
        }
    }
    if let Some(allowed) = &client.record.config.scopes {
        let denied: Vec<&str> = scopes
            .iter()
            .map(String::as_str)
            .filter(|s| !allowed.iter().any(|a| a == s))
            .collect();
        if !denied.is_empty() {
            return Err(OAuthError::invalid_scope(format!(
                "The client is not allowed to request these scopes: {}",
                shown(&denied)
            )));
        }
    }
    Ok(scopes)
}

/// Splits a `scope` parameter (RFC 6749 §3.3), dropping duplicates, keeping order.
pub(crate) fn parse(requested: &str) -> Result<Vec<String>, OAuthError> {
    let mut scopes: Vec<String> = Vec::new();
    for scope in requested.split(' ').filter(|s| !s.is_empty()) {
        // scope-token = 1*( %x21 / %x23-5B / %x5D-7E )
        let valid = scope
            .bytes()
            .all(|b| b == 0x21 || (0x23..=0x5B).contains(&b) || (0x5D..=0x7E).contains(&b));
        if !valid {
            return Err(OAuthError::invalid_scope(
                "The 'scope' parameter contains characters RFC 6749 §3.3 does not allow.",
            ));
        }
        if !scopes.iter().any(|s| s == scope) {
            scopes.push(scope.to_owned());
        }
        if scopes.len() > MAX_SCOPES {
            return Err(OAuthError::invalid_scope("Too many scopes requested."));
        }
    }
    if scopes.is_empty() {
        return Err(OAuthError::invalid_scope("The 'scope' parameter is empty."));
    }
    Ok(scopes)
}

fn shown(scopes: &[&str]) -> String {
    scopes
        .iter()
        .map(|s| s.chars().take(100).collect::<String>())
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::parse;

    #[test]
    fn parses_space_delimited_scopes() {
        assert_eq!(parse("a  b a").unwrap(), vec!["a", "b"]);
        assert!(parse("   ").is_err());
        assert!(parse("a\"b").is_err());
        assert!(parse("a\\b").is_err());
        assert!(parse("ok:scope mcp:read").is_ok());
    }
}
