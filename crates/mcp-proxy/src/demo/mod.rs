//! Built-in demo MCP servers reproducing seed 001's world (GitHub, Jira,
//! Confluence, Salesforce) with deterministic fake data. They are plainly
//! demos: nothing leaves the process, every answer is computed from the
//! arguments. `mcp-proxy demo-server <name>` serves one over stdio.

mod confluence;
mod github;
mod jira;
mod salesforce;
mod server;

pub use server::DemoServer;

/// Names accepted by `mcp-proxy demo-server` and by `demo:` backends.
pub const NAMES: &[&str] = &["github", "jira", "confluence", "salesforce"];

/// The demo server called `name`, if there is one.
pub fn server(name: &str) -> Option<DemoServer> {
    let tools = match name {
        "github" => github::TOOLS,
        "jira" => jira::TOOLS,
        "confluence" => confluence::TOOLS,
        "salesforce" => salesforce::TOOLS,
        _ => return None,
    };
    Some(DemoServer::new(name, tools))
}

/// Serves the demo server `name` on stdin/stdout until the client goes away.
pub async fn run_stdio(name: &str) -> Result<(), crate::ProxyError> {
    use rmcp::ServiceExt;
    let server = server(name).ok_or_else(|| crate::ProxyError::Backend {
        backend: name.to_owned(),
        message: format!(
            "no demo server `{name}`; choose one of {}",
            NAMES.join(", ")
        ),
    })?;
    let io_error = |e: std::io::Error| crate::ProxyError::Io {
        context: format!("demo server {name}"),
        source: e,
    };
    let running = server
        .serve(rmcp::transport::stdio())
        .await
        .map_err(|e| io_error(std::io::Error::other(e.to_string())))?;
    running
        .waiting()
        .await
        .map_err(|e| io_error(std::io::Error::other(e.to_string())))?;
    Ok(())
}

/// A stable 32-bit FNV-1a hash, so fake ids are the same on every run.
pub(crate) fn stable_hash(text: &str) -> u32 {
    text.bytes().fold(0x811c_9dc5u32, |h, b| {
        (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
    })
}
