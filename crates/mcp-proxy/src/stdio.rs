//! The gateway's MCP front on stdin/stdout, for a client that runs the
//! gateway as its child process (`mcp-proxy --stdio`).
//!
//! There is no HTTP request, so no `Authorization` header: as the MCP
//! authorization spec says of the stdio transport, the credentials come from
//! the environment. With `auth:` configured, the caller's Okta access token
//! is read from [`TOKEN_ENV`], verified once at start with the HTTP front's
//! okta-auth `Verifier`, and its claims are the identity of every request of
//! the session. From the token's `exp` on, lists and governed requests
//! (`tools/call`, `prompts/get`, `resources/read`) fail closed with
//! [`TOKEN_EXPIRED`]: the session has to be restarted with a fresh token.
//! Without `auth:` the session is anonymous.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use mcp_authz::Identity;
use rmcp::ErrorData as McpError;
use rmcp::model::{ClientNotification, ClientRequest, ErrorCode, ProtocolVersion, ServerResult};
use rmcp::service::{NotificationContext, RequestContext, RoleServer, Service};
use serde_json::json;

use crate::auth::FrontAuth;
use crate::config::GatewayConfig;
use crate::error::ProxyError;
use crate::front::GatewayHandler;
use crate::identity::{anonymous, from_claims};

/// The environment variable `--stdio` reads the caller's access token from.
pub const TOKEN_ENV: &str = "MCP_PROXY_TOKEN";

/// Gateway-specific JSON-RPC error code: the access token of this stdio
/// session has expired; restart the gateway with a fresh one.
pub const TOKEN_EXPIRED: i32 = -32012;

/// The requests that need a caller whose token is still valid: the three
/// governed methods and the lists the policy filters.
const NEEDS_VALID_TOKEN: &[&str] = &[
    "tools/call",
    "prompts/get",
    "resources/read",
    "tools/list",
    "prompts/list",
    "resources/list",
    "resources/templates/list",
];

impl GatewayConfig {
    /// What `--stdio` needs of this config before anything starts: no audit
    /// lines on stdout (stdout is the MCP channel), and with `auth:` a
    /// non-empty `token` (the value of [`TOKEN_ENV`]; verified later, when
    /// the gateway serves).
    pub fn check_stdio(&self, token: Option<&str>) -> Result<(), ProxyError> {
        if self.audit.stdout {
            return Err(self.field_error(
                "audit.stdout",
                "--stdio speaks MCP on stdout, so audit lines cannot go there; set `audit.file` instead",
            ));
        }
        if let Some(auth) = &self.auth
            && token.is_none_or(|t| t.trim().is_empty())
        {
            return Err(ProxyError::Stdio(format!(
                "the config has `auth:`, so the caller's Okta access token must be in the environment variable {TOKEN_ENV} (MCP authorization: a stdio server takes its credentials from the environment), and it is not set; set it to an access token issued by {} for one of [{}]",
                auth.issuer,
                auth.audiences.join(", ")
            )));
        }
        Ok(())
    }
}

/// The fixed caller of every request of a stdio session; `front::caller`
/// takes it from the request's extensions instead of the HTTP token.
#[derive(Clone)]
pub(crate) struct SessionIdentity(pub(crate) Identity);

/// Who a stdio session acts as.
#[derive(Clone)]
pub(crate) struct StdioCaller {
    identity: Identity,
    /// `exp` of the token (seconds since the Unix epoch); `None` when anonymous.
    expires: Option<u64>,
}

impl StdioCaller {
    /// Anonymous: no `auth:` in the config.
    pub(crate) fn anonymous() -> Self {
        Self {
            identity: anonymous(),
            expires: None,
        }
    }

