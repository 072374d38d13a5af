"""The error boundary: every ApiError raised by a later layer, connexion or a handler is answered here.

A storage failure (the state file's disk is full or failing) is the documented `503 storage_unavailable`
with `Retry-After`: the transaction it broke was rolled back, so nothing of the request was stored.
"""

from __future__ import annotations

import logging

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..errors import ApiError
from ..logs import LOGGER, reason
from ..operations import NonConformingResponse
from ..store.integrity import is_storage_failure
from . import responses
from .scope import REJECTION

log = logging.getLogger(LOGGER)
INTERNAL = ApiError(500, {"detail": "Internal Server Error"})


class ErrorBoundary:
    def __init__(self, app: ASGIApp, unavailable: ApiError) -> None:
        self.app = app
        self.unavailable = unavailable  # storage_unavailable with its Retry-After

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
            scope[REJECTION] = reason(err)
            await responses.error(err)(scope, receive, send)
        except NonConformingResponse as exc:
            log.error("response does not conform to the document: %s", exc)
            if started:
                raise
            scope[REJECTION] = "the answer did not conform to the document (a bug of the mock)"
            await responses.error(INTERNAL)(scope, receive, send)
        except Exception as exc:
            if is_storage_failure(exc):
                failure, why = self.unavailable, f"{reason(self.unavailable)} ({exc})"
            else:
                log.exception("unexpected error on %s %s", scope["method"], scope["path"])
                failure, why = INTERNAL, f"unexpected {type(exc).__name__} (a bug of the mock; traceback above)"
            if started:
                raise
            scope[REJECTION] = why
            await responses.error(failure)(scope, receive, send)
