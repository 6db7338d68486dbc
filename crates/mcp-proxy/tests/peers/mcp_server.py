"""A small Python MCP SDK server (MCPServer, formerly FastMCP) over stdio, used
as a gateway backend by the end-to-end tests.

Tools:
- `echo(message)`, `add(a, b)`: plain calls.
- `add_tool(name)`: registers a new tool `name` (which answers `added <name>`)
  and sends `notifications/tools/list_changed`.
- `progress(steps)`: reports `steps` progress notifications, then answers
  with the progress token it received, as JSON.
- `log(levels)`: sends one `notifications/message` per level, data `log <level>`.
- `wait_for_cancel()`: reports progress once, then waits until cancelled; when
  the SDK cancels it (on `notifications/cancelled`) it writes `cancelled` to
  the file named by the env var `MCP_SERVER_CANCEL_FILE`.

usage: mcp_server.py  (stdio)
"""

import json
import os
import warnings

import anyio
from mcp.server.mcpserver import Context, MCPServer

# Logging is deprecated by SEP-2577 but still part of the handshake protocols.
warnings.simplefilter("ignore")

server = MCPServer("py-peer")


@server.tool()
def echo(message: str) -> str:
    """Echoes the message."""
    return f"py echo: {message}"


@server.tool()
def add(a: int, b: int) -> int:
    """Adds two numbers."""
    return a + b


@server.tool()
async def add_tool(name: str, ctx: Context) -> str:
    """Adds a tool named `name` and announces the change."""

    def added() -> str:
        return f"added {name}"

    server.add_tool(added, name=name, description=f"added at run time as {name}")
    await ctx.session.send_tool_list_changed()
    return f"tool {name} added"


@server.tool()
async def progress(steps: int, ctx: Context) -> str:
    """Reports `steps` progress notifications; answers with the progress token
    this server received (JSON)."""
    for step in range(1, steps + 1):
        await ctx.report_progress(step, steps, f"step {step}")
    meta = ctx.request_context.meta or {}
    token = meta.get("progress_token", meta.get("progressToken"))
    return json.dumps({"steps": steps, "token": token})


@server.tool()
async def log(levels: list[str], ctx: Context) -> str:
    """Sends one log message per level."""
    for level in levels:
        await ctx.log(level, f"log {level}", logger_name="py-peer")
    return f"logged {len(levels)}"


@server.tool()
async def wait_for_cancel(ctx: Context) -> str:
    """Waits until cancelled and records the cancellation."""
    await ctx.report_progress(0, 1, "waiting for cancellation")
    try:
        await anyio.sleep(120)
    except anyio.get_cancelled_exc_class():
        path = os.environ.get("MCP_SERVER_CANCEL_FILE")
        if path:
            with open(path, "w", encoding="utf-8") as f:
                f.write("cancelled")
        raise
    return "not cancelled"


if __name__ == "__main__":
    server.run("stdio")
