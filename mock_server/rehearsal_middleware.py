"""Applies rehearsed failures (delay, dropped connection) around an API call; see x-rehearsal-header."""

from __future__ import annotations

import asyncio
import logging
import re

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from . import spec
from .rehearsals import HEADER, SCOPE_KEY, Rehearsal, RehearsalSlot, delay_bounds, parse_header
from .runtime import Runtime

log = logging.getLogger("coverbase_mock.rehearsal")


class RehearsalMiddleware:
    def __init__(self, app: ASGIApp, runtime: Runtime) -> None:
        self.app = app
        self.runtime = runtime
        self._delay_ms = delay_bounds(spec.load_control_document())
        self._operations = [
            (op.method, op.path_regex, op.operation_id, re.findall(r"\{([^}]+)\}", op.path))
            for op in spec.operations(runtime.document)
        ]

    def _operation(self, method: str, path: str) -> tuple[str | None, str | None]:
        for op_method, regex, operation_id, names in self._operations:
            match = regex.match(path) if op_method == method else None
            if match:
                params = dict(zip(names, match.groups(), strict=True))
                return operation_id, params.get("workflow_name")
        return None, None

    def _choose(self, scope: Scope) -> Rehearsal | None:
        header = Headers(scope=scope).get(HEADER)
        if header is not None:
            return parse_header(header, self._delay_ms)
        operation_id, workflow_name = self._operation(scope["method"], scope["path"])
        if operation_id is None:
            return None
        rehearsals = self.runtime.rehearsals
        return rehearsals.take("delay", workflow_name, operation_id=operation_id) or rehearsals.take(
            "drop_after_commit", workflow_name, operation_id=operation_id
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith("/v1/"):
            await self.app(scope, receive, send)
            return
        rehearsal = self._choose(scope)
        scope[SCOPE_KEY] = RehearsalSlot(rehearsal)
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
        # broken response although the call was committed.
        log.info("drop_after_commit rehearsal on %s %s: body withheld", scope["method"], scope["path"])