    /// Verifies `token` with the front's verifier (issuer, audience,
    /// signature, times), fetching the signing keys first when there are
    /// none yet. Errors name [`TOKEN_ENV`] and never contain the token.
    pub(crate) async fn verify(auth: &FrontAuth, token: &str) -> Result<Self, ProxyError> {
        let issuer = auth.verifier.issuer().to_owned();
        if auth.jwks.kids().is_empty() {
            auth.jwks.refresh().await.map_err(|e| {
                ProxyError::Stdio(format!(
                    "cannot check the token in {TOKEN_ENV}: the signing keys of {issuer} are unavailable ({e}); check the issuer is reachable and start again"
                ))
            })?;
        }
        let claims = auth.verifier.verify(token.trim()).await.map_err(|e| {
            let audiences = auth.verifier.audiences().join(", ");
            ProxyError::Stdio(match e {
                okta_auth::Error::Expired => format!(
                    "the token in {TOKEN_ENV} has expired; get a fresh access token (issuer {issuer}) and start again"
                ),
                other => format!(
                    "the token in {TOKEN_ENV} was refused: {other}; it must be an access token issued by {issuer} for one of [{audiences}]"
                ),
            })
        })?;
        let caller = Self {
            identity: from_claims(&claims),
            expires: Some(claims.exp),
        };
        // The verifier allows some clock skew past `exp`; the session would
        // refuse every request at once, so refuse to start instead.
        if caller.check().is_err() {
            return Err(ProxyError::Stdio(format!(
                "the token in {TOKEN_ENV} has expired; get a fresh access token (issuer {issuer}) and start again"
            )));
        }
        Ok(caller)
    }

    /// The caller's `sub`, for the startup log line (`None` when anonymous).
    pub(crate) fn subject(&self) -> Option<&str> {
        self.identity.subject()
    }

    /// How long the token stays valid (`None`: anonymous, never expires).
    pub(crate) fn valid_for(&self) -> Option<Duration> {
        self.expires
            .map(|exp| Duration::from_secs(exp.saturating_sub(now_secs())))
    }

    /// `Err` (fail closed) once the token has expired.
    fn check(&self) -> Result<(), McpError> {
        match self.expires {
            Some(exp) if now_secs() >= exp => Err(McpError::new(
                ErrorCode(TOKEN_EXPIRED),
                format!(
                    "the access token of this session (from {TOKEN_ENV}) has expired; restart mcp-proxy --stdio with a fresh token"
                ),
                Some(json!({ "reason": "token_expired", "expired_at": exp })),
            )),
            _ => Ok(()),
        }
    }
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// The gateway's handler with the session's fixed caller: every request
/// carries [`SessionIdentity`] in its extensions, and lists and governed
/// requests are refused once the caller's token has expired.
pub(crate) struct StdioFront {
    handler: GatewayHandler,
    caller: StdioCaller,
}

impl StdioFront {
    pub(crate) fn new(handler: GatewayHandler, caller: StdioCaller) -> Self {
        Self { handler, caller }
    }
}

impl Service<RoleServer> for StdioFront {
    async fn handle_request(
        &self,
        request: ClientRequest,
        mut context: RequestContext<RoleServer>,
    ) -> Result<ServerResult, McpError> {
        if NEEDS_VALID_TOKEN.contains(&request.method()) {
            self.caller.check()?;
        }
        context
            .extensions
            .insert(SessionIdentity(self.caller.identity.clone()));
        self.handler.handle_request(request, context).await
    }

    async fn handle_notification(
        &self,
        notification: ClientNotification,
        context: NotificationContext<RoleServer>,
    ) -> Result<(), McpError> {
        self.handler
            .handle_notification(notification, context)
            .await
    }

    fn get_info(&self) -> rmcp::model::ServerConfig {
        Service::get_info(&self.handler)
    }

    fn supported_protocol_versions(&self) -> std::borrow::Cow<'static, [ProtocolVersion]> {
        Service::supported_protocol_versions(&self.handler)
    }
}

#[cfg(test)]
mod tests {
    use super::{StdioCaller, TOKEN_EXPIRED, now_secs};

    #[test]
    fn an_expired_caller_fails_closed_and_anonymous_never_expires() {
        let expired = StdioCaller {
            identity: crate::identity::anonymous(),
            expires: Some(now_secs() - 1),
        };
        let error = expired.check().unwrap_err();
        assert_eq!(error.code.0, TOKEN_EXPIRED);
        assert!(
            error.message.contains("MCP_PROXY_TOKEN"),
            "{}",
            error.message
        );
        assert!(error.message.contains("restart"), "{}", error.message);
        let valid = StdioCaller {
            identity: crate::identity::anonymous(),
            expires: Some(now_secs() + 60),
        };
        assert!(valid.check().is_ok());
        assert!(valid.valid_for().unwrap() <= std::time::Duration::from_secs(60));
        assert!(StdioCaller::anonymous().check().is_ok());
        assert!(StdioCaller::anonymous().valid_for().is_none());
    }
}
