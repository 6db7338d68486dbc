//! RFC 6750 `WWW-Authenticate: Bearer` challenges, `Authorization` header
//! parsing, and the rejection responses of the layers.

use std::fmt;

use axum::body::Body;
use axum::response::IntoResponse;
use http::header::{AUTHORIZATION, CONTENT_TYPE, WWW_AUTHENTICATE};
use http::{HeaderMap, HeaderValue, Response, StatusCode};

/// A `WWW-Authenticate: Bearer` challenge (RFC 6750 §3, RFC 9728 §5.1).
///
/// Attributes are written in the order realm, error, error_description,
/// scope, resource_metadata; unset ones are left out. Values are made safe
/// for a quoted string: `error_description` is reduced to the characters RFC
/// 6750 allows (a `"` becomes `'`, a `\` becomes `/`, control and non-ASCII
/// characters are dropped); other values have `"` and `\` escaped. Nothing
/// can break out of the quotes or the header.
///
/// ```
/// let c = okta_auth::BearerChallenge {
///     error: Some("insufficient_scope".into()),
///     scope: Some("mcp:read".into()),
///     resource_metadata: Some("https://api.example.com/.well-known/oauth-protected-resource/mcp".into()),
///     ..Default::default()
/// };
/// assert_eq!(c.to_string(), "Bearer error=\"insufficient_scope\", scope=\"mcp:read\", \
///     resource_metadata=\"https://api.example.com/.well-known/oauth-protected-resource/mcp\"");
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BearerChallenge {
    /// `realm`.
    pub realm: Option<String>,
    /// `error`: `invalid_request`, `invalid_token` or `insufficient_scope`.
    pub error: Option<String>,
    /// `error_description`: human-readable, never contains the token.
    pub error_description: Option<String>,
    /// `scope`: space-separated scopes needed (with `insufficient_scope`), or the
    /// scopes to ask for (a hint on `401` challenges).
    pub scope: Option<String>,
    /// `resource_metadata`: URL of the RFC 9728 protected resource metadata.
    pub resource_metadata: Option<String>,
}

impl BearerChallenge {
    /// The challenge as a header value.
    pub fn to_header_value(&self) -> HeaderValue {
        // Every character written is visible ASCII or space, so this cannot fail;
        // fall back to the bare scheme rather than panic.
        HeaderValue::from_str(&self.to_string()).unwrap_or(HeaderValue::from_static("Bearer"))
    }
}

impl fmt::Display for BearerChallenge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Bearer")?;
        let mut first = true;
        let mut attr = |f: &mut fmt::Formatter<'_>, name: &str, value: &str| {
            let sep = if first { " " } else { ", " };
            first = false;
            write!(f, "{sep}{name}=\"{value}\"")
        };
        if let Some(v) = &self.realm {
            attr(f, "realm", &escape_quoted(v))?;
        }
        if let Some(v) = &self.error {
            attr(f, "error", &rfc6750_chars(v))?;
        }
        if let Some(v) = &self.error_description {
            attr(f, "error_description", &rfc6750_chars(v))?;
        }
        if let Some(v) = &self.scope {
            attr(f, "scope", &rfc6750_chars(v))?;
        }
        if let Some(v) = &self.resource_metadata {
            attr(f, "resource_metadata", &escape_quoted(v))?;
        }
        Ok(())
    }
}

/// Keeps `%x20-21 / %x23-5B / %x5D-7E` (RFC 6750 §3), mapping `"`→`'` and `\`→`/`.
fn rfc6750_chars(value: &str) -> String {
    value
        .chars()
        .filter_map(|c| match c {
            '"' => Some('\''),
            '\\' => Some('/'),
            ' '..='~' => Some(c),
            _ => None,
        })
        .collect()
}

/// quoted-string content (RFC 9110 §5.6.4): escape `"` and `\`, drop the rest
/// of what a header cannot carry.
fn escape_quoted(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '"' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            ' '..='~' => out.push(c),
            _ => {}
        }
    }
    out
}

