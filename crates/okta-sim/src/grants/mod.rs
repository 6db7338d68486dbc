//! Token endpoint grants: one module per grant type.

use crate::config::GrantType;
use crate::state::ServerState;

/// Grants the org server implements.
const ORG_GRANTS: [GrantType; 2] = [GrantType::Password, GrantType::RefreshToken];

/// Grants custom servers implement.
const CUSTOM_GRANTS: [GrantType; 3] = [
    GrantType::ClientCredentials,
    GrantType::Password,
    GrantType::RefreshToken,
];

/// The grant types `server` accepts at its token endpoint.
pub(crate) fn supported(server: &ServerState) -> &'static [GrantType] {
    if server.is_org() {
        &ORG_GRANTS
    } else {
        &CUSTOM_GRANTS
    }
}
