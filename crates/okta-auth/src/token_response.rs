//! Parsing of token endpoint answers: the success response of RFC 6749 §5.1 (with the
//! RFC 8693 §2.2.1 additions) and the error response of RFC 6749 §5.2.

use std::fmt;

use serde_json::{Map, Value};

use crate::Error;

/// The `error` code of an OAuth error response (RFC 6749 §5.2, RFC 8693 §2.2.2,
/// OpenID Connect Core §3.1.2.6, RFC 6750 §3.1).
///
/// Codes this crate does not know are kept verbatim in [`OAuthErrorCode::Other`].
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum OAuthErrorCode {
    /// `invalid_request`: a parameter is missing, repeated or malformed.
    InvalidRequest,
    /// `invalid_client`: client authentication failed (unknown client, wrong secret or key).
    InvalidClient,
    /// `invalid_grant`: the grant (code, refresh token, assertion, subject token) is invalid,
    /// expired or revoked.
    InvalidGrant,
    /// `unauthorized_client`: the client may not use this grant type.
    UnauthorizedClient,
    /// `unsupported_grant_type`: the server does not support this grant type.
    UnsupportedGrantType,
    /// `invalid_scope`: a requested scope is unknown, malformed or not allowed.
    InvalidScope,
    /// `invalid_target` (RFC 8693/8707): the requested audience or resource is not acceptable.
    InvalidTarget,
    /// `interaction_required`: the user must interact (e.g. consent) first.
    InteractionRequired,
    /// `consent_required`: the user must consent first.
    ConsentRequired,
    /// `login_required`: the user must sign in again.
    LoginRequired,
    /// `insufficient_scope` (RFC 6750): the token lacks a required scope.
    InsufficientScope,
    /// `access_denied`: the resource owner or server denied the request.
    AccessDenied,
    /// `server_error`: the server hit an unexpected condition.
    ServerError,
    /// `temporarily_unavailable`: the server is overloaded or in maintenance.
    TemporarilyUnavailable,
    /// Any other code, verbatim.
    Other(String),
}

impl OAuthErrorCode {
    /// Maps an `error` string to its code (case-sensitive, as RFC 6749 defines them).
    pub fn parse(code: &str) -> Self {
        match code {
            "invalid_request" => Self::InvalidRequest,
            "invalid_client" => Self::InvalidClient,
            "invalid_grant" => Self::InvalidGrant,
            "unauthorized_client" => Self::UnauthorizedClient,
            "unsupported_grant_type" => Self::UnsupportedGrantType,
            "invalid_scope" => Self::InvalidScope,
            "invalid_target" => Self::InvalidTarget,
            "interaction_required" => Self::InteractionRequired,
            "consent_required" => Self::ConsentRequired,
            "login_required" => Self::LoginRequired,
            "insufficient_scope" => Self::InsufficientScope,
            "access_denied" => Self::AccessDenied,
            "server_error" => Self::ServerError,
            "temporarily_unavailable" => Self::TemporarilyUnavailable,
            other => Self::Other(other.to_owned()),
        }
    }

    /// The wire form of the code.
    pub fn as_str(&self) -> &str {
        match self {
            Self::InvalidRequest => "invalid_request",
            Self::InvalidClient => "invalid_client",
            Self::InvalidGrant => "invalid_grant",
            Self::UnauthorizedClient => "unauthorized_client",
            Self::UnsupportedGrantType => "unsupported_grant_type",
            Self::InvalidScope => "invalid_scope",
            Self::InvalidTarget => "invalid_target",
            Self::InteractionRequired => "interaction_required",
            Self::ConsentRequired => "consent_required",
            Self::LoginRequired => "login_required",
            Self::InsufficientScope => "insufficient_scope",
            Self::AccessDenied => "access_denied",
            Self::ServerError => "server_error",
            Self::TemporarilyUnavailable => "temporarily_unavailable",
            Self::Other(code) => code,
        }
    }
}

impl fmt::Display for OAuthErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A successful token endpoint answer (RFC 6749 §5.1 plus RFC 8693 §2.2.1 fields).
///
/// Secret fields (`access_token`, `refresh_token`, `id_token`) are only reachable through
/// methods and never appear in `Debug` output.
#[derive(Clone)]
pub struct TokenResponse {
    access_token: String,
    refresh_token: Option<String>,
    id_token: Option<String>,
    /// `token_type` as sent (e.g. `Bearer`, or `N_A` for an RFC 8693 ID-JAG answer).
    pub token_type: String,
    /// `expires_in` in seconds, if sent.
    pub expires_in: Option<u64>,
    /// `scope` as sent (space-separated), if sent.
    pub scope: Option<String>,
    /// `issued_token_type` (RFC 8693), if sent.
    pub issued_token_type: Option<String>,
    /// Every other member of the answer, minus the secret ones above.
    pub extra: Map<String, Value>,
}