/// What the `Authorization` header(s) of a request hold.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Credentials<'a> {
    /// No `Authorization` header, or one with a scheme other than Bearer
    /// (named here for logs).
    None { other_scheme: Option<&'a str> },
    /// A bearer token (scheme matched case-insensitively, RFC 7235 §2.1).
    Bearer(&'a str),
    /// A request that cannot be interpreted: `invalid_request` (400).
    Invalid(&'static str),
}

pub(crate) fn credentials(headers: &HeaderMap) -> Credentials<'_> {
    let mut values = headers.get_all(AUTHORIZATION).iter();
    let Some(value) = values.next() else {
        return Credentials::None { other_scheme: None };
    };
    if values.next().is_some() {
        return Credentials::Invalid("more than one Authorization header");
    }
    let Ok(value) = value.to_str() else {
        return Credentials::Invalid("Authorization header is not visible ASCII");
    };
    let (scheme, rest) = value.split_once(' ').unwrap_or((value, ""));
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Credentials::None {
            other_scheme: Some(scheme),
        };
    }
    let token = rest.trim_matches(' ');
    if token.is_empty() {
        return Credentials::Invalid("empty bearer token");
    }
    Credentials::Bearer(token)
}

/// The bearer token of a request's `Authorization` header, read exactly as
/// [`AuthLayer`](crate::AuthLayer) reads it (one header, scheme `Bearer` in
/// any case, surrounding spaces trimmed); `None` for anything else. Behind the
/// layer this is the token that was verified, e.g. for a proxy that must hand
/// it on.
///
/// ```
/// use http::{HeaderMap, HeaderValue, header::AUTHORIZATION};
/// let mut headers = HeaderMap::new();
/// headers.insert(AUTHORIZATION, HeaderValue::from_static("bearer  abc.def.ghi"));
/// assert_eq!(okta_auth::bearer_token(&headers), Some("abc.def.ghi"));
/// headers.insert(AUTHORIZATION, HeaderValue::from_static("Basic dXNlcjpwdw=="));
/// assert_eq!(okta_auth::bearer_token(&headers), None);
/// ```
pub fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    match credentials(headers) {
        Credentials::Bearer(token) => Some(token),
        _ => None,
    }
}

/// How to write challenges for this request: realm and resource metadata URL.
/// The auth layer puts it in request extensions so later layers (scope
/// checks) and the extractor answer with the same attributes.
#[derive(Debug, Clone, Default)]
pub(crate) struct ChallengeContext {
    pub(crate) realm: Option<String>,
    pub(crate) resource_metadata: Option<String>,
    /// `scope` hint of `401` challenges (MCP authorization, scope selection).
    pub(crate) scope: Option<String>,
}

impl ChallengeContext {
    pub(crate) fn challenge(&self) -> BearerChallenge {
        BearerChallenge {
            realm: self.realm.clone(),
            resource_metadata: self.resource_metadata.clone(),
            ..BearerChallenge::default()
        }
    }
}

/// A rejection by [`AuthLayer`](crate::AuthLayer), the scope check or the
/// `Verified` extractor: status, `WWW-Authenticate` challenge and a small
/// JSON body `{"error": …, "error_description": …}`.
#[derive(Debug, Clone)]
pub struct AuthRejection {
    status: StatusCode,
    challenge: Option<Box<BearerChallenge>>,
}

impl AuthRejection {
    /// `401` with no error attributes: no credentials were sent (RFC 6750 §3.1).
    pub(crate) fn missing(ctx: &ChallengeContext) -> Self {
        let mut challenge = ctx.challenge();
        challenge.scope.clone_from(&ctx.scope);
        Self {
            status: StatusCode::UNAUTHORIZED,
            challenge: Some(Box::new(challenge)),
        }
    }

    /// `401 invalid_token` with a description.
    pub(crate) fn invalid_token(ctx: &ChallengeContext, description: String) -> Self {
        let mut challenge = ctx.challenge();
        challenge.error = Some("invalid_token".to_owned());
        challenge.error_description = Some(description);
        challenge.scope.clone_from(&ctx.scope);
        Self {
            status: StatusCode::UNAUTHORIZED,
            challenge: Some(Box::new(challenge)),
        }
    }

    /// `400 invalid_request`.
    pub(crate) fn invalid_request(ctx: &ChallengeContext, description: &str) -> Self {
        let mut challenge = ctx.challenge();
        challenge.error = Some("invalid_request".to_owned());
        challenge.error_description = Some(description.to_owned());
        Self {
            status: StatusCode::BAD_REQUEST,
            challenge: Some(Box::new(challenge)),
        }
    }

