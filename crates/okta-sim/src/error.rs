//! The crate's one error type for the Rust API (HTTP clients see OAuth JSON errors instead).

use std::net::SocketAddr;

/// What went wrong when configuring, starting or controlling a simulator.
///
/// HTTP requests to the simulator never produce this type: they get RFC 6749 §5.2 JSON
/// errors. This enum is for the Rust-side API only.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The listening socket could not be bound.
    #[error(
        "okta-sim could not listen on {addr}: {source}; choose a free port or port 0 for a random one"
    )]
    Bind {
        /// The address that was requested.
        addr: SocketAddr,
        /// The operating system's reason.
        #[source]
        source: std::io::Error,
    },
    /// The builder was given a configuration the simulator cannot serve.
    #[error("invalid okta-sim configuration: {0}")]
    Config(String),
    /// A control method named an authorization server that is not configured.
    #[error(
        "unknown authorization server `{0}`; configure it with OktaSimBuilder::auth_server (the org server is AuthServerId::Org)"
    )]
    UnknownAuthServer(String),
    /// A control method named a user that is not configured.
    #[error("unknown user `{0}`; configure it with OktaSimBuilder::user")]
    UnknownUser(String),
    /// Generating an RSA signing key failed inside the crypto library.
    #[error("generating an RSA-2048 signing key failed in aws-lc-rs; retry, this is not expected")]
    KeyGeneration,
    /// Signing a token failed inside the crypto library, or its claims could not be encoded.
    #[error("signing a token failed: {0}")]
    Signing(String),
}
