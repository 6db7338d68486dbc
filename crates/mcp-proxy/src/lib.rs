#![doc = include_str!("../README.md")]

mod aggregate;
mod auth;
mod backends;
pub mod check;
pub mod cli;
pub mod config;
pub mod demo;
mod error;
mod front;
mod gateway;
mod parse_error;

pub use backends::BackendStatus;
pub use error::{Collision, ProxyError};
pub use front::{BACKEND_TIMEOUT, BACKEND_UNAVAILABLE};
pub use gateway::Gateway;
