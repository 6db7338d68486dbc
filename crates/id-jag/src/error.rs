//! The one error type of this crate.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use okta_auth::OAuthErrorCode;

/// Which token request failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Step {
    /// RFC 8693 token exchange at the IdP (in the ID-JAG flow: ID token → ID-JAG, step 1).
    TokenExchange,
    /// RFC 7523 JWT-bearer grant at the resource authorization server (in the ID-JAG flow:
    /// ID-JAG → access token, step 2).
    JwtBearer,
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::TokenExchange => "token exchange at the IdP (ID token -> ID-JAG)",
            Self::JwtBearer => {
                "JWT-bearer grant at the resource authorization server (ID-JAG -> access token)"
            }
        })
    }
}

/// Why an ID-JAG was refused by [`crate::IdJagValidator`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Rejection {
    /// Not a well-formed signed JWT (segments, base64, JSON, claim types).
    Malformed(String),
    /// The JOSE header `typ` is not `oauth-id-jag+jwt`.
    WrongType,
    /// `iss` is not one of the trusted issuers.
    UntrustedIssuer(String),
    /// `aud` does not name this authorization server.
    WrongAudience,
    /// The `client_id` claim is not the client that presented the assertion.
    ClientMismatch {
        /// The authenticated client.
        authenticated: String,
        /// The `client_id` claim (`None` when missing).
        claimed: Option<String>,
    },
    /// This `jti` was already used (within the token's lifetime).
    Replayed,
    /// `exp` has passed.
    Expired,
    /// `iat` lies in the future (beyond the leeway), or `nbf` has not been reached.
    NotYetValid,
    /// The signature does not verify with the issuer's keys (or its `kid` is unknown).
    BadSignature,
    /// A claim the draft requires is missing.
    MissingClaim(String),
    /// The issuer's signing keys could not be fetched.
    KeysUnavailable(String),
    /// Too many unexpired `jti`s are remembered; refused rather than forgetting one.
    ReplayStoreFull,
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Malformed(reason) => write!(f, "malformed assertion: {reason}"),
            Self::WrongType => f.write_str("header `typ` is not `oauth-id-jag+jwt`"),
            Self::UntrustedIssuer(iss) => write!(f, "issuer {iss:?} is not trusted"),
            Self::WrongAudience => f.write_str("`aud` does not name this authorization server"),
            Self::ClientMismatch {
                authenticated,
                claimed,
            } => write!(
                f,
                "`client_id` {claimed:?} is not the authenticated client {authenticated:?}"
            ),
            Self::Replayed => f.write_str("`jti` was already used"),
            Self::Expired => f.write_str("the assertion has expired"),
            Self::NotYetValid => f.write_str("the assertion is not valid yet (`iat`/`nbf`)"),
            Self::BadSignature => {
                f.write_str("the signature does not verify with the issuer's keys")
            }
            Self::MissingClaim(claim) => write!(f, "required claim `{claim}` is missing"),
            Self::KeysUnavailable(reason) => {
                write!(f, "the issuer's keys are unavailable: {reason}")
            }
            Self::ReplayStoreFull => {
                f.write_str("the replay store is full of unexpired `jti`s; raise its capacity")
            }
        }
    }
}

