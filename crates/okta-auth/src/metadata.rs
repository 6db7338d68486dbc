//! RFC 9728 OAuth 2.0 Protected Resource Metadata.

use axum::Router;
use axum::response::IntoResponse;
use axum::routing::get;
use http::HeaderValue;
use http::header::{CACHE_CONTROL, CONTENT_TYPE};
use serde::{Deserialize, Serialize};
use url::Url;

use crate::Error;

const WELL_KNOWN: &str = "/.well-known/oauth-protected-resource";

/// Protected resource metadata (RFC 9728 §2): tells clients which
/// authorization servers issue tokens for this resource and which scopes exist.
///
/// ```
/// use okta_auth::ProtectedResourceMetadata;
/// let meta = ProtectedResourceMetadata::new("https://api.example.com/mcp")
///     .authorization_server("https://example.okta.com/oauth2/default")
///     .scopes(["mcp:read", "mcp:write"]);
/// assert_eq!(meta.well_known_path().unwrap(), "/.well-known/oauth-protected-resource/mcp");
/// assert_eq!(
///     meta.metadata_url().unwrap(),
///     "https://api.example.com/.well-known/oauth-protected-resource/mcp"
/// );
/// let app: axum::Router = meta.router().unwrap(); // serves the JSON at that path
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ProtectedResourceMetadata {
    /// The resource identifier (an https URL without fragment).
    pub resource: String,
    /// Issuer identifiers of the authorization servers.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub authorization_servers: Vec<String>,
    /// Scopes used to request access to this resource.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scopes_supported: Vec<String>,
    /// How bearer tokens may be sent; this crate reads only the header.
    #[serde(default = "header_only")]
    pub bearer_methods_supported: Vec<String>,
    /// Human-readable name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_name: Option<String>,
    /// URL of human-readable documentation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_documentation: Option<String>,
    /// Any further metadata fields.
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

fn header_only() -> Vec<String> {
    vec!["header".to_owned()]
}

impl ProtectedResourceMetadata {
    /// Metadata for `resource`, with `bearer_methods_supported: ["header"]`.
    pub fn new(resource: impl Into<String>) -> Self {
        Self {
            resource: resource.into(),
            authorization_servers: Vec::new(),
            scopes_supported: Vec::new(),
            bearer_methods_supported: header_only(),
            resource_name: None,
            resource_documentation: None,
            extra: serde_json::Map::new(),
        }
    }

    /// Adds an authorization server (its issuer identifier).
    #[must_use]
    pub fn authorization_server(mut self, issuer: impl Into<String>) -> Self {
        self.authorization_servers.push(issuer.into());
        self
    }

    /// Adds supported scopes.
    #[must_use]
    pub fn scopes<I, S>(mut self, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.scopes_supported
            .extend(scopes.into_iter().map(Into::into));
        self
    }

    /// Sets `resource_name`.
    #[must_use]
    pub fn resource_name(mut self, name: impl Into<String>) -> Self {
        self.resource_name = Some(name.into());
        self
    }

    /// Path where this metadata is served; see [`well_known_path`].
    ///
    /// # Errors
    /// [`Error::Config`] when `resource` is not a valid URL or has a fragment.
    pub fn well_known_path(&self) -> Result<String, Error> {
        well_known_path(&self.resource)
    }

    /// Full URL of this metadata (the `resource_metadata` of challenges); see [`metadata_url`].
    ///
    /// # Errors
    /// [`Error::Config`] when `resource` is not a valid URL or has a fragment.
    pub fn metadata_url(&self) -> Result<String, Error> {
        metadata_url(&self.resource)
    }

    /// An axum router answering `GET <well_known_path>` with this document as
    /// JSON (`Cache-Control: public, max-age=3600`). Merge it into your app
    /// *outside* the auth layer: the metadata must be readable without a token.
    ///
    /// # Errors
    /// [`Error::Config`] when `resource` is not a valid URL or has a fragment.
    pub fn router<S: Clone + Send + Sync + 'static>(&self) -> Result<Router<S>, Error> {
        let path = self.well_known_path()?;
        let body = serde_json::to_string(self)
            .map_err(|e| Error::Config(format!("cannot serialise resource metadata: {e}")))?;
        Ok(Router::new().route(
            &path,
            get(move || {
                let body = body.clone();
                async move {
                    (
                        [
                            (CONTENT_TYPE, HeaderValue::from_static("application/json")),
                            (
                                CACHE_CONTROL,
                                HeaderValue::from_static("public, max-age=3600"),
                            ),
                        ],
                        body,
                    )
                        .into_response()
                }
            }),
        ))
    }
}

fn parse_resource(resource: &str) -> Result<Url, Error> {
    let url = Url::parse(resource)
        .map_err(|e| Error::Config(format!("resource {resource:?} is not a URL: {e}")))?;
    if url.fragment().is_some() {
        return Err(Error::Config(format!(
            "resource {resource:?} must not have a fragment (RFC 9728 §1.2)"
        )));
    }
    if url.host().is_none() {
        return Err(Error::Config(format!("resource {resource:?} has no host")));
    }
    Ok(url)
}

/// The path at which the metadata of `resource` is served (RFC 9728 §3.1):
/// `/.well-known/oauth-protected-resource` followed by the resource's path
/// (a trailing `/` dropped). `https://h/mcp` →
/// `/.well-known/oauth-protected-resource/mcp`; `https://h` (or `https://h/`)
/// → `/.well-known/oauth-protected-resource`.
///
/// # Errors
/// [`Error::Config`] when `resource` is not a valid URL or has a fragment.
pub fn well_known_path(resource: &str) -> Result<String, Error> {
    let url = parse_resource(resource)?;
    let path = url.path().trim_end_matches('/');
    Ok(format!("{WELL_KNOWN}{path}"))
}

/// The full URL of the metadata of `resource`: its origin, the
/// [`well_known_path`], and its query if any (RFC 9728 §3.1).
///
/// # Errors
/// [`Error::Config`] when `resource` is not a valid URL or has a fragment.
pub fn metadata_url(resource: &str) -> Result<String, Error> {
    let mut url = parse_resource(resource)?;
    let path = well_known_path(resource)?;
    url.set_path(&path);
    Ok(url.to_string())
}

#[cfg(test)]
mod tests {
    use super::{metadata_url, well_known_path};

    #[test]
    fn paths() {
        assert_eq!(
            well_known_path("https://h/mcp").unwrap(),
            "/.well-known/oauth-protected-resource/mcp"
        );
        assert_eq!(
            well_known_path("https://h/a/b/").unwrap(),
            "/.well-known/oauth-protected-resource/a/b"
        );
        assert_eq!(
            well_known_path("https://h").unwrap(),
            "/.well-known/oauth-protected-resource"
        );
        assert_eq!(
            well_known_path("https://h/").unwrap(),
            "/.well-known/oauth-protected-resource"
        );
        assert_eq!(
            metadata_url("http://127.0.0.1:8080/mcp?x=1").unwrap(),
            "http://127.0.0.1:8080/.well-known/oauth-protected-resource/mcp?x=1"
        );
        assert_eq!(
            metadata_url("https://h").unwrap(),
            "https://h/.well-known/oauth-protected-resource"
        );
        assert!(well_known_path("https://h/mcp#frag").is_err());
        assert!(well_known_path("not a url").is_err());
    }
}
