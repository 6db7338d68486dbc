//! One authenticated client of one token endpoint: posts a form, applies client
//! authentication, enforces a timeout and turns every answer into a typed result.

use std::time::Duration;

use http::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE};
use serde_json::Value;

use crate::token_response::error_from_answer;
use crate::{ClientAuth, Error, TokenResponse};

/// The default timeout of one token request.
pub const DEFAULT_TOKEN_REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// Answers larger than this are refused (a token response is a few KiB).
const MAX_ANSWER_BYTES: usize = 256 * 1024;

/// A client of one OAuth token endpoint with its client authentication.
///
/// It is the building block of [`crate::TokenSource`] and of the `id-jag` crate's clients:
/// give it the grant's form parameters, it adds client authentication, posts them
/// (`application/x-www-form-urlencoded`), and parses the answer (RFC 6749 §5.1/§5.2).
/// Redirects are not followed by the default HTTP client: a token endpoint that redirects is
/// misconfigured, and following would resend credentials.
///
/// ```no_run
/// use okta_auth::{ClientAuth, TokenEndpointClient};
///
/// # async fn run() -> Result<(), okta_auth::Error> {
/// let client = TokenEndpointClient::new(
///     "https://example.okta.com/oauth2/default/v1/token",
///     ClientAuth::client_secret_basic("agent", "agent-secret"),
/// )?;
/// let answer = client
///     .request(vec![
///         ("grant_type".into(), "client_credentials".into()),
///         ("scope".into(), "mcp:read".into()),
///     ])
///     .await?;
/// assert!(answer.is_bearer());
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct TokenEndpointClient {
    http: reqwest::Client,
    endpoint: String,
    auth: ClientAuth,
    timeout: Duration,
}

impl TokenEndpointClient {
    /// A client of `endpoint` authenticating with `auth`, with its own HTTP client (rustls, no
    /// redirects) and a 10 s timeout. The endpoint must be `https`, or `http` on a loopback
    /// host (for okta-sim and local tests).
    pub fn new(endpoint: impl Into<String>, auth: ClientAuth) -> Result<Self, Error> {
        Self::with_parts(endpoint.into(), auth, default_http_client()?)
    }

    pub(crate) fn with_parts(
        endpoint: String,
        auth: ClientAuth,
        http: reqwest::Client,
    ) -> Result<Self, Error> {
        check_endpoint(&endpoint)?;
        Ok(Self {
            http,
            endpoint,
            auth,
            timeout: DEFAULT_TOKEN_REQUEST_TIMEOUT,
        })
    }

    /// Uses `http` instead of the default HTTP client (e.g. to share a connection pool or to
    /// add a proxy). Its redirect policy is then yours.
    #[must_use]
    pub fn with_http_client(mut self, http: reqwest::Client) -> Self {
        self.http = http;
        self
    }

    /// Sets the timeout of each token request (connect to last byte).
    #[must_use]
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The token endpoint URL.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// The client authentication.
    pub fn client_auth(&self) -> &ClientAuth {
        &self.auth
    }

