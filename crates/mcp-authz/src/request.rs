//! What is being asked: the MCP method and the item it targets.

use http::HeaderMap;
use serde_json::{Map, Value};

/// The MCP method that calls a tool.
pub const TOOLS_CALL: &str = "tools/call";
/// The MCP method that gets a prompt.
pub const PROMPTS_GET: &str = "prompts/get";
/// The MCP method that reads a resource.
pub const RESOURCES_READ: &str = "resources/read";

/// One request to decide: an MCP method and the tool, prompt or resource it targets.
///
/// It borrows everything, so building one per JSON-RPC message costs nothing.
/// For `prompts/get` the name is the prompt's name; for `resources/read` it is
/// the resource URI. CEL rules see it as `tool.name` in all three cases.
///
/// ```
/// use mcp_authz::Request;
/// let args = serde_json::json!({"branch": "main"});
/// let req = Request::call_tool("push_to_branch")
///     .server("github")
///     .arguments(args.as_object().unwrap());
/// assert_eq!(req.method, "tools/call");
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    /// The JSON-RPC method, e.g. `tools/call`.
    pub method: &'a str,
    /// Tool or prompt name, or resource URI.
    pub name: &'a str,
    /// The backend serving the item (`tool.server`), if known.
    pub server: Option<&'a str>,
    /// The call's arguments; `None` reads as an empty map (`tool.arguments == {}`).
    /// [`Authorizer::decide`](crate::Authorizer::decide) always enforces rules
    /// that read arguments; only list filtering skips them.
    pub arguments: Option<&'a Map<String, Value>>,
    /// The HTTP request headers (`request.headers` in CEL).
    pub headers: Option<&'a HeaderMap>,
}

impl<'a> Request<'a> {
    /// A request for `method` on `name`.
    pub fn new(method: &'a str, name: &'a str) -> Self {
        Self {
            method,
            name,
            server: None,
            arguments: None,
            headers: None,
        }
    }

    /// `tools/call` of `name`.
    pub fn call_tool(name: &'a str) -> Self {
        Self::new(TOOLS_CALL, name)
    }

    /// `prompts/get` of `name`.
    pub fn get_prompt(name: &'a str) -> Self {
        Self::new(PROMPTS_GET, name)
    }

    /// `resources/read` of `uri`.
    pub fn read_resource(uri: &'a str) -> Self {
        Self::new(RESOURCES_READ, uri)
    }

    /// Sets the backend server.
    pub fn server(mut self, server: &'a str) -> Self {
        self.server = Some(server);
        self
    }

    /// Sets the arguments.
    pub fn arguments(mut self, arguments: &'a Map<String, Value>) -> Self {
        self.arguments = Some(arguments);
        self
    }

    /// Sets the HTTP headers.
    pub fn headers(mut self, headers: &'a HeaderMap) -> Self {
        self.headers = Some(headers);
        self
    }
}
