"""An ASGI middleware that rewrites chosen JSON answers of an app: a target with one precise defect."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

# (method, path, status, body) -> (status, body) to answer instead, or None to leave the answer as it is.
Rewrite = Callable[[str, str, int, Any], tuple[int, Any] | None]


class Tamper:
    def __init__(self, app: Any, rewrite: Rewrite) -> None:
        self.app = app
        self.rewrite = rewrite

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start: dict[str, Any] = {}
        chunks: list[bytes] = []

        async def capture(message: Any) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
                if not message.get("more_body"):
                    await self._answer(scope, start, b"".join(chunks), send)

        await self.app(scope, receive, capture)

    async def _answer(self, scope: Any, start: dict[str, Any], raw: bytes, send: Any) -> None:
        status = start["status"]
        headers = [(k, v) for k, v in start.get("headers", []) if k.lower() != b"content-length"]
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        changed = self.rewrite(scope["method"], scope["path"], status, body) if body is not None else None
        if changed is not None:
            status, new = changed
            raw = json.dumps(new).encode()
        headers.append((b"content-length", str(len(raw)).encode()))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": raw})
