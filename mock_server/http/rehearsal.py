"""Applies rehearsed failures (delay, dropped connection) around an API call; see x-rehearsal-header."""

from __future__ import annotations

import asyncio

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..errors import ApiError, ErrorFactory
from ..logs import withheld_by_rehearsal
from ..records import Rehearsal
from ..rehearsals import RehearsalSlot, UnknownRehearsal, parse_header
from .scope import REHEARSAL, route, runtime

API_PREFIX = "/v1/"


class Rehearsals:
    def __init__(self, app: ASGIApp, header: str, delay_bounds: tuple[int, int]) -> None:
        self.app = app
        self.header = header  # x-rehearsal-header.name of the control document
        self.delay_bounds = delay_bounds  # RehearsalRequest.delay_ms of the control document

    def _choose(self, scope: Scope) -> Rehearsal | None:
        match = route(scope)
        known_operation = match is not None and match.operation is not None
        sent = Headers(scope=scope).getlist(self.header)
        if sent:
            try:
                return self._parse(sent)
            except ApiError:
                if not known_operation:
                    return None  # an unknown route or method: its 404 or 405 says more than the 422 could
                raise
        if match is None or match.operation is None:
            return None
        armed = runtime(scope).rehearsals
        operation_id, workflow_name = match.operation.id, match.params.get("workflow_name")
        return armed.take("delay", workflow_name, operation_id=operation_id) or armed.take(
            "drop_after_commit", workflow_name, operation_id=operation_id
        )

    def _parse(self, sent: list[str]) -> Rehearsal:
        """The header's rehearsal, or the 422 naming the known values (x-rehearsal-header)."""
        if len(sent) > 1:
            raise self._invalid("Header must be sent once")
        try:
            return parse_header(sent[0], self.delay_bounds)
        except UnknownRehearsal as exc:
            raise self._invalid(str(exc)) from None

    def _invalid(self, msg: str) -> ApiError:
        return ErrorFactory.validation([ErrorFactory.validation_item(["header", self.header], msg, "value_error")])

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
