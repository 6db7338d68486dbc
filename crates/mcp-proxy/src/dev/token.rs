//! `mcp-proxy dev token --user bob`: a password-grant token from the dev
//! identity provider of a running `mcp-proxy --dev`.

use crate::error::ProxyError;

use super::{AUTH_SERVER, CLIENT_ID, CLIENT_SECRET, PASSWORD};

/// Asks the dev identity provider at `idp_base` for `user`'s access token
/// (password grant as the dev client) with `scope`.
pub async fn fetch_token(idp_base: &str, user: &str, scope: &str) -> Result<String, ProxyError> {
    let url = format!(
        "{}/oauth2/{AUTH_SERVER}/v1/token",
        idp_base.trim_end_matches('/')
    );
    let response = reqwest::Client::new()
        .post(&url)
        .basic_auth(CLIENT_ID, Some(CLIENT_SECRET))
        .form(&[
            ("grant_type", "password"),
            ("username", user),
            ("password", PASSWORD),
            ("scope", scope),
        ])
        .send()
        .await
        .map_err(|e| {
            ProxyError::DevIdp(format!(
                "no dev identity provider at {idp_base} ({e}); start `mcp-proxy --dev` first, or pass --idp"
            ))
        })?;
    let status = response.status();
    let body: serde_json::Value = response
        .json()
        .await
        .map_err(|e| ProxyError::DevIdp(format!("unexpected answer from {url}: {e}")))?;
    match body.get("access_token").and_then(|t| t.as_str()) {
        Some(token) if status.is_success() => Ok(token.to_owned()),
        _ => Err(ProxyError::DevIdp(format!(
            "token request for `{user}` failed ({status}): {}",
            body.get("error_description")
                .or_else(|| body.get("error"))
                .and_then(|v| v.as_str())
                .unwrap_or("no error description")
        ))),
    }
}
