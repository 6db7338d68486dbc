//! Okta token verification in front of the MCP endpoint (okta-auth), and the
//! RFC 9728 protected-resource metadata that tells clients where to get tokens.

use okta_auth::{AuthLayer, AuthMode, JwksCache, ProtectedResourceMetadata, StartupMode, Verifier};

use crate::config::{AuthConfig, AuthModeConfig};
use crate::error::ProxyError;

/// Everything the front needs for authentication.
#[derive(Clone)]
pub(crate) struct FrontAuth {
    pub(crate) layer: AuthLayer,
    pub(crate) metadata: ProtectedResourceMetadata,
    pub(crate) jwks: JwksCache,
    /// The verifier behind `layer` (the stdio front checks its token with it).
    pub(crate) verifier: Verifier,
}

/// Builds the verifier (keys are fetched in the background: `/readyz` says
/// when they are there), the layer and the metadata for `resource`.
pub(crate) async fn build(config: &AuthConfig, resource: &str) -> Result<FrontAuth, ProxyError> {
    let mut jwks = JwksCache::builder().startup(StartupMode::Lazy);
    jwks = match &config.jwks_uri {
        Some(uri) => jwks.jwks_uri(uri.clone()).issuer(config.issuer.clone()),
        None => jwks.issuer(config.issuer.clone()),
    };
    let jwks = jwks.build().await?;
    let verifier = Verifier::builder(jwks.clone())
        .issuer(config.issuer.clone())
        .audiences(config.audiences.iter().cloned())
        .build()?;
    let metadata = ProtectedResourceMetadata::new(resource)
        .authorization_server(config.issuer.clone())
        .scopes(config.scopes_supported.iter().cloned())
        .resource_name("mcp-proxy");
    let mode = match config.mode {
        AuthModeConfig::Strict => AuthMode::Strict,
        AuthModeConfig::Optional => AuthMode::Optional,
        AuthModeConfig::Permissive => AuthMode::Permissive,
    };
    let layer = AuthLayer::new(verifier.clone())
        .mode(mode)
        .realm("mcp-proxy")
        .challenge_scope(config.challenge_scopes.iter().cloned())
        .resource_metadata_from(&metadata)?;
    Ok(FrontAuth {
        layer,
        metadata,
        jwks,
        verifier,
    })
}
