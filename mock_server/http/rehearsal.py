"""Applies rehearsed failures (delay, dropped connection) around an API call; see x-rehearsal-header."""

from __future__ import annotations

import asyncio

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..logs import withheld_by_rehearsal
from ..rehearsals import HEADER, Rehearsal, RehearsalSlot, parse_header
from .scope import REHEARSAL, route, runtime

API_PREFIX = "/v1/"


class Rehearsals:
    def __init__(self, app: ASGIApp, delay_bounds: tuple[int, int]) -> None:
        self.app = app
        self.delay_bounds = delay_bounds  # RehearsalRequest.delay_ms of the control document

    def _choose(self, scope: Scope) -> Rehearsal | None:
        header = Headers(scope=scope).get(HEADER)
        if header is not None:
            return parse_header(header, self.delay_bounds)
        match = route(scope)
        if match is None or match.operation is None:
            return None
        armed = runtime(scope).rehearsals
        operation_id, workflow_name = match.operation.id, match.params.get("workflow_name")
        return armed.take("delay", workflow_name, operation_id=operation_id) or armed.take(
            "drop_after_commit", workflow_name, operation_id=operation_id
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(API_PREFIX):
            await self.app(scope, receive, send)
            return
        rehearsal = self._choose(scope)
        scope[REHEARSAL] = RehearsalSlot(rehearsal)
        if rehearsal is None or rehearsal.kind == "dispatch_failure":
            await self.app(scope, receive, send)
            return
        if rehearsal.kind == "delay":
            # The rehearsal *is* latency: hold the answer back in real time.
            await asyncio.sleep((rehearsal.delay_ms or 0) / 1000)
            await self.app(scope, receive, send)
            return

        async def send_head_only(message: Message) -> None:
            if message["type"] == "http.response.start":
                await send(message)

        await self.app(scope, receive, send_head_only)
        # Returning with the body unsent makes the server close the connection: the client sees a
        # broken response although the call was committed. The request log says so; uvicorn's error
        # about the incomplete response is silenced for this request (logs.RehearsedDrop).
        withheld_by_rehearsal.set(True)