    /// The request timeout.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// Posts `form` (the grant's parameters, e.g. `grant_type` and `scope`) with client
    /// authentication added and returns the parsed success answer.
    ///
    /// Errors: [`Error::OAuth`] for RFC 6749 §5.2 answers, [`Error::TokenEndpointStatus`] for
    /// other error statuses, [`Error::TokenEndpointNotJson`] for a 2xx that is not a JSON object
    /// (an HTML login page, say), [`Error::InvalidTokenResponse`] for JSON without a usable
    /// `access_token`/`token_type`, [`Error::TokenEndpointTimeout`] and
    /// [`Error::TokenEndpointUnreachable`] for transport failures.
    pub async fn request(&self, mut form: Vec<(String, String)>) -> Result<TokenResponse, Error> {
        let authorization = self.auth.apply(&self.endpoint, &mut form)?;
        let grant_type = form
            .iter()
            .find(|(k, _)| k == "grant_type")
            .map(|(_, v)| v.clone())
            .unwrap_or_default();
        tracing::debug!(
            endpoint = %self.endpoint,
            client_id = %self.auth.client_id(),
            auth_method = self.auth.method_name(),
            grant_type = %grant_type,
            "requesting a token"
        );
        let mut request = self
            .http
            .post(&self.endpoint)
            .header(ACCEPT, "application/json")
            .form(&form)
            .timeout(self.timeout);
        if let Some(value) = authorization {
            request = request.header(AUTHORIZATION, value);
        }
        let mut response = request.send().await.map_err(|e| self.transport(&e))?;
        let status = response.status();
        let content_type = response
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| self.transport(&e))? {
            if body.len() + chunk.len() > MAX_ANSWER_BYTES {
                return Err(Error::InvalidTokenResponse {
                    endpoint: self.endpoint.clone(),
                    reason: format!("the answer is larger than {MAX_ANSWER_BYTES} bytes"),
                });
            }
            body.extend_from_slice(&chunk);
        }
        if !status.is_success() {
            let err = error_from_answer(&self.endpoint, status.as_u16(), content_type, &body);
            tracing::debug!(endpoint = %self.endpoint, status = status.as_u16(), error = %err, "token request failed");
            return Err(err);
        }
        match serde_json::from_slice::<Value>(&body) {
            Ok(Value::Object(map)) => TokenResponse::from_json(&self.endpoint, map),
            Ok(_) | Err(_) => Err(Error::TokenEndpointNotJson {
                endpoint: self.endpoint.clone(),
                status: status.as_u16(),
                content_type,
            }),
        }
    }

    fn transport(&self, e: &reqwest::Error) -> Error {
        if e.is_timeout() {
            Error::TokenEndpointTimeout {
                endpoint: self.endpoint.clone(),
                timeout: self.timeout,
            }
        } else {
            // reqwest's Display carries the URL (no secrets: credentials are never in it).
            let mut detail = e.to_string();
            let mut source = std::error::Error::source(e);
            while let Some(s) = source {
                detail.push_str(": ");
                detail.push_str(&s.to_string());
                source = s.source();
            }
            Error::TokenEndpointUnreachable {
                endpoint: self.endpoint.clone(),
                detail,
            }
        }
    }
}

/// The default HTTP client of token requests: rustls, no redirects.
pub(crate) fn default_http_client() -> Result<reqwest::Client, Error> {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| Error::InvalidClientConfig {
            reason: format!("could not build the HTTP client: {e}"),
        })
}

/// Accepts `https` URLs, and `http` only for loopback hosts.
pub(crate) fn check_endpoint(endpoint: &str) -> Result<(), Error> {
    let url = url::Url::parse(endpoint).map_err(|e| Error::InvalidClientConfig {
        reason: format!("the token endpoint `{endpoint}` is not a valid URL: {e}"),
    })?;
    if crate::fetch::is_https_or_loopback(&url) {
        return Ok(());
    }
    Err(Error::InvalidClientConfig {
        reason: format!(
            "the token endpoint `{endpoint}` must use https (http only on loopback), since client secrets are sent to it"
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoint_scheme_rules() {
        assert!(check_endpoint("https://example.okta.com/oauth2/v1/token").is_ok());
        assert!(check_endpoint("http://127.0.0.1:8080/token").is_ok());
        assert!(check_endpoint("http://localhost/token").is_ok());
        assert!(check_endpoint("http://[::1]:9/token").is_ok());
        let err = check_endpoint("http://example.okta.com/token")
            .unwrap_err()
            .to_string();
        assert!(err.contains("must use https"), "{err}");
        assert!(check_endpoint("not a url").is_err());
        assert!(check_endpoint("ftp://127.0.0.1/x").is_err());
    }
}