    /// `403 insufficient_scope` naming the scopes needed.
    pub(crate) fn insufficient_scope(ctx: &ChallengeContext, needed: &str, missing: &str) -> Self {
        let mut challenge = ctx.challenge();
        challenge.error = Some("insufficient_scope".to_owned());
        challenge.error_description = Some(format!("the token lacks required scope(s): {missing}"));
        challenge.scope = Some(needed.to_owned());
        Self {
            status: StatusCode::FORBIDDEN,
            challenge: Some(Box::new(challenge)),
        }
    }

    /// `503`: keys cannot be had from the identity provider; not the caller's fault.
    pub(crate) fn unavailable() -> Self {
        Self {
            status: StatusCode::SERVICE_UNAVAILABLE,
            challenge: None,
        }
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The challenge sent in `WWW-Authenticate`, if any.
    pub fn challenge(&self) -> Option<&BearerChallenge> {
        self.challenge.as_deref()
    }

    /// The rejection as a response.
    pub fn into_http(self) -> Response<Body> {
        let (error, description) = match &self.challenge {
            Some(c) => (c.error.clone(), c.error_description.clone()),
            None => (
                Some("temporarily_unavailable".to_owned()),
                Some(
                    "the identity provider's signing keys are unavailable; retry later".to_owned(),
                ),
            ),
        };
        let body = match error {
            Some(error) => serde_json::json!({
                "error": error,
                "error_description": description.unwrap_or_default(),
            })
            .to_string(),
            None => serde_json::json!({"error": "unauthorized", "error_description": "a bearer token is required"}).to_string(),
        };
        let mut response = Response::new(Body::from(body));
        *response.status_mut() = self.status;
        let headers = response.headers_mut();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        headers.insert(
            http::header::CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        );
        if let Some(challenge) = &self.challenge {
            headers.insert(WWW_AUTHENTICATE, challenge.to_header_value());
        }
        if self.status == StatusCode::SERVICE_UNAVAILABLE {
            headers.insert(http::header::RETRY_AFTER, HeaderValue::from_static("5"));
        }
        response
    }
}

impl IntoResponse for AuthRejection {
    fn into_response(self) -> axum::response::Response {
        self.into_http()
    }
}

#[cfg(test)]
mod tests {
    use super::{BearerChallenge, Credentials, credentials};
    use http::HeaderMap;
    use http::header::AUTHORIZATION;

    fn headers(values: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in values {
            h.append(AUTHORIZATION, v.parse().unwrap());
        }
        h
    }

    #[test]
    fn parses_authorization() {
        assert_eq!(
            credentials(&headers(&[])),
            Credentials::None { other_scheme: None }
        );
        assert_eq!(
            credentials(&headers(&["Bearer abc"])),
            Credentials::Bearer("abc")
        );
        assert_eq!(
            credentials(&headers(&["bEaReR  abc "])),
            Credentials::Bearer("abc")
        );
        assert_eq!(
            credentials(&headers(&["Basic dXNlcjpwdw=="])),
            Credentials::None {
                other_scheme: Some("Basic")
            }
        );
        assert!(matches!(
            credentials(&headers(&["Bearer"])),
            Credentials::Invalid(_)
        ));
        assert!(matches!(
            credentials(&headers(&["Bearer a", "Bearer b"])),
            Credentials::Invalid(_)
        ));
    }

    #[test]
    fn challenge_cannot_be_broken_out_of() {
        let c = BearerChallenge {
            realm: Some("r\"x\\".into()),
            error: Some("invalid_token".into()),
            error_description: Some("bad \"thing\" \\ é\r\nX-Injected: 1".into()),
            ..Default::default()
        };
        assert_eq!(
            c.to_string(),
            "Bearer realm=\"r\\\"x\\\\\", error=\"invalid_token\", \
             error_description=\"bad 'thing' / X-Injected: 1\""
        );
        assert!(c.to_header_value().to_str().is_ok());
        assert_eq!(BearerChallenge::default().to_string(), "Bearer");
    }
}
