#![doc = include_str!("../README.md")]

mod aggregate;
pub mod audit;
mod auth;
mod backends;
mod call_json;
pub mod check;
pub mod cli;
pub mod config;
pub mod demo;
pub mod dev;
mod drain;
mod endpoint;
mod error;
mod front;
mod front_json;
mod front_sessions;
mod gateway;
mod identity;
mod metrics;
mod parse_error;
mod sessions;
mod stdio;
mod step_up;

pub use backends::{BackendStatus, RELAY_FAILED};
pub use error::{Collision, ProxyError};
pub use front::{BACKEND_TIMEOUT, BACKEND_UNAVAILABLE, FORBIDDEN};
pub use gateway::Gateway;
pub use stdio::{TOKEN_ENV, TOKEN_EXPIRED};
