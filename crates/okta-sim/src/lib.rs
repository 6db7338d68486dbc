#![doc = include_str!("../README.md")]
mod builder;
mod client_auth;
mod codes;
mod config;
mod controls;
mod error;
mod form;
mod grants;
mod http;
mod keys;
mod pkce;
mod redirect_uri;
mod registry;
mod sim;
mod state;
mod tokens;

pub use builder::{DEFAULT_AUTH_SERVER, OktaSimBuilder};
pub use config::{
    AuthServer, AuthServerId, GrantType, GroupsClaim, KeyRotation, RefreshTokenRotation, SimClient,
    SimUser,
};
pub use error::Error;
pub use sim::OktaSim;
pub use tokens::AccessTokenSpec;
pub use tokens::MINTED_CLIENT_ID;
