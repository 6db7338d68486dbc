//! URLs of the sign-in flow: authorization endpoint and dynamic client registration.

use super::OktaSim;

impl OktaSim {
    /// `{base}/oauth2/{id}/v1/authorize`: where clients send users to sign in (authorization
    /// code with PKCE S256; `login_hint=<login>` signs in without the page).
    pub fn authorization_endpoint(&self, server_id: &str) -> String {
        format!("{}/oauth2/{server_id}/v1/authorize", self.state.base_url)
    }

    /// `{base}/oauth2/v1/clients`: the org's dynamic client registration endpoint (RFC 7591),
    /// advertised as `registration_endpoint` in every discovery document.
    pub fn registration_endpoint(&self) -> String {
        format!("{}/oauth2/v1/clients", self.state.base_url)
    }
}
