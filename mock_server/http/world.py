"""Chooses the world a request acts on - by its API key, or X-Mock-Namespace on the control plane - and puts
it into the ASGI scope, so every later layer and handler finds state without globals."""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from ..auth import bearer_token
from ..errors import ApiError
from ..store.integrity import is_storage_failure
from . import responses
from .scope import RUNTIME

if TYPE_CHECKING:
    from ..namespaces import Worlds

CONTROL_PREFIX = "/_mock/"
API_PREFIX = "/v1"


class WorldLayer:
    def __init__(self, app: ASGIApp, worlds: Worlds, header: str, unavailable: ApiError) -> None:
        self.app = app
        self.unavailable = unavailable  # the documented 503: a namespace lookup can fail on a shared database
        self.worlds = worlds
        self.header = header.lower()  # x-namespaces.header of the control document

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        world = self.worlds.default
        try:
            if path.startswith(API_PREFIX):
                world = self.worlds.for_token(bearer_token(Headers(raw=scope["headers"])))
            elif path.startswith(CONTROL_PREFIX):
                name = Headers(raw=scope["headers"]).get(self.header)
                if name:
                    found = self.worlds.get(name)
                    if found is None:
                        await responses.error(world.errors.plain("namespace_not_found"))(scope, receive, send)
                        return
                    world = found
        except Exception as exc:
            if not is_storage_failure(exc):
                raise
            await responses.error(self.unavailable)(scope, receive, send)
            return
        scope[RUNTIME] = world
        # The request's reads of the clock offset and of armed rehearsals are made once (PostgreSQL).
        with world.store.request_scope():
            await self.app(scope, receive, send)
