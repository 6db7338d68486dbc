//! Token endpoint grants: one module per grant type, plus the shared scope rules and the
//! token response. Adding a grant = a module here + a [`GrantType`] variant + a match arm
//! in [`dispatch`].

mod authorization_code;
mod client_credentials;
mod cross_app;
mod jwt_bearer;
mod password;
mod refresh;
mod response;
mod scopes;
mod token_exchange;

pub(crate) use authorization_code::{authorize_scopes, check_client_config, check_server_config};
pub(crate) use cross_app::CrossAppState;
pub(crate) use response::TokenResponse;
pub(crate) use scopes::parse as parse_scopes;

use axum::response::{IntoResponse, Response};

use http::HeaderMap;

use crate::client_auth::{AuthenticatedClient, authenticate};
use crate::config::GrantType;
use crate::form::{RESOURCE, TokenForm, repeated};
use crate::http::errors::OAuthError;
use crate::state::{ServerState, SimState};

/// Grants the org server implements.
const ORG_GRANTS: [GrantType; 3] = [
    GrantType::Password,
    GrantType::RefreshToken,
    GrantType::TokenExchange,
];

/// Grants custom servers implement.
const CUSTOM_GRANTS: [GrantType; 5] = [
    GrantType::ClientCredentials,
    GrantType::Password,
    GrantType::RefreshToken,
    GrantType::JwtBearer,
    GrantType::AuthorizationCode,
];

/// The grant types `server` accepts at its token endpoint.
pub(crate) fn supported(server: &ServerState) -> &'static [GrantType] {
    if server.is_org() {
        &ORG_GRANTS
    } else {
        &CUSTOM_GRANTS
    }
}

/// Handles a parsed token request: grant type, client authentication, grant permission,
/// then the grant itself.
pub(crate) async fn dispatch(
    state: &SimState,
    server: &ServerState,
    headers: &HeaderMap,
    form: &TokenForm,
) -> Result<Response, OAuthError> {
    let supported = supported(server);
    let names = || {
        supported
            .iter()
            .map(|g| g.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let grant_type = form.get("grant_type").ok_or_else(|| {
        OAuthError::invalid_request(format!(
            "The token request must specify a 'grant_type'. Valid values: [{}]",
            names()
        ))
    })?;
    let grant = GrantType::parse(grant_type)
        .filter(|g| supported.contains(g))
        .ok_or_else(|| {
            let shown: String = grant_type.chars().take(100).collect();
            OAuthError::unsupported_grant_type(format!(
                "The authorization grant type '{shown}' is not supported by this authorization \
             server. Supported grant types: [{}]",
                names()
            ))
        })?;
    // RFC 8707 §2 lets `resource` repeat; only the token exchange takes several (the ID-JAG's
    // `resource` claim becomes an array). The other grants take one: an authorization code or
    // refresh token is bound to a single resource, which becomes the access token's `aud`.
    if grant != GrantType::TokenExchange && form.resources().len() > 1 {
        return Err(OAuthError::invalid_request(repeated(RESOURCE)));
    }
    let client = authenticate(state, server, headers, form)?;
    if !client.record.config.grants.contains(&grant) {
        return Err(OAuthError::unauthorized_client(format!(
            "The client is not authorized to use the provided grant type. Configured grant \
             types: [{}].",
            client
                .record
                .config
                .grants
                .iter()
                .map(|g| g.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    tracing::debug!(
        client_id = client.id(),
        method = ?client.method,
        grant = grant.as_str(),
        "okta-sim token request authenticated"
    );
    run(grant, state, server, &client, form).await
}

async fn run(
    grant: GrantType,
    state: &SimState,
    server: &ServerState,
    client: &AuthenticatedClient<'_>,
    form: &TokenForm,
) -> Result<Response, OAuthError> {
    let response = match grant {
        GrantType::ClientCredentials => client_credentials::grant(server, client, form),
        GrantType::Password => password::grant(state, server, client, form),
        GrantType::RefreshToken => refresh::grant(state, server, client, form),
        GrantType::TokenExchange => {
            return token_exchange::grant(state, server, client, form).await;
        }
        GrantType::JwtBearer => return jwt_bearer::grant(state, server, client, form).await,
        GrantType::AuthorizationCode => authorization_code::grant(state, server, client, form),
    };
    response.map(IntoResponse::into_response)
}
