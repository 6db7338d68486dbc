//! RFC 8693 OAuth 2.0 Token Exchange, client side.

use std::fmt;

use okta_auth::{TokenEndpointClient, TokenResponse};

use crate::{Error, Step};

/// `grant_type` of a token exchange (RFC 8693 §2.1).
pub const GRANT_TYPE_TOKEN_EXCHANGE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
/// Token type URI of an OpenID Connect ID token (RFC 8693 §3).
pub const TOKEN_TYPE_ID_TOKEN: &str = "urn:ietf:params:oauth:token-type:id_token";
/// Token type URI of an OAuth access token (RFC 8693 §3).
pub const TOKEN_TYPE_ACCESS_TOKEN: &str = "urn:ietf:params:oauth:token-type:access_token";
/// Token type URI of an Identity Assertion JWT Authorization Grant (ID-JAG).
pub const TOKEN_TYPE_ID_JAG: &str = "urn:ietf:params:oauth:token-type:id-jag";

/// A token exchange request (RFC 8693 §2.1).
///
/// `Debug` never shows the subject or actor token.
///
/// ```
/// use id_jag::{TOKEN_TYPE_ID_JAG, TOKEN_TYPE_ID_TOKEN, TokenExchangeRequest};
///
/// let request = TokenExchangeRequest::new("eyJ...id-token", TOKEN_TYPE_ID_TOKEN)
///     .requested_token_type(TOKEN_TYPE_ID_JAG)
///     .audience("https://example.okta.com/oauth2/aus-mcp")
///     .resource("https://mcp.example.com/mcp")
///     .scopes(["mcp:connect", "mcp:tools:read"]);
/// assert!(!format!("{request:?}").contains("id-token"));
/// ```
#[derive(Clone)]
pub struct TokenExchangeRequest {
    subject_token: String,
    subject_token_type: String,
    requested_token_type: Option<String>,
    audience: Option<String>,
    resources: Vec<String>,
    scopes: Vec<String>,
    actor: Option<(String, String)>,
}

impl TokenExchangeRequest {
    /// A request exchanging `subject_token` of type `subject_token_type`.
    pub fn new(subject_token: impl Into<String>, subject_token_type: impl Into<String>) -> Self {
        Self {
            subject_token: subject_token.into(),
            subject_token_type: subject_token_type.into(),
            requested_token_type: None,
            audience: None,
            resources: Vec::new(),
            scopes: Vec::new(),
            actor: None,
        }
    }

    /// The token type wanted (`requested_token_type`).
    #[must_use]
    pub fn requested_token_type(mut self, token_type: impl Into<String>) -> Self {
        self.requested_token_type = Some(token_type.into());
        self
    }

    /// The logical target (`audience`), e.g. the resource authorization server's issuer.
    #[must_use]
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        self.audience = Some(audience.into());
        self
    }

    /// Adds an RFC 8707 `resource` (repeatable).
    #[must_use]
    pub fn resource(mut self, resource: impl Into<String>) -> Self {
        self.resources.push(resource.into());
        self
    }

    /// Adds scopes (sent space-separated in `scope`).
    #[must_use]
    pub fn scopes<I, S>(mut self, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.scopes.extend(scopes.into_iter().map(Into::into));
        self
    }

    /// Sets the `actor_token` and its `actor_token_type` (delegation, RFC 8693 §1.1).
    #[must_use]
    pub fn actor_token(mut self, token: impl Into<String>, token_type: impl Into<String>) -> Self {
        self.actor = Some((token.into(), token_type.into()));
        self
    }

    /// The requested scopes.
    pub fn requested_scopes(&self) -> &[String] {
        &self.scopes
    }

    fn to_form(&self) -> Vec<(String, String)> {
        let mut form = vec![
            (
                "grant_type".to_owned(),
                GRANT_TYPE_TOKEN_EXCHANGE.to_owned(),
            ),
            ("subject_token".to_owned(), self.subject_token.clone()),
            (
                "subject_token_type".to_owned(),
                self.subject_token_type.clone(),
            ),
        ];
        if let Some(t) = &self.requested_token_type {
            form.push(("requested_token_type".to_owned(), t.clone()));
        }
        if let Some(a) = &self.audience {
            form.push(("audience".to_owned(), a.clone()));
        }
        for r in &self.resources {
            form.push(("resource".to_owned(), r.clone()));
        }
        if !self.scopes.is_empty() {
            form.push(("scope".to_owned(), self.scopes.join(" ")));
        }
        if let Some((token, token_type)) = &self.actor {
            form.push(("actor_token".to_owned(), token.clone()));
            form.push(("actor_token_type".to_owned(), token_type.clone()));
        }
        form
    }
}

