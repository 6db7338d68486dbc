//! The aggregate catalog: every live backend's tools, prompts and resources
//! under `<prefix><separator><name>`, plus the index that routes an exposed
//! name back to its backend and original name.

use std::collections::HashMap;
use std::collections::hash_map::Entry as MapEntry;
use std::sync::Arc;

use rmcp::model::{Prompt, Resource, Tool};

use crate::backends::Backend;
use crate::error::{Collision, ProxyError};

/// Where an exposed item really lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Route {
    /// Index of the backend in config order.
    pub(crate) backend: usize,
    /// The item's name (or URI) at the backend.
    pub(crate) original: String,
}

/// A consistent snapshot of everything the gateway exposes.
#[derive(Default)]
pub(crate) struct Catalog {
    pub(crate) tools: Vec<Tool>,
    pub(crate) prompts: Vec<Prompt>,
    pub(crate) resources: Vec<Resource>,
    tool_routes: HashMap<String, Route>,
    prompt_routes: HashMap<String, Route>,
    resource_routes: HashMap<String, Route>,
}

impl Catalog {
    pub(crate) fn tool(&self, exposed: &str) -> Option<&Route> {
        self.tool_routes.get(exposed)
    }
    pub(crate) fn prompt(&self, exposed: &str) -> Option<&Route> {
        self.prompt_routes.get(exposed)
    }
    pub(crate) fn resource(&self, uri: &str) -> Option<&Route> {
        self.resource_routes.get(uri)
    }
}

/// The name a backend's item is exposed under.
pub(crate) fn exposed_name(prefix: &str, separator: &str, name: &str) -> String {
    if prefix.is_empty() {
        name.to_owned()
    } else {
        format!("{prefix}{separator}{name}")
    }
}

/// Builds the catalog from the backends that are up now.
///
/// With `strict`, a collision is an error naming both sources (startup);
/// otherwise the first backend in config order keeps the name and the
/// collision is logged (a backend that changed its lists at runtime must not
/// take the gateway down).
pub(crate) fn build(
    backends: &[Arc<Backend>],
    separator: &str,
    strict: bool,
) -> Result<Catalog, ProxyError> {
    let mut catalog = Catalog::default();
    for (index, backend) in backends.iter().enumerate() {
        let Some(live) = backend.live() else { continue };
        let prefix = backend.config.prefix();
        for tool in &live.tools {
            let name = exposed_name(prefix, separator, &tool.name);
            if claim(
                &mut catalog.tool_routes,
                backends,
                "tool",
                &name,
                index,
                &tool.name,
                strict,
            )? {
                let mut exposed = tool.clone();
                exposed.name = name.into();
                catalog.tools.push(exposed);
            }
        }
        for prompt in &live.prompts {
            let name = exposed_name(prefix, separator, &prompt.name);
            if claim(
                &mut catalog.prompt_routes,
                backends,
                "prompt",
                &name,
                index,
                &prompt.name,
                strict,
            )? {
                let mut exposed = prompt.clone();
                exposed.name = name;
                catalog.prompts.push(exposed);
            }
        }
        for resource in &live.resources {
            // Resources are addressed by URI, which stays as the backend wrote it;
            // only the display name gets the prefix.
            if claim(
                &mut catalog.resource_routes,
                backends,
                "resource URI",
                &resource.uri,
                index,
                &resource.uri,
                strict,
            )? {
                let mut exposed = resource.clone();
                exposed.name = exposed_name(prefix, separator, &resource.name);
                catalog.resources.push(exposed);
            }
        }
    }
    Ok(catalog)
}

/// Records `name` → (`index`, `original`); false (or an error when strict) when taken.
fn claim(
    routes: &mut HashMap<String, Route>,
    backends: &[Arc<Backend>],
    kind: &'static str,
    name: &str,
    index: usize,
    original: &str,
    strict: bool,
) -> Result<bool, ProxyError> {
    match routes.entry(name.to_owned()) {
        MapEntry::Vacant(slot) => {
            slot.insert(Route {
                backend: index,
                original: original.to_owned(),
            });
            Ok(true)
        }
        MapEntry::Occupied(taken) => {
            let first = taken.get();
            let error = ProxyError::NameCollision(Box::new(Collision {
                kind,
                name: name.to_owned(),
                first: backend_name(backends, first.backend),
                first_original: first.original.clone(),
                second: backend_name(backends, index),
                second_original: original.to_owned(),
            }));
            if strict {
                return Err(error);
            }
            tracing::error!("{error}; keeping the first");
            Ok(false)
        }
    }
}

fn backend_name(backends: &[Arc<Backend>], index: usize) -> String {
    backends
        .get(index)
        .map(|b| b.config.name.clone())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::exposed_name;

    #[test]
    fn names() {
        assert_eq!(
            exposed_name("github", "_", "create_branch"),
            "github_create_branch"
        );
        assert_eq!(exposed_name("gh", ".", "x"), "gh.x");
        assert_eq!(exposed_name("", "_", "x"), "x");
    }
}