/// Everything that can go wrong in `id-jag`. Cloneable, so callers that share one in-flight
/// request each get the error. Messages never contain tokens or secrets.
#[derive(Clone, Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The authorization server answered with an OAuth error (RFC 6749 §5.2, RFC 8693 §2.2.2),
    /// e.g. `invalid_grant` for an expired ID token or `invalid_target` for an unknown audience.
    #[error("{step} failed: {endpoint} answered HTTP {status} `{error}`{}", description.as_deref().map(|d| format!(": {d}")).unwrap_or_default())]
    OAuth {
        /// The failed step.
        step: Step,
        /// The token endpoint.
        endpoint: String,
        /// HTTP status.
        status: u16,
        /// The OAuth `error` code.
        error: OAuthErrorCode,
        /// `error_description`, if any.
        description: Option<String>,
        /// `error_uri`, if any.
        uri: Option<String>,
    },
    /// The user must interact first (`interaction_required`, `consent_required` or
    /// `login_required`): show them `interaction_uri` (or `uri`) to consent, then retry.
    #[error("{step} needs the user: `{error}`{}{}", description.as_deref().map(|d| format!(": {d}")).unwrap_or_default(), interaction_uri.as_deref().map(|u| format!("; send the user to {u}")).unwrap_or_default())]
    InteractionRequired {
        /// The failed step.
        step: Step,
        /// The token endpoint.
        endpoint: String,
        /// `interaction_required`, `consent_required` or `login_required`.
        error: OAuthErrorCode,
        /// `error_description`, if any.
        description: Option<String>,
        /// The consent/interaction page to show the user: `interaction_uri`, else `error_uri`.
        interaction_uri: Option<String>,
    },
    /// The token endpoint did not answer in time.
    #[error("{step} failed: {endpoint} did not answer within {timeout:?}")]
    Timeout {
        /// The failed step.
        step: Step,
        /// The token endpoint.
        endpoint: String,
        /// The configured timeout.
        timeout: Duration,
    },
    /// The token endpoint failed otherwise: unreachable, an error status without an OAuth body,
    /// an HTML page, or a response without a usable token.
    #[error("{step} failed: {source}")]
    TokenEndpoint {
        /// The failed step.
        step: Step,
        /// The underlying error.
        #[source]
        source: Arc<okta_auth::Error>,
    },
    /// The IdP issued a token of another type than requested (e.g. an access token instead
    /// of an ID-JAG).
    #[error("{step} failed: expected issued_token_type `{expected}`, got {found:?}")]
    UnexpectedIssuedTokenType {
        /// The failed step.
        step: Step,
        /// The requested type.
        expected: String,
        /// What the server sent.
        found: Option<String>,
    },
    /// The answer's `token_type` is not what the grant defines (`N_A` for an ID-JAG, `Bearer`
    /// for an access token).
    #[error("{step} failed: expected token_type `{expected}`, got `{found}`")]
    UnexpectedTokenType {
        /// The failed step.
        step: Step,
        /// The expected type.
        expected: &'static str,
        /// What the server sent.
        found: String,
    },
    /// An ID-JAG was refused by the validator.
    #[error("ID-JAG rejected: {0}")]
    Rejected(Rejection),
    /// Invalid configuration.
    #[error("invalid id-jag configuration: {0}")]
    Config(String),
}

impl Error {
    /// Maps a token request failure of `okta-auth` to this crate's error for `step`.
    pub(crate) fn from_token_request(step: Step, e: okta_auth::Error) -> Self {
        match e {
            okta_auth::Error::OAuth {
                endpoint,
                error,
                description,
                uri,
                interaction_uri,
                ..
            } if matches!(
                error,
                OAuthErrorCode::InteractionRequired
                    | OAuthErrorCode::ConsentRequired
                    | OAuthErrorCode::LoginRequired
            ) =>
            {
                Self::InteractionRequired {
                    step,
                    endpoint,
                    error,
                    description,
                    interaction_uri: interaction_uri.or(uri),
                }
            }
            okta_auth::Error::OAuth {
                endpoint,
                status,
                error,
                description,
                uri,
                ..
            } => Self::OAuth {
                step,
                endpoint,
                status,
                error,
                description,
                uri,
            },
            okta_auth::Error::TokenEndpointTimeout { endpoint, timeout } => Self::Timeout {
                step,
                endpoint,
                timeout,
            },
            other => Self::TokenEndpoint {
                step,
                source: Arc::new(other),
            },
        }
    }

    /// The OAuth error code, when the server answered with one.
    pub fn oauth_error(&self) -> Option<&OAuthErrorCode> {
        match self {
            Self::OAuth { error, .. } | Self::InteractionRequired { error, .. } => Some(error),
            _ => None,
        }
    }

    /// The step that failed, for token request errors.
    pub fn step(&self) -> Option<Step> {
        match self {
            Self::OAuth { step, .. }
            | Self::InteractionRequired { step, .. }
            | Self::Timeout { step, .. }
            | Self::TokenEndpoint { step, .. }
            | Self::UnexpectedIssuedTokenType { step, .. }
            | Self::UnexpectedTokenType { step, .. } => Some(*step),
            Self::Rejected(_) | Self::Config(_) => None,
        }
    }
}
