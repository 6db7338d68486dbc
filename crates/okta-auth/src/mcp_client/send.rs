//! [`McpAuthClient::send`]: the 401/403 driver for plain `reqwest` requests.

use http::StatusCode;
use http::header::{AUTHORIZATION, WWW_AUTHENTICATE};

use super::McpAuthClient;
use crate::{AccessToken, BearerChallenge, Error};

/// What to do after an answer, given what was tried already.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Next {
    /// Hand the answer to the caller.
    Done,
    /// `401`: authorize, then retry.
    Authorize,
    /// `403 insufficient_scope`: step up, then retry.
    StepUp,
    /// `401` again after a fresh token.
    Rejected,
    /// `403 insufficient_scope` again after a step-up.
    StillInsufficient,
}

/// The retry policy shared by [`McpAuthClient::send`] and the rmcp transport: at most one
/// authorization and one step-up per request, never a loop.
pub(crate) fn next(
    status: StatusCode,
    challenge: Option<&str>,
    authorized: bool,
    stepped_up: bool,
) -> Next {
    match status {
        StatusCode::UNAUTHORIZED if !authorized => Next::Authorize,
        StatusCode::UNAUTHORIZED => Next::Rejected,
        StatusCode::FORBIDDEN => {
            let insufficient = challenge
                .and_then(BearerChallenge::parse)
                .is_some_and(|c| c.error.as_deref() == Some("insufficient_scope"));
            match (insufficient, stepped_up) {
                (false, _) => Next::Done,
                (true, false) => Next::StepUp,
                (true, true) => Next::StillInsufficient,
            }
        }
        _ => Next::Done,
    }
}

/// The error for a server that refused even a fresh token.
pub(crate) fn rejected(url: &str, challenge: Option<&str>) -> Error {
    let reason = challenge
        .and_then(BearerChallenge::parse)
        .map(|c| {
            let mut reason = c.error.unwrap_or_else(|| "no error code".to_owned());
            if let Some(d) = c.error_description {
                reason.push_str(": ");
                reason.push_str(&d);
            }
            reason
        })
        .unwrap_or_else(|| "no Bearer challenge".to_owned());
    Error::TokenRejected {
        resource: url.to_owned(),
        reason,
    }
}

/// The error for a server that still wants more scope after the one step-up.
pub(crate) fn still_insufficient(
    client: &McpAuthClient,
    url: &str,
    challenge: Option<&str>,
) -> Error {
    Error::InsufficientScope {
        resource: url.to_owned(),
        required: challenge
            .and_then(BearerChallenge::parse)
            .map(|c| c.scopes())
            .unwrap_or_default(),
        granted: client.scopes(url).unwrap_or_default(),
    }
}

impl McpAuthClient {
    /// Sends `request` with `http`, adding the bearer token for its URL (replacing any
    /// `Authorization` header), and reacts to the answer: a `401` runs
    /// [`McpAuthClient::authorize`] and retries once; a `403 insufficient_scope` runs
    /// [`McpAuthClient::step_up`] and retries once. Other answers (including other `403`s)
    /// are returned as they are. A request whose body cannot be cloned (a stream) is sent
    /// once, its `401`/`403` returned to the caller.
    ///
    /// # Errors
    /// [`Error::TokenRejected`] when a fresh token is refused with `401`,
    /// [`Error::InsufficientScope`] when the server still wants more scope after the step-up,
    /// [`Error::ResourceUnreachable`] for transport failures, and everything
    /// [`McpAuthClient::authorize`] and [`McpAuthClient::step_up`] return.
    pub async fn send(
        &self,
        http: &reqwest::Client,
        request: reqwest::Request,
    ) -> Result<reqwest::Response, Error> {
        let url = request.url().as_str().to_owned();
        let mut token: Option<AccessToken> = self.token_for(&url).await?;
        let (mut authorized, mut stepped_up) = (false, false);
        let mut original = Some(request);
        loop {
            let Some(template) = original.take() else {
                // Unreachable: every path below either returns or refills `original`.
                return Err(Error::Config("request consumed".into()));
            };
            let retry_copy = template.try_clone();
            let mut attempt = template;
            attempt.headers_mut().remove(AUTHORIZATION);
            if let Some(token) = &token {
                attempt
                    .headers_mut()
                    .insert(AUTHORIZATION, token.authorization_header()?);
            }
            let response = http
                .execute(attempt)
                .await
                .map_err(|e| Error::ResourceUnreachable {
                    url: url.clone(),
                    detail: e.to_string(),
                })?;
            let challenge = response
                .headers()
                .get(WWW_AUTHENTICATE)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            let decision = next(
                response.status(),
                challenge.as_deref(),
                authorized,
                stepped_up,
            );
            let Some(copy) = retry_copy else {
                return Ok(response);
            };
            let sent = token.as_ref().map(|t| t.secret().to_owned());
            match decision {
                Next::Done => return Ok(response),
                Next::Rejected => return Err(rejected(&url, challenge.as_deref())),
                Next::StillInsufficient => {
                    return Err(still_insufficient(self, &url, challenge.as_deref()));
                }
                Next::Authorize => {
                    authorized = true;
                    token = Some(
                        self.authorize(&url, challenge.as_deref(), sent.as_deref())
                            .await?,
                    );
                }
                Next::StepUp => {
                    stepped_up = true;
                    let header = challenge.as_deref().unwrap_or_default();
                    token = Some(self.step_up(&url, header, sent.as_deref()).await?);
                }
            }
            original = Some(copy);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{Next, next};
    use http::StatusCode;

    #[test]
    fn at_most_one_authorization_and_one_step_up() {
        let scope = Some(r#"Bearer error="insufficient_scope", scope="b""#);
        assert_eq!(next(StatusCode::OK, None, false, false), Next::Done);
        assert_eq!(
            next(StatusCode::UNAUTHORIZED, None, false, false),
            Next::Authorize
        );
        assert_eq!(
            next(StatusCode::UNAUTHORIZED, None, true, false),
            Next::Rejected
        );
        assert_eq!(
            next(StatusCode::FORBIDDEN, scope, true, false),
            Next::StepUp
        );
        assert_eq!(
            next(StatusCode::FORBIDDEN, scope, true, true),
            Next::StillInsufficient
        );
        assert_eq!(next(StatusCode::FORBIDDEN, None, true, false), Next::Done);
        assert_eq!(
            next(
                StatusCode::FORBIDDEN,
                Some(r#"Bearer error="invalid_token""#),
                false,
                false
            ),
            Next::Done
        );
    }
}
