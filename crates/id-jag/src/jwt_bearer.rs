//! The RFC 7523 JWT-bearer authorization grant, client side.

use std::time::Instant;

use okta_auth::{AccessToken, TokenEndpointClient};

use crate::{Error, Step};

/// `grant_type` of the JWT-bearer authorization grant (RFC 7523 §2.1).
pub const GRANT_TYPE_JWT_BEARER: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";

/// Trades a JWT assertion (e.g. an ID-JAG) for an access token with the RFC 7523 grant.
///
/// The answer must be a `Bearer` token. Client authentication and timeouts come from the
/// [`okta_auth::TokenEndpointClient`].
///
/// ```no_run
/// use id_jag::JwtBearerClient;
/// use okta_auth::{ClientAuth, TokenEndpointClient};
///
/// # async fn run(id_jag: &str) -> Result<(), Box<dyn std::error::Error>> {
/// let resource_as = TokenEndpointClient::new(
///     "https://example.okta.com/oauth2/aus-mcp/v1/token",
///     ClientAuth::client_secret_basic("agent", "agent-secret"),
/// )?;
/// let token = JwtBearerClient::new(resource_as)
///     .grant(id_jag, &["mcp:connect".to_owned()])
///     .await?;
/// println!("scopes: {:?}", token.scopes());
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct JwtBearerClient {
    endpoint: TokenEndpointClient,
}

impl JwtBearerClient {
    /// A client of the token endpoint `endpoint` (with its client authentication).
    pub fn new(endpoint: TokenEndpointClient) -> Self {
        Self { endpoint }
    }

    /// The underlying token endpoint client.
    pub fn endpoint(&self) -> &TokenEndpointClient {
        &self.endpoint
    }

    /// Presents `assertion` and asks for `scopes` (omitted when empty: the assertion's
    /// scopes apply). Returns the access token; its scopes are the granted ones.
    pub async fn grant(&self, assertion: &str, scopes: &[String]) -> Result<AccessToken, Error> {
        let mut form = vec![
            ("grant_type".to_owned(), GRANT_TYPE_JWT_BEARER.to_owned()),
            ("assertion".to_owned(), assertion.to_owned()),
        ];
        if !scopes.is_empty() {
            form.push(("scope".to_owned(), scopes.join(" ")));
        }
        let sent_at = Instant::now();
        let answer = self
            .endpoint
            .request(form)
            .await
            .map_err(|e| Error::from_token_request(Step::JwtBearer, e))?;
        if !answer.is_bearer() {
            return Err(Error::UnexpectedTokenType {
                step: Step::JwtBearer,
                expected: "Bearer",
                found: answer.token_type,
            });
        }
        Ok(AccessToken::from_response(&answer, sent_at, scopes))
    }
}
