//! URLs of the sign-in flow: authorization endpoint and dynamic client registration.

use super::OktaSim;
use crate::config::AuthServerId;
use crate::error::Error;
use crate::redirect_uri::check_resource;
use crate::state::write;

impl OktaSim {
    /// `{base}/oauth2/{id}/v1/authorize`: where clients send users to sign in (authorization
    /// code with PKCE S256; `login_hint=<login>` signs in without the page).
    pub fn authorization_endpoint(&self, server_id: &str) -> String {
        format!("{}/oauth2/{server_id}/v1/authorize", self.state.base_url)
    }

    /// Lets custom server `server_id` issue tokens for RFC 8707 resource `resource` from now
    /// on (like [`crate::AuthServer::resources`], for URLs only known after start, e.g. a
    /// gateway on a random port). Adding a resource twice is harmless.
    ///
    /// # Errors
    /// [`Error::UnknownAuthServer`]; [`Error::Config`] if `resource` is not an absolute URI
    /// without fragment.
    pub fn allow_resource(
        &self,
        server_id: &str,
        resource: impl Into<String>,
    ) -> Result<(), Error> {
        let server = self
            .state
            .server(&AuthServerId::Custom(server_id.to_owned()))
            .ok_or_else(|| Error::UnknownAuthServer(server_id.to_owned()))?;
        let resource = resource.into();
        check_resource(&resource)
            .map_err(|why| Error::Config(format!("resource `{resource}`: {why}")))?;
        let mut resources = write(&server.resources);
        if !resources.contains(&resource) {
            resources.push(resource);
        }
        Ok(())
    }

    /// `{base}/oauth2/v1/clients`: the org's dynamic client registration endpoint (RFC 7591),
    /// advertised as `registration_endpoint` in every discovery document.
    pub fn registration_endpoint(&self) -> String {
        format!("{}/oauth2/v1/clients", self.state.base_url)
    }
}
