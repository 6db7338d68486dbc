"""A Python MCP SDK client for the end-to-end tests: connects to a gateway over
streamable HTTP (with a bearer token when given), lists the tools, calls one,
and prints one JSON line with what it saw.

usage: mcp_client.py URL TOKEN|- TOOL ARGUMENTS_JSON
"""

import asyncio
import json
import sys

import httpx2
from mcp.client.session import ClientSession
from mcp.client.streamable_http import streamable_http_client


async def main(url: str, token: str, tool: str, arguments: str) -> None:
    headers = {} if token == "-" else {"Authorization": f"Bearer {token}"}
    async with httpx2.AsyncClient(headers=headers, timeout=30) as http:
        async with streamable_http_client(url, http_client=http) as (read, write):
            async with ClientSession(read, write) as session:
                await session.initialize()
                tools = await session.list_tools()
                result = await session.call_tool(tool, json.loads(arguments))
                print(
                    json.dumps(
                        {
                            "tools": sorted(t.name for t in tools.tools),
                            "is_error": result.is_error,
                            "structured": result.structured_content,
                            "text": [c.text for c in result.content if getattr(c, "text", None)],
                        }
                    )
                )


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:5]))
