#![doc = include_str!("../README.md")]

mod authorizer;
#[cfg(feature = "cedar")]
mod cedar;
mod cel;
mod engine;
mod error;
mod identity;
mod items;
pub mod layer;
mod pattern;
mod policy;
mod request;
mod sink;

pub use authorizer::Authorizer;
pub use cel::{CEL_VARIABLES, known_variables};
pub use engine::Decision;
pub use error::AuthzError;
pub use identity::Identity;
pub use items::ListItem;
pub use layer::{AuthzLayer, AuthzService, ExtensionIdentity, IdentityExtractor, UnknownMethods};
pub use pattern::Pattern;
pub use policy::{
    CedarSpec, DEFAULT_RULE_METHODS, DefaultAction, GroupTable, Policy, PolicyBuilder, Rule,
    ScopeMode,
};
pub use request::{PROMPTS_GET, RESOURCES_READ, Request, TOOLS_CALL};
pub use sink::{DecisionEvent, DecisionSink};
