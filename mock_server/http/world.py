"""Puts the runtime into the ASGI scope, so every later layer and handler finds state without globals."""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.types import ASGIApp, Receive, Scope, Send

from .scope import RUNTIME

if TYPE_CHECKING:
    from ..runtime import Runtime


class WorldLayer:
    def __init__(self, app: ASGIApp, runtime: Runtime) -> None:
        self.app = app
        self.runtime = runtime

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            scope[RUNTIME] = self.runtime
        await self.app(scope, receive, send)
