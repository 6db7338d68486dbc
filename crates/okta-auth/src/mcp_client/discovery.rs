//! Finding the protected resource metadata (RFC 9728) of an MCP server and the metadata of
//! its authorization server (RFC 8414 / OpenID Connect discovery).

use url::Url;

use super::resource;
use crate::fetch::{FetchFailure, get_document, parse_secure_url};
use crate::{Error, ProtectedResourceMetadata};

const WELL_KNOWN: &str = "/.well-known/oauth-protected-resource";

/// Where to look for the metadata of `called`: the `resource_metadata` of the challenge when
/// given, else the path-aware well-known URL (`/.well-known/oauth-protected-resource/mcp` for
/// `https://h/mcp`), then the root one (RFC 9728 §3.1, MCP authorization "Protected Resource
/// Metadata Discovery").
pub(crate) fn metadata_urls(
    called: &str,
    from_challenge: Option<&str>,
) -> Result<Vec<String>, Error> {
    if let Some(url) = from_challenge {
        return Ok(vec![url.to_owned()]);
    }
    let url = resource::normalize(called).map_err(|reason| Error::ResourceMetadata {
        resource: called.to_owned(),
        reason,
    })?;
    let mut origin: Url = url.clone();
    origin.set_query(None);
    origin.set_path("");
    let origin = origin.as_str().trim_end_matches('/').to_owned();
    let path = url.path().trim_end_matches('/');
    let mut urls = Vec::with_capacity(2);
    if !path.is_empty() {
        urls.push(format!("{origin}{WELL_KNOWN}{path}"));
    }
    urls.push(format!("{origin}{WELL_KNOWN}"));
    Ok(urls)
}

/// Fetches the protected resource metadata of `called` and checks that its `resource` covers
/// `called` (see [`resource`]). Returns the metadata and the URL it came from.
pub(crate) async fn protected_resource_metadata(
    http: &reqwest::Client,
    called: &str,
    from_challenge: Option<&str>,
) -> Result<(ProtectedResourceMetadata, String), Error> {
    let urls = metadata_urls(called, from_challenge)?;
    let mut failures = Vec::with_capacity(urls.len());
    for url in &urls {
        if let Err(reason) = parse_secure_url(url) {
            failures.push(reason);
            continue;
        }
        let fetched = match get_document(http, url).await {
            Ok(fetched) => fetched,
            Err(FetchFailure::Status(code)) => {
                failures.push(format!("{url}: HTTP {code}"));
                continue;
            }
            Err(FetchFailure::Other(reason)) => {
                failures.push(format!("{url}: {reason}"));
                continue;
            }
        };
        let meta: ProtectedResourceMetadata = match serde_json::from_slice(&fetched.body) {
            Ok(meta) => meta,
            Err(e) => {
                let hint = if fetched.body.trim_ascii_start().starts_with(b"<") {
                    " (it looks like HTML)"
                } else {
                    ""
                };
                failures.push(format!("{url}: not RFC 9728 JSON{hint}: {e}"));
                continue;
            }
        };
        if !resource::covers(&meta.resource, called) {
            return Err(Error::ResourceMismatch {
                metadata_url: url.clone(),
                called: called.to_owned(),
                found: meta.resource,
            });
        }
        if meta.authorization_servers.is_empty() {
            return Err(Error::ResourceMetadata {
                resource: called.to_owned(),
                reason: format!("{url} lists no authorization_servers"),
            });
        }
        tracing::debug!(%url, resource = %meta.resource, "found protected resource metadata");
        return Ok((meta, url.clone()));
    }
    Err(Error::ResourceMetadata {
        resource: called.to_owned(),
        reason: format!("tried {}", failures.join("; ")),
    })
}

#[cfg(test)]
mod tests {
    use super::metadata_urls;

    #[test]
    fn well_known_candidates() {
        assert_eq!(
            metadata_urls("https://h/mcp/", None).unwrap(),
            [
                "https://h/.well-known/oauth-protected-resource/mcp",
                "https://h/.well-known/oauth-protected-resource"
            ]
        );
        assert_eq!(
            metadata_urls("https://h", None).unwrap(),
            ["https://h/.well-known/oauth-protected-resource"]
        );
        assert_eq!(
            metadata_urls("https://h/mcp", Some("https://x/prm")).unwrap(),
            ["https://x/prm"]
        );
        assert!(metadata_urls("nope", None).is_err());
    }
}