impl TokenResponse {
    /// The issued token (`access_token`). Treat it as a secret.
    pub fn access_token(&self) -> &str {
        &self.access_token
    }

    /// The `refresh_token`, if sent. Treat it as a secret.
    pub fn refresh_token(&self) -> Option<&str> {
        self.refresh_token.as_deref()
    }

    /// The `id_token`, if sent. Treat it as a secret.
    pub fn id_token(&self) -> Option<&str> {
        self.id_token.as_deref()
    }

    /// The granted scopes: `scope` split on spaces, or `None` when the server omitted it
    /// (RFC 6749 §5.1: then the granted scope equals the requested one).
    pub fn scopes(&self) -> Option<Vec<String>> {
        self.scope
            .as_deref()
            .map(|s| s.split_ascii_whitespace().map(str::to_owned).collect())
    }

    /// Whether `token_type` is `Bearer` (compared case-insensitively, RFC 6749 §5.1).
    pub fn is_bearer(&self) -> bool {
        self.token_type.eq_ignore_ascii_case("bearer")
    }

    /// Parses a 2xx answer body. `endpoint` only labels errors.
    pub(crate) fn from_json(endpoint: &str, body: Map<String, Value>) -> Result<Self, Error> {
        let invalid = |reason: String| Error::InvalidTokenResponse {
            endpoint: endpoint.to_owned(),
            reason,
        };
        let mut body = body;
        let access_token = match body.remove("access_token") {
            Some(Value::String(t)) if !t.is_empty() => t,
            Some(Value::String(_)) => return Err(invalid("`access_token` is empty".into())),
            Some(_) => return Err(invalid("`access_token` is not a string".into())),
            None => return Err(invalid("`access_token` is missing".into())),
        };
        let token_type = match body.remove("token_type") {
            Some(Value::String(t)) => t,
            Some(_) => return Err(invalid("`token_type` is not a string".into())),
            None => return Err(invalid("`token_type` is missing".into())),
        };
        let expires_in = match body.remove("expires_in") {
            None | Some(Value::Null) => None,
            Some(Value::Number(n)) => match n.as_u64() {
                Some(secs) => Some(secs),
                None => {
                    return Err(invalid(format!(
                        "`expires_in` must be a non-negative integer, got {n}"
                    )));
                }
            },
            // Some servers send the number as a string; accept it if it is one.
            Some(Value::String(s)) => match s.parse::<u64>() {
                Ok(secs) => Some(secs),
                Err(_) => return Err(invalid("`expires_in` is not a number".into())),
            },
            Some(_) => return Err(invalid("`expires_in` is not a number".into())),
        };
        let scope = optional_string(&mut body, "scope").map_err(invalid)?;
        let issued_token_type = optional_string(&mut body, "issued_token_type").map_err(invalid)?;
        let refresh_token = optional_string(&mut body, "refresh_token").map_err(invalid)?;
        let id_token = optional_string(&mut body, "id_token").map_err(invalid)?;
        Ok(Self {
            access_token,
            refresh_token,
            id_token,
            token_type,
            expires_in,
            scope,
            issued_token_type,
            extra: body,
        })
    }
}

fn optional_string(body: &mut Map<String, Value>, name: &str) -> Result<Option<String>, String> {
    match body.remove(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(format!("`{name}` is not a string")),
    }
}

impl fmt::Debug for TokenResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenResponse")
            .field("access_token", &"<redacted>")
            .field(
                "refresh_token",
                &self.refresh_token.as_ref().map(|_| "<redacted>"),
            )
            .field("id_token", &self.id_token.as_ref().map(|_| "<redacted>"))
            .field("token_type", &self.token_type)
            .field("expires_in", &self.expires_in)
            .field("scope", &self.scope)
            .field("issued_token_type", &self.issued_token_type)
            .field("extra", &self.extra.keys().collect::<Vec<_>>())
            .finish()
    }
}

