//! The generic demo server: a static table of tools, each a JSON schema plus
//! a pure function of its arguments.

use std::sync::Arc;

use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, Implementation,
    JsonObject, ListToolsResult, PaginatedRequestParams, ServerCapabilities, ServerConfig, Tool,
};
use rmcp::service::{RequestContext, RoleServer};
use rmcp::{ErrorData as McpError, ServerHandler};
use serde_json::{Map, Value};

/// A tool's implementation: arguments in, JSON result or a user-facing error out.
pub(crate) type ToolFn = fn(&Map<String, Value>) -> Result<Value, String>;

/// One demo tool.
pub(crate) struct DemoTool {
    pub(crate) name: &'static str,
    pub(crate) description: &'static str,
    /// `(argument, description, required)`; every argument is a string.
    pub(crate) args: &'static [(&'static str, &'static str, bool)],
    pub(crate) run: ToolFn,
}

/// A demo MCP server over a static tool table.
///
/// ```
/// let github = mcp_proxy::demo::server("github").unwrap();
/// assert!(github.tool_names().contains(&"push_to_branch"));
/// ```
#[derive(Clone)]
pub struct DemoServer {
    name: &'static str,
    tools: &'static [DemoTool],
}

impl std::fmt::Debug for DemoServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DemoServer")
            .field("name", &self.name)
            .field("tools", &self.tool_names())
            .finish()
    }
}

impl DemoServer {
    pub(crate) fn new(name: &str, tools: &'static [DemoTool]) -> Self {
        let name = super::NAMES
            .iter()
            .copied()
            .find(|n| *n == name)
            .unwrap_or("demo");
        DemoServer { name, tools }
    }

    /// Names of the tools it offers.
    pub fn tool_names(&self) -> Vec<&'static str> {
        self.tools.iter().map(|t| t.name).collect()
    }

    /// Runs a tool directly (what `tools/call` does).
    pub fn call(&self, tool: &str, arguments: &Map<String, Value>) -> Result<Value, String> {
        let tool = self
            .tools
            .iter()
            .find(|t| t.name == tool)
            .ok_or_else(|| format!("unknown tool `{tool}`"))?;
        for (arg, _, required) in tool.args {
            match arguments.get(*arg) {
                None if *required => return Err(format!("missing required argument `{arg}`")),
                Some(v) if !v.is_string() => {
                    return Err(format!("argument `{arg}` must be a string"));
                }
                _ => {}
            }
        }
        (tool.run)(arguments)
    }
}

fn schema(tool: &DemoTool) -> JsonObject {
    let mut properties = Map::new();
    let mut required = Vec::new();
    for (arg, description, is_required) in tool.args {
        properties.insert(
            (*arg).to_owned(),
            serde_json::json!({ "type": "string", "description": description }),
        );
        if *is_required {
            required.push(Value::String((*arg).to_owned()));
        }
    }
    let mut schema = Map::new();
    schema.insert("type".into(), Value::String("object".into()));
    schema.insert("properties".into(), Value::Object(properties));
    schema.insert("required".into(), Value::Array(required));
    schema
}

impl ServerHandler for DemoServer {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(Implementation::new(
                format!("mcp-proxy-demo-{}", self.name),
                env!("CARGO_PKG_VERSION"),
            ))
            .with_instructions(format!(
                "Demo {} server with deterministic fake data (mcp-proxy).",
                self.name
            ))
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, McpError> {
        let tools = self
            .tools
            .iter()
            .map(|t| Tool::new(t.name, t.description, Arc::new(schema(t))))
            .collect();
        Ok(ListToolsResult::with_all_items(tools))
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, McpError> {
        if !self.tools.iter().any(|t| t.name == request.name) {
            return Err(McpError::invalid_params(
                format!("unknown tool `{}`", request.name),
                None,
            ));
        }
        let arguments = request.arguments.unwrap_or_default();
        let result = match self.call(&request.name, &arguments) {
            Ok(value) => {
                let mut result =
                    CallToolResult::success(vec![ContentBlock::text(value.to_string())]);
                result.structured_content = Some(value);
                result
            }
            Err(message) => CallToolResult::error(vec![ContentBlock::text(message)]),
        };
        Ok(CallToolResponse::Complete(result))
    }
}
