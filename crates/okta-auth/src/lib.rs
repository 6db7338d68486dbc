//! Verify Okta access tokens (JWT/JWKS), protect tower/axum services (RFC 6750,
//! RFC 9728), and obtain tokens from Okta.

mod error;

pub use error::Error;

// ---- verification side: modules and re-exports ----

mod discovery;
mod fetch;

pub use discovery::{AuthorizationServerMetadata, discover};

// ---- token client side: modules and re-exports ----
