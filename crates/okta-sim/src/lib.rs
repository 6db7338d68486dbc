#![doc = include_str!("../README.md")]
#![allow(dead_code, unused_imports)] // TEMPORARY: the token endpoint lands in the next commit
mod builder;
mod client_auth;
mod config;
mod controls;
mod error;
mod grants;
mod http;
mod keys;
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
