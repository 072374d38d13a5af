"""The error boundary: every ApiError raised by a later layer, connexion or a handler is answered here."""

from __future__ import annotations

import logging

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..errors import ApiError
from ..operations import NonConformingResponse
from . import responses

log = logging.getLogger("coverbase_mock")
INTERNAL = ApiError(500, {"detail": "Internal Server Error"})


class ErrorBoundary:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def send_(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, send_)
        except ApiError as err:
            if started:
                raise
            await responses.error(err)(scope, receive, send)
        except NonConformingResponse as exc:
            log.error("response does not conform to the document: %s", exc)
            if started:
                raise
            await responses.error(INTERNAL)(scope, receive, send)
        except Exception:
            log.exception("unexpected error on %s %s", scope["method"], scope["path"])
            if started:
                raise
            await responses.error(INTERNAL)(scope, receive, send)
