//! # okta-mcp
//!
//! Okta identity in front of Model Context Protocol (MCP) servers. This crate is
//! a thin facade: each part lives in its own crate and is re-exported here behind
//! a Cargo feature, so you can depend on `okta-mcp` alone or on the parts directly.
//!
//! | feature | crate | what it does |
//! |---|---|---|
//! | `okta-auth` (default) | [`okta_auth`] | verify Okta JWTs, tower auth layer, RFC 9728 metadata, token clients |
//! | `id-jag` | [`id_jag`] | cross-app access: token exchange, the ID-JAG flow, the ID-JAG validator |
//! | `mcp-authz` (default) | [`mcp_authz`] | scope-, group- and CEL-based authorization of MCP requests |
//! | `okta-sim` | [`okta_sim`] | an in-process Okta authorization-server simulator for tests |

#[cfg(feature = "okta-auth")]
pub use okta_auth;

#[cfg(feature = "id-jag")]
pub use id_jag;

#[cfg(feature = "mcp-authz")]
pub use mcp_authz;

#[cfg(feature = "okta-sim")]
pub use okta_sim;
