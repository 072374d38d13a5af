"""ASGI middleware around the API: runtime injection, request journal, security headers."""

from __future__ import annotations

from typing import Any

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .auth import mask_key, org_for_key
from .runtime import SCOPE_KEY, Runtime

JOURNAL_BODY_LIMIT = 4096
CONTROL_PREFIX = "/_mock/"
SECURITY_HEADERS = {"cache-control": "no-store", "x-content-type-options": "nosniff"}


class RuntimeMiddleware:
    """Puts the runtime into the ASGI scope so handlers find state without module globals."""

    def __init__(self, app: ASGIApp, runtime: Runtime) -> None:
        self.app = app
        self.runtime = runtime

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            scope[SCOPE_KEY] = self.runtime
        await self.app(scope, receive, send)


class JournalMiddleware:
    """Records each API request and the status it got; credentials are masked."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(CONTROL_PREFIX) or not scope["path"].startswith("/v1"):
            await self.app(scope, receive, send)
            return
        runtime: Runtime = scope[SCOPE_KEY]
        chunks: list[bytes] = []
        size = 0
        status = 0

        async def receive_() -> Message:
            nonlocal size
            message = await receive()
            if message["type"] == "http.request" and size < JOURNAL_BODY_LIMIT:
                body = message.get("body", b"")
                chunks.append(body[: JOURNAL_BODY_LIMIT - size])
                size += len(body)
            return message

        async def send_(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        at = runtime.clock.now()
        try:
            await self.app(scope, receive_, send_)
        finally:
            runtime.store.journal_append(_entry(scope, runtime, at, b"".join(chunks), status))


def _entry(scope: Scope, runtime: Runtime, at: int, body: bytes, status: int) -> dict[str, Any]:
    headers: dict[str, str] = {}
    org_id = None
    for name, value in Headers(scope=scope).items():
        if name == "authorization":
            token = value.partition(" ")[2]
            org_id = org_for_key(runtime.fixtures, token) if token else None
            value = mask_key(value)
        headers[name] = value
    return {
        "at": at,
        "method": scope["method"],
        "path": scope["path"],
        "query": scope.get("query_string", b"").decode("latin-1"),
        "headers": headers,
        "body": body.decode("utf-8", "replace")[:JOURNAL_BODY_LIMIT],
        "status": status,
        "org_id": org_id,
    }


class SecurityHeadersMiddleware:
    """`Cache-Control: no-store` and `X-Content-Type-Options: nosniff` on every API response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith("/v1"):
            await self.app(scope, receive, send)
            return

        async def send_(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    headers[name] = value
            await send(message)

        await self.app(scope, receive, send_)
