//! Things that appear in `*/list` results and can be filtered.

/// An item of a `tools/list`, `prompts/list` or `resources/list` result.
///
/// `authz_name` is what policies match: the name of a tool or prompt, the URI
/// of a resource. `None` means the item cannot be identified and is dropped.
pub trait ListItem {
    /// The name (or URI) policies match against.
    fn authz_name(&self) -> Option<&str>;
}

impl ListItem for String {
    fn authz_name(&self) -> Option<&str> {
        Some(self)
    }
}

impl ListItem for &str {
    fn authz_name(&self) -> Option<&str> {
        Some(self)
    }
}

#[cfg(feature = "rmcp")]
impl ListItem for rmcp::model::Tool {
    fn authz_name(&self) -> Option<&str> {
        Some(&self.name)
    }
}

#[cfg(feature = "rmcp")]
impl ListItem for rmcp::model::Prompt {
    fn authz_name(&self) -> Option<&str> {
        Some(&self.name)
    }
}

#[cfg(feature = "rmcp")]
impl ListItem for rmcp::model::Resource {
    fn authz_name(&self) -> Option<&str> {
        Some(&self.uri)
    }
}
