"""Routes every request once, against the operation table, for the layers after it."""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from ..operations import OperationTable
from .scope import ROUTE


class Router:
    def __init__(self, app: ASGIApp, table: OperationTable) -> None:
        self.app = app
        self.table = table

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            scope[ROUTE] = self.table.match(scope["method"], scope["path"])
        await self.app(scope, receive, send)