/// Turns a non-2xx answer into the matching error: an OAuth error when the body is an RFC 6749
/// §5.2 JSON object, a plain status error otherwise.
pub(crate) fn error_from_answer(
    endpoint: &str,
    status: u16,
    content_type: Option<String>,
    body: &[u8],
) -> Error {
    let parsed: Option<Map<String, Value>> = serde_json::from_slice(body).ok();
    if let Some(mut obj) = parsed
        && let Some(Value::String(code)) = obj.remove("error")
    {
        let text = |obj: &mut Map<String, Value>, name: &str| match obj.remove(name) {
            Some(Value::String(s)) => Some(s),
            _ => None,
        };
        let description = text(&mut obj, "error_description");
        let uri = text(&mut obj, "error_uri");
        let interaction_uri =
            text(&mut obj, "interaction_uri").or_else(|| text(&mut obj, "consent_uri"));
        return Error::OAuth {
            endpoint: endpoint.to_owned(),
            status,
            error: OAuthErrorCode::parse(&code),
            description,
            uri,
            interaction_uri,
        };
    }
    Error::TokenEndpointStatus {
        endpoint: endpoint.to_owned(),
        status,
        content_type,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => panic!("not an object"),
        }
    }

    #[test]
    fn parses_a_full_response_and_keeps_extras() {
        let r = TokenResponse::from_json(
            "e",
            obj(json!({"access_token":"AT","token_type":"bearer","expires_in":3600,
                "scope":"a b","issued_token_type":"urn:x","refresh_token":"RT","id_token":"ID","x":1})),
        )
        .unwrap();
        assert_eq!(r.access_token(), "AT");
        assert!(r.is_bearer());
        assert_eq!(r.expires_in, Some(3600));
        assert_eq!(r.scopes().unwrap(), vec!["a", "b"]);
        assert_eq!(r.refresh_token(), Some("RT"));
        assert_eq!(r.id_token(), Some("ID"));
        assert_eq!(r.extra.len(), 1);
        let dbg = format!("{r:?}");
        assert!(!dbg.contains("AT\"") && !dbg.contains("RT") && !dbg.contains("\"ID\""));
        assert!(dbg.contains("<redacted>"));
    }

    #[test]
    fn rejects_missing_or_bad_fields() {
        let cases = [
            (json!({"token_type":"Bearer"}), "`access_token` is missing"),
            (
                json!({"access_token":"","token_type":"Bearer"}),
                "`access_token` is empty",
            ),
            (json!({"access_token":"x"}), "`token_type` is missing"),
            (
                json!({"access_token":"x","token_type":"Bearer","expires_in":-5}),
                "non-negative",
            ),
            (
                json!({"access_token":"x","token_type":"Bearer","scope":7}),
                "`scope` is not a string",
            ),
        ];
        for (body, want) in cases {
            let err = TokenResponse::from_json("https://idp/token", obj(body)).unwrap_err();
            let msg = err.to_string();
            assert!(msg.contains(want), "{msg}");
            assert!(msg.contains("https://idp/token"), "{msg}");
        }
    }

    #[test]
    fn maps_oauth_errors_and_plain_statuses() {
        let err = error_from_answer(
            "e",
            400,
            None,
            br#"{"error":"invalid_target","error_description":"no","interaction_uri":"https://c"}"#,
        );
        match err {
            Error::OAuth {
                error,
                description,
                interaction_uri,
                status,
                ..
            } => {
                assert_eq!(error, OAuthErrorCode::InvalidTarget);
                assert_eq!(description.as_deref(), Some("no"));
                assert_eq!(interaction_uri.as_deref(), Some("https://c"));
                assert_eq!(status, 400);
            }
            other => panic!("{other:?}"),
        }
        let err = error_from_answer("e", 500, Some("text/html".into()), b"<html>");
        assert!(matches!(
            err,
            Error::TokenEndpointStatus { status: 500, .. }
        ));
    }

    #[test]
    fn error_codes_round_trip() {
        for code in [
            "invalid_request",
            "invalid_client",
            "invalid_grant",
            "unauthorized_client",
            "unsupported_grant_type",
            "invalid_scope",
            "invalid_target",
            "interaction_required",
            "consent_required",
            "login_required",
            "insufficient_scope",
            "access_denied",
            "server_error",
            "temporarily_unavailable",
            "made_up",
        ] {
            assert_eq!(OAuthErrorCode::parse(code).as_str(), code);
        }
        assert_eq!(
            OAuthErrorCode::parse("made_up"),
            OAuthErrorCode::Other("made_up".into())
        );
    }
}