impl fmt::Debug for TokenExchangeRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenExchangeRequest")
            .field("subject_token", &"<redacted>")
            .field("subject_token_type", &self.subject_token_type)
            .field("requested_token_type", &self.requested_token_type)
            .field("audience", &self.audience)
            .field("resources", &self.resources)
            .field("scopes", &self.scopes)
            .field("actor_token", &self.actor.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

/// A token exchange answer (RFC 8693 §2.2.1). `Debug` never shows the token.
#[derive(Clone)]
pub struct TokenExchangeResponse {
    access_token: String,
    /// `issued_token_type`: what `access_token` holds.
    pub issued_token_type: String,
    /// `token_type` (`N_A` when the token is not an access token, e.g. an ID-JAG).
    pub token_type: String,
    /// `expires_in` in seconds, if sent.
    pub expires_in: Option<u64>,
    /// `scope` as granted, if sent.
    pub scope: Option<String>,
}

impl TokenExchangeResponse {
    /// The issued token (named `access_token` by RFC 8693 whatever its type). A secret.
    pub fn access_token(&self) -> &str {
        &self.access_token
    }

    /// The granted scopes, split on spaces (`None` when `scope` was omitted).
    pub fn scopes(&self) -> Option<Vec<String>> {
        self.scope
            .as_deref()
            .map(|s| s.split_ascii_whitespace().map(str::to_owned).collect())
    }

    fn from_response(step: Step, endpoint: &str, r: TokenResponse) -> Result<Self, Error> {
        let Some(issued_token_type) = r.issued_token_type.clone() else {
            return Err(Error::from_token_request(
                step,
                okta_auth::Error::InvalidTokenResponse {
                    endpoint: endpoint.to_owned(),
                    reason: "`issued_token_type` is missing (RFC 8693 §2.2.1 requires it)".into(),
                },
            ));
        };
        Ok(Self {
            access_token: r.access_token().to_owned(),
            issued_token_type,
            token_type: r.token_type.clone(),
            expires_in: r.expires_in,
            scope: r.scope.clone(),
        })
    }
}

impl fmt::Debug for TokenExchangeResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenExchangeResponse")
            .field("access_token", &"<redacted>")
            .field("issued_token_type", &self.issued_token_type)
            .field("token_type", &self.token_type)
            .field("expires_in", &self.expires_in)
            .field("scope", &self.scope)
            .finish()
    }
}

/// An RFC 8693 token exchange client of one token endpoint.
///
/// Client authentication (`client_secret_basic`, `client_secret_post`, `private_key_jwt`),
/// timeouts and answer parsing come from [`okta_auth::TokenEndpointClient`]. OAuth errors map
/// to [`Error::OAuth`] (with the RFC code: `invalid_grant`, `invalid_target`, …) or, when the
/// user must act, [`Error::InteractionRequired`] carrying the consent URL.
///
/// ```no_run
/// use id_jag::{TOKEN_TYPE_ID_JAG, TOKEN_TYPE_ID_TOKEN, TokenExchangeClient, TokenExchangeRequest};
/// use okta_auth::{ClientAuth, TokenEndpointClient};
///
/// # async fn run(id_token: &str) -> Result<(), Box<dyn std::error::Error>> {
/// let idp = TokenEndpointClient::new(
///     "https://example.okta.com/oauth2/v1/token",
///     ClientAuth::client_secret_basic("agent", "agent-secret"),
/// )?;
/// let answer = TokenExchangeClient::new(idp)
///     .exchange(
///         &TokenExchangeRequest::new(id_token, TOKEN_TYPE_ID_TOKEN)
///             .requested_token_type(TOKEN_TYPE_ID_JAG)
///             .audience("https://example.okta.com/oauth2/aus-mcp")
///             .scopes(["mcp:connect"]),
///     )
///     .await?;
/// assert_eq!(answer.issued_token_type, TOKEN_TYPE_ID_JAG);
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct TokenExchangeClient {
    endpoint: TokenEndpointClient,
}

impl TokenExchangeClient {
    /// A client of the token endpoint `endpoint` (with its client authentication).
    pub fn new(endpoint: TokenEndpointClient) -> Self {
        Self { endpoint }
    }

    /// The underlying token endpoint client.
    pub fn endpoint(&self) -> &TokenEndpointClient {
        &self.endpoint
    }

    /// Performs the exchange. The answer must carry `issued_token_type`.
    pub async fn exchange(
        &self,
        request: &TokenExchangeRequest,
    ) -> Result<TokenExchangeResponse, Error> {
        self.exchange_as(Step::TokenExchange, request).await
    }

    pub(crate) async fn exchange_as(
        &self,
        step: Step,
        request: &TokenExchangeRequest,
    ) -> Result<TokenExchangeResponse, Error> {
        let answer = self
            .endpoint
            .request(request.to_form())
            .await
            .map_err(|e| Error::from_token_request(step, e))?;
        TokenExchangeResponse::from_response(step, self.endpoint.endpoint(), answer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_has_every_parameter_in_order() {
        let form = TokenExchangeRequest::new("sub-tok", TOKEN_TYPE_ID_TOKEN)
            .requested_token_type(TOKEN_TYPE_ID_JAG)
            .audience("aud")
            .resource("r1")
            .resource("r2")
            .scopes(["a", "b"])
            .actor_token("act", TOKEN_TYPE_ACCESS_TOKEN)
            .to_form();
        let names: Vec<&str> = form.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            names,
            [
                "grant_type",
                "subject_token",
                "subject_token_type",
                "requested_token_type",
                "audience",
                "resource",
                "resource",
                "scope",
                "actor_token",
                "actor_token_type"
            ]
        );
        assert_eq!(form[7].1, "a b");
        let minimal = TokenExchangeRequest::new("t", TOKEN_TYPE_ID_TOKEN).to_form();
        assert_eq!(minimal.len(), 3);
    }

    #[test]
    fn debug_hides_tokens() {
        let r = TokenExchangeRequest::new("secret-subject", "x").actor_token("secret-actor", "y");
        let dbg = format!("{r:?}");
        assert!(!dbg.contains("secret-"), "{dbg}");
    }
}
