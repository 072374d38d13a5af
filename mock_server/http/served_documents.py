"""The documents as served (`/openapi.json`, `/openapi.yaml`, and the control plane's): `servers` names this mock.

connexion serves each document with `servers: [{"url": <base path>}]`, which leaves Swagger UI's "Servers"
list empty. Here the served document lists the URL this mock was reached at first (scheme, the request's
Host, the base path), then the document's own servers that are not loopback addresses - production and
sandbox for the API - so "Try it out" can target any of them.
"""

from __future__ import annotations

import ipaddress
import json
import re
from typing import Any
from urllib.parse import urlsplit

import yaml
from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# A Host header this layer is willing to repeat: a name or IPv4 address, or a bracketed IPv6 one, and a port.
HOST = re.compile(r"^(?:[A-Za-z0-9](?:[A-Za-z0-9.-]{0,252})|\[[0-9A-Fa-f:.]{2,45}\])(?::[0-9]{1,5})?$")
THIS_MOCK = "this coverbase-mock"


def is_loopback(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def own_url(scope: Scope) -> str:
    """The URL the client reached this mock at: its scheme, Host (if well-formed, else the socket) and root path."""
    host = Headers(scope=scope).get("host", "")
    if not HOST.match(host):
        server = scope.get("server") or ("127.0.0.1", None)
        host = server[0] if server[1] is None else f"{server[0]}:{server[1]}"
        if ":" in str(server[0]):
            host = f"[{server[0]}]" + ("" if server[1] is None else f":{server[1]}")
    return f"{scope.get('scheme', 'http')}://{host}{scope.get('root_path', '')}"


class ServedDocuments:
    def __init__(self, app: ASGIApp, documents: dict[str, tuple[str, list[dict[str, Any]]]]) -> None:
        """`documents`: served path (without extension) -> (the API's base path, the document's `servers`)."""
        self.app = app
        self.documents = documents

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope["path"] if scope["type"] == "http" and scope["method"] == "GET" else ""
        stem, dot, extension = path.rpartition(".")
        served = self.documents.get(stem) if dot and extension in ("json", "yaml") else None
        if served is None:
            await self.app(scope, receive, send)
            return
        base_path, servers = served
        listed = [{"url": own_url(scope) + base_path, "description": THIS_MOCK}]
        listed += [dict(server) for server in servers if not is_loopback(str(server.get("url", "")))]
        start: Message | None = None
        chunks: list[bytes] = []

        async def send_(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                start = message
                return
            if message["type"] != "http.response.body" or start is None:
                await send(message)
                return
            chunks.append(message.get("body", b""))
            if message.get("more_body", False):
                return
            body = b"".join(chunks)
            if start["status"] == 200:
                body = _with_servers(body, extension, listed)
                MutableHeaders(scope=start)["content-length"] = str(len(body))
            await send(start)
            await send({"type": "http.response.body", "body": body})

        await self.app(scope, receive, send_)


def _with_servers(body: bytes, extension: str, servers: list[dict[str, Any]]) -> bytes:
    if extension == "json":
        document = json.loads(body)
        document["servers"] = servers
        return json.dumps(document, ensure_ascii=False, default=str).encode("utf-8")
    document = yaml.safe_load(body)
    document["servers"] = servers
    return yaml.safe_dump(document, sort_keys=False, allow_unicode=True).encode("utf-8")
