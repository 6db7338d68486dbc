"""The Python MCP SDK's own OAuth client provider signs in to a gateway, the way
a real MCP client does: 401 -> protected resource metadata -> authorization
server metadata -> dynamic client registration -> authorization code + PKCE
with the RFC 8707 resource -> token -> retry. The "browser" is headless: the
redirect handler opens the authorize URL with `login_hint` (okta-sim signs the
hinted user in without its page) and hands the code back to the SDK.

Then it lists the tools, calls READ_TOOL, calls WRITE_TOOL (which the
gateway answers 403 insufficient_scope until the token carries mcp:write: the
SDK steps up on its own), and prints one JSON line with what happened.

usage: oauth_client.py URL USER READ_TOOL WRITE_TOOL WRITE_ARGUMENTS_JSON
"""

import asyncio
import json
import sys
from urllib.parse import parse_qs, urlencode, urlparse

import httpx2
from mcp.client.auth import OAuthClientProvider, TokenStorage
from mcp.client.session import ClientSession
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.auth import (
    AuthorizationCodeResult,
    OAuthClientInformationFull,
    OAuthClientMetadata,
    OAuthToken,
)

REDIRECT_URI = "http://127.0.0.1:53682/callback"


class MemoryStorage(TokenStorage):
    def __init__(self) -> None:
        self.tokens: OAuthToken | None = None
        self.client: OAuthClientInformationFull | None = None

    async def get_tokens(self) -> OAuthToken | None:
        return self.tokens

    async def set_tokens(self, tokens: OAuthToken) -> None:
        self.tokens = tokens

    async def get_client_info(self) -> OAuthClientInformationFull | None:
        return self.client

    async def set_client_info(self, client_info: OAuthClientInformationFull) -> None:
        self.client = client_info


class HeadlessBrowser:
    """Follows the authorize URL with a login hint and remembers the redirect."""

    def __init__(self, user: str) -> None:
        self.user = user
        self.authorizations: list[dict[str, str]] = []
        self.pending: AuthorizationCodeResult | None = None

    async def redirect(self, authorization_url: str) -> None:
        parsed = urlparse(authorization_url)
        params = {k: v[0] for k, v in parse_qs(parsed.query).items()}
        self.authorizations.append(
            {k: params.get(k, "") for k in ("scope", "resource", "code_challenge_method")}
        )
        url = f"{authorization_url}&{urlencode({'login_hint': self.user})}"
        async with httpx2.AsyncClient(follow_redirects=False, timeout=30) as http:
            answer = await http.get(url)
        location = answer.headers.get("location")
        if answer.status_code != 302 or location is None:
            raise RuntimeError(f"authorize answered {answer.status_code}: {answer.text[:300]}")
        back = {k: v[0] for k, v in parse_qs(urlparse(location).query).items()}
        if "code" not in back:
            raise RuntimeError(f"authorize redirected with an error: {back}")
        self.pending = AuthorizationCodeResult(code=back["code"], state=back.get("state"), iss=back.get("iss"))

    async def callback(self) -> AuthorizationCodeResult:
        result, self.pending = self.pending, None
        if result is None:
            raise RuntimeError("no authorization code")
        return result


async def main(url: str, user: str, read_tool: str, write_tool: str, write_arguments: str) -> None:
    browser = HeadlessBrowser(user)
    storage = MemoryStorage()
    auth = OAuthClientProvider(
        server_url=url,
        client_metadata=OAuthClientMetadata(
            client_name="okta-mcp python sdk test",
            redirect_uris=[REDIRECT_URI],
            grant_types=["authorization_code", "refresh_token"],
            response_types=["code"],
            token_endpoint_auth_method="none",
        ),
        storage=storage,
        redirect_handler=browser.redirect,
        callback_handler=browser.callback,
    )
    async with httpx2.AsyncClient(auth=auth, timeout=30) as http:
        async with streamable_http_client(url, http_client=http) as (read, write):
            async with ClientSession(read, write) as session:
                await session.initialize()
                tools = await session.list_tools()
                read_result = await session.call_tool(read_tool, {})
                write_result = await session.call_tool(write_tool, json.loads(write_arguments))
    print(
        json.dumps(
            {
                "tools": sorted(t.name for t in tools.tools),
                "read_is_error": read_result.is_error,
                "write_is_error": write_result.is_error,
                "write_text": [c.text for c in write_result.content if getattr(c, "text", None)],
                "authorizations": browser.authorizations,
                "client_id": storage.client.client_id if storage.client else None,
                "final_scope": storage.tokens.scope if storage.tokens else None,
            }
        )
    )


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:6]))
