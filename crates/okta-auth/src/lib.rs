//! Verify Okta access tokens (JWT/JWKS), protect tower/axum services (RFC 6750, RFC 9728), and obtain tokens from Okta.
