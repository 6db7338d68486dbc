//! Authorization server discovery: RFC 8414 metadata, with the fallbacks Okta
//! needs (`{issuer}/.well-known/oauth-authorization-server` and OpenID
//! Connect discovery).

use serde::{Deserialize, Serialize};

use crate::Error;
use crate::fetch::{FetchFailure, get_document, parse_secure_url};

/// Authorization server metadata (RFC 8414 §2 / OpenID Connect Discovery).
///
/// Only the fields this crate uses are typed; everything else the server
/// sent is kept in [`extra`](Self::extra).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuthorizationServerMetadata {
    /// The issuer identifier; [`discover`] guarantees it equals the issuer asked for.
    pub issuer: String,
    /// Token endpoint URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_endpoint: Option<String>,
    /// JWK Set URL with the keys that sign this server's tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwks_uri: Option<String>,
    /// Client authentication methods the token endpoint accepts.
    #[serde(default)]
    pub token_endpoint_auth_methods_supported: Vec<String>,
    /// Signing algorithms accepted for `private_key_jwt` client assertions.
    #[serde(default)]
    pub token_endpoint_auth_signing_alg_values_supported: Vec<String>,
    /// Grant types the server supports.
    #[serde(default)]
    pub grant_types_supported: Vec<String>,
    /// Scopes the server supports.
    #[serde(default)]
    pub scopes_supported: Vec<String>,
    /// Every other field of the document, untouched.
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

/// The well-known URLs tried, in order, for `issuer`.
///
/// 1. RFC 8414 §3.1: `https://host/.well-known/oauth-authorization-server{path}`
/// 2. Okta style: `{issuer}/.well-known/oauth-authorization-server`
/// 3. OpenID Connect: `{issuer}/.well-known/openid-configuration`
///
/// Duplicates (an issuer without a path makes 1 and 2 equal) are removed.
pub(crate) fn discovery_urls(issuer: &str) -> Result<Vec<String>, String> {
    let url = parse_secure_url(issuer)?;
    if url.query().is_some() || url.fragment().is_some() {
        return Err(format!(
            "issuer {issuer:?} must not have a query or fragment (RFC 8414 §2)"
        ));
    }
    let path = url.path().trim_end_matches('/');
    let mut origin = url.clone();
    origin.set_path("");
    let origin = origin.as_str().trim_end_matches('/').to_owned();
    let base = issuer.trim_end_matches('/');
    let mut urls = vec![format!(
        "{origin}/.well-known/oauth-authorization-server{path}"
    )];
    for candidate in [
        format!("{base}/.well-known/oauth-authorization-server"),
        format!("{base}/.well-known/openid-configuration"),
    ] {
        if !urls.contains(&candidate) {
            urls.push(candidate);
        }
    }
    Ok(urls)
}

/// Discovers the metadata of the authorization server `issuer`.
///
/// Tries the RFC 8414 path-aware well-known URL, then Okta's
/// `{issuer}/.well-known/oauth-authorization-server`, then
/// `{issuer}/.well-known/openid-configuration`, and returns the first document
/// served. The document's `issuer` must equal `issuer` exactly (RFC 8414 §3.3);
/// a mismatch is an error, never a reason to try the next URL.
///
/// `issuer` must be `https` (plain `http` only on a loopback host).
///
/// # Errors
/// [`Error::Discovery`] when no URL served a usable document (the message
/// lists each URL and why it failed), [`Error::IssuerMismatch`] when a
/// document names another issuer.
///
/// # Example
/// ```no_run
/// # async fn run() -> Result<(), okta_auth::Error> {
/// let http = reqwest::Client::new();
/// let meta = okta_auth::discover(&http, "https://example.okta.com/oauth2/default").await?;
/// println!("token endpoint: {:?}", meta.token_endpoint);
/// # Ok(()) }
/// ```
pub async fn discover(
    http: &reqwest::Client,
    issuer: &str,
) -> Result<AuthorizationServerMetadata, Error> {
    let urls = discovery_urls(issuer).map_err(|reason| Error::Discovery {
        issuer: issuer.to_owned(),
        reason,
    })?;
    let mut failures = Vec::with_capacity(urls.len());
    for url in &urls {
        match get_document(http, url).await {
            Ok(fetched) => {
                let meta: AuthorizationServerMetadata = match serde_json::from_slice(&fetched.body)
                {
                    Ok(meta) => meta,
                    Err(e) => {
                        failures.push(format!("{url}: not valid metadata JSON ({e})"));
                        continue;
                    }
                };
                if meta.issuer != issuer {
                    return Err(Error::IssuerMismatch {
                        url: url.clone(),
                        expected: issuer.to_owned(),
                        found: meta.issuer,
                    });
                }
                tracing::debug!(%url, "discovered authorization server metadata");
                return Ok(meta);
            }
            Err(FetchFailure::Status(code)) => failures.push(format!("{url}: HTTP {code}")),
            Err(FetchFailure::Other(reason)) => failures.push(format!("{url}: {reason}")),
        }
    }
    Err(Error::Discovery {
        issuer: issuer.to_owned(),
        reason: format!("no metadata document found; tried {}", failures.join("; ")),
    })
}

#[cfg(test)]
mod tests {
    use super::discovery_urls;

    #[test]
    fn urls_for_issuer_with_path() {
        let urls = discovery_urls("https://example.okta.com/oauth2/default").unwrap();
        assert_eq!(
            urls,
            vec![
                "https://example.okta.com/.well-known/oauth-authorization-server/oauth2/default",
                "https://example.okta.com/oauth2/default/.well-known/oauth-authorization-server",
                "https://example.okta.com/oauth2/default/.well-known/openid-configuration",
            ]
        );
    }

    #[test]
    fn urls_for_issuer_without_path() {
        let urls = discovery_urls("https://example.okta.com").unwrap();
        assert_eq!(
            urls,
            vec![
                "https://example.okta.com/.well-known/oauth-authorization-server",
                "https://example.okta.com/.well-known/openid-configuration",
            ]
        );
        let urls = discovery_urls("http://127.0.0.1:8080/").unwrap();
        assert_eq!(
            urls[0],
            "http://127.0.0.1:8080/.well-known/oauth-authorization-server"
        );
    }

    #[test]
    fn rejects_insecure_and_query() {
        assert!(discovery_urls("http://example.okta.com").is_err());
        assert!(discovery_urls("https://example.okta.com/?a=b").is_err());
    }
}
