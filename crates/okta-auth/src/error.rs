//! The one error type of this crate.

/// Everything that can go wrong in `okta-auth`.
///
/// Each variant says what was wrong; messages never contain tokens or secrets.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    // ---- verification side (JWKS, discovery, verifier, layer) ----
    /// No discovery URL of the issuer served a usable metadata document.
    #[error("discovery for issuer {issuer} failed: {reason}")]
    Discovery {
        /// The issuer asked for.
        issuer: String,
        /// Each URL tried and why it failed.
        reason: String,
    },
    /// A metadata document named a different issuer (RFC 8414 §3.3).
    #[error(
        "metadata at {url} names issuer {found:?} but {expected:?} was configured; \
         the issuer must match exactly (check the issuer URL, including any trailing slash)"
    )]
    IssuerMismatch {
        /// The document's URL.
        url: String,
        /// The configured issuer.
        expected: String,
        /// The issuer the document named.
        found: String,
    },
    /// The JWKS endpoint could not be fetched.
    #[error("fetching signing keys from {url} failed: {reason}")]
    JwksFetch {
        /// The JWKS URL.
        url: String,
        /// What went wrong.
        reason: String,
    },
    /// The JWKS document was fetched but is unusable.
    #[error("signing keys from {url} are unusable: {reason}")]
    JwksInvalid {
        /// The JWKS URL (or `static` for a pinned key set).
        url: String,
        /// What was wrong with it.
        reason: String,
    },
    /// No signing keys are available: never loaded, or stale beyond the
    /// configured bound while the identity provider is unreachable.
    #[error("no signing keys available: {reason}")]
    KeysUnavailable {
        /// Why (never loaded, stale since when, last fetch error).
        reason: String,
    },
    /// A builder was given an invalid or incomplete configuration.
    #[error("invalid configuration: {0}")]
    Config(String),
    /// The token is longer than the configured maximum (checked before parsing).
    #[error("token too long: {len} bytes, the limit is {max}")]
    TokenTooLong {
        /// Token length in bytes.
        len: usize,
        /// Configured maximum.
        max: usize,
    },
    /// The token does not have exactly three dot-separated segments.
    #[error("malformed token: {segments} segments, a JWS has 3")]
    MalformedToken {
        /// Number of segments found.
        segments: usize,
    },
    /// A token segment is not unpadded base64url.
    #[error("bad base64 in token {part}")]
    BadBase64 {
        /// `header`, `claims` or `signature`.
        part: &'static str,
    },
    /// The token header is not a JSON object with a string `alg`.
    #[error("malformed token header: {reason}")]
    MalformedHeader {
        /// What was wrong.
        reason: String,
    },
    /// The claims segment is not a JSON object.
    #[error("claims not a JSON object")]
    ClaimsNotObject,
    /// A registered claim has the wrong JSON type (e.g. `exp` not a number).
    #[error("malformed claim {claim}: {reason}")]
    MalformedClaim {
        /// The claim name.
        claim: &'static str,
        /// What was wrong.
        reason: &'static str,
    },
    /// The token header has no `kid`, so no key can be chosen.
    #[error("missing kid in token header")]
    MissingKid,
    /// No key with the token's `kid` is known, even after a refetch allowed by the cooldown.
    #[error("unknown kid (no such signing key)")]
    UnknownKid,
    /// The header's `alg` is not allowed for the key (`none` and HMAC never are).
    #[error("algorithm {alg} not allowed for key")]
    AlgorithmNotAllowed {
        /// The `alg` from the token header (sanitised, at most 16 characters).
        alg: String,
    },
    /// The signature does not verify with the key named by `kid`.
    #[error("invalid signature")]
    InvalidSignature,
    /// `exp` is in the past (beyond the leeway).
    #[error("token expired")]
    Expired,
    /// `nbf` is in the future (beyond the leeway).
    #[error("token not yet valid (nbf in the future)")]
    NotYetValid,
    /// `iat` is in the future (beyond the leeway).
    #[error("token issued in the future (iat)")]
    IssuedInFuture,
    /// `iss` is missing or not the configured issuer.
    #[error("wrong issuer")]
    WrongIssuer,
    /// `aud` is missing or names none of the accepted audiences.
    #[error("wrong audience")]
    WrongAudience,
    /// The header's `typ` is not one of the accepted types.
    #[error("wrong token type (typ)")]
    WrongType,
    /// A claim required by configuration is absent.
    #[error("missing required claim {0}")]
    MissingClaim(String),

    // ---- token client side (client auth, token source) ----
    /// The token endpoint answered with an OAuth error (RFC 6749 §5.2, RFC 8693 §2.2.2).
    #[error(
        "the token endpoint {endpoint} refused the request with HTTP {status}: {error}{}",
        description.as_deref().map(|d| format!(" ({d})")).unwrap_or_default()
    )]
    OAuth {
        /// The token endpoint that answered.
        endpoint: String,
        /// The HTTP status of the answer.
        status: u16,
        /// The `error` code.
        error: crate::OAuthErrorCode,
        /// The `error_description`, if the server sent one.
        description: Option<String>,
        /// The `error_uri`, if the server sent one.
        uri: Option<String>,
        /// An `interaction_uri` (or `consent_uri`) the server sent with the error, e.g. the
        /// consent page a user must visit after `interaction_required`.
        interaction_uri: Option<String>,
    },
    /// The token endpoint answered an HTTP error status without an OAuth error body.
    #[error(
        "the token endpoint {endpoint} answered HTTP {status} without an OAuth error body{}; check the endpoint URL and the server's health",
        content_type.as_deref().map(|c| format!(" (content-type {c})")).unwrap_or_default()
    )]
    TokenEndpointStatus {
        /// The token endpoint that answered.
        endpoint: String,
        /// The HTTP status of the answer.
        status: u16,
        /// The `Content-Type` of the answer, if any.
        content_type: Option<String>,
    },
    /// The token endpoint answered success, but not with a JSON object (e.g. an HTML page).
    #[error(
        "the token endpoint {endpoint} answered HTTP {status} with {} instead of a JSON object; is this URL really a token endpoint?",
        content_type.as_deref().unwrap_or("an unknown content type")
    )]
    TokenEndpointNotJson {
        /// The token endpoint that answered.
        endpoint: String,
        /// The HTTP status of the answer.
        status: u16,
        /// The `Content-Type` of the answer, if any.
        content_type: Option<String>,
    },
    /// The token endpoint answered a JSON object that is not a valid token response.
    #[error("the token endpoint {endpoint} sent an unusable token response: {reason}")]
    InvalidTokenResponse {
        /// The token endpoint that answered.
        endpoint: String,
        /// What was wrong (never contains the token itself).
        reason: String,
    },
    /// The token endpoint could not be reached (connection refused, TLS, DNS, broken body).
    #[error("could not reach the token endpoint {endpoint}: {detail}")]
    TokenEndpointUnreachable {
        /// The token endpoint that was called.
        endpoint: String,
        /// What the HTTP client reported.
        detail: String,
    },
    /// The token endpoint did not answer within the configured request timeout.
    #[error(
        "the token endpoint {endpoint} did not answer within {timeout:?}; raise the timeout or check the server"
    )]
    TokenEndpointTimeout {
        /// The token endpoint that was called.
        endpoint: String,
        /// The configured timeout.
        timeout: std::time::Duration,
    },
    /// A client credential, signing key or token client setting is unusable.
    #[error("invalid OAuth client configuration: {reason}")]
    InvalidClientConfig {
        /// What was wrong and how to fix it (never contains secret material).
        reason: String,
    },

    // ---- MCP client side (calling protected MCP servers) ----
    /// The protected resource metadata (RFC 9728) could not be fetched or is unusable.
    #[error(
        "protected resource metadata for {resource} is unusable: {reason}; check that the server \
         serves RFC 9728 JSON at its well-known URL"
    )]
    ResourceMetadata {
        /// The MCP server URL being called.
        resource: String,
        /// Each URL tried and what was wrong.
        reason: String,
    },
    /// The protected resource metadata names another resource than the URL being called
    /// (RFC 9728 §3.3): the token would be minted for someone else, so it is refused.
    #[error(
        "the protected resource metadata at {metadata_url} is for resource {found:?}, not for \
         {called:?}; refusing to obtain a token for another resource (check the server URL)"
    )]
    ResourceMismatch {
        /// Where the metadata was fetched.
        metadata_url: String,
        /// The URL being called.
        called: String,
        /// The metadata's `resource`.
        found: String,
    },
    /// The authorization server's metadata lacks an endpoint the flow needs.
    #[error(
        "the authorization server {issuer} publishes no {field} in its metadata; it cannot issue \
         tokens to this client"
    )]
    MissingEndpoint {
        /// The authorization server's issuer.
        issuer: String,
        /// The missing metadata field, e.g. `token_endpoint`.
        field: &'static str,
    },
    /// The authorization server does not list the client authentication method (or signing
    /// algorithm) this client is configured for.
    #[error(
        "the authorization server {issuer} does not accept {method} (it lists {supported:?}); \
         configure a client authentication method it supports"
    )]
    AuthMethodNotSupported {
        /// The authorization server's issuer.
        issuer: String,
        /// The configured method, e.g. `private_key_jwt` or `private_key_jwt with ES256`.
        method: String,
        /// What the server lists.
        supported: Vec<String>,
    },
    /// The server still answers `403 insufficient_scope` after one step-up (or names no scope
    /// to step up to); the client does not loop.
    #[error(
        "{resource} still requires scope {required:?} after stepping up to {granted:?}; the \
         client or user is not allowed these scopes (grant them at the authorization server)"
    )]
    InsufficientScope {
        /// The MCP server URL.
        resource: String,
        /// The scopes the server asked for (may be empty when it named none).
        required: Vec<String>,
        /// The scopes of the token that was refused.
        granted: Vec<String>,
    },
    /// The server refused a freshly obtained token with `401`.
    #[error(
        "{resource} rejected a freshly obtained token ({reason}); check that the authorization \
         server issues tokens this resource accepts (audience, resource indicator)"
    )]
    TokenRejected {
        /// The MCP server URL.
        resource: String,
        /// The server's `error`/`error_description`, if any.
        reason: String,
    },
    /// A credential the flow starts from (e.g. the user's ID token) has expired.
    #[error(
        "the {credential} expired {ago_secs} s ago; obtain a fresh one (sign the user in again)"
    )]
    CredentialExpired {
        /// Which credential, e.g. `ID token`.
        credential: &'static str,
        /// How long ago it expired, in seconds.
        ago_secs: u64,
    },
    /// A pluggable token flow ([`crate::mcp_client::TokenProvider`]) failed; the source is
    /// the flow's own typed error (e.g. `id_jag::Error`).
    #[error("the {flow} flow failed: {source}")]
    Flow {
        /// The flow's name, e.g. `ID-JAG`.
        flow: &'static str,
        /// The flow's error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync + 'static>,
    },
    /// The MCP server could not be reached.
    #[error("could not reach {url}: {detail}")]
    ResourceUnreachable {
        /// The URL called.
        url: String,
        /// What the HTTP client reported.
        detail: String,
    },
}
