"""One log line per request: rejected ones (4xx, 5xx) and rehearsals at WARNING with the reason, the rest at INFO.

It replaces uvicorn's access log (which would print a key sent in the path or query in clear). The reason is
what the error boundary answered (`scope.REJECTION`: the error code, or the 422's loc and msg) or the
rehearsal played; the line is masked by the app's `Redactor` before it is written.
"""

from __future__ import annotations

import logging

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..logs import REQUESTS
from ..redaction import Redactor
from .scope import rehearsal, rejection

log = logging.getLogger(REQUESTS)


class RequestLog:
    def __init__(self, app: ASGIApp, redactor: Redactor) -> None:
        self.app = app
        self.redactor = redactor

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 0
        completed = False

        async def send_(message: Message) -> None:
            nonlocal status, completed
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body" and not message.get("more_body", False):
                completed = True
            await send(message)

        try:
            await self.app(scope, receive, send_)
        finally:
            self._log(scope, status, completed)

    def _log(self, scope: Scope, status: int, completed: bool) -> None:
        slot = rehearsal(scope)
        played = slot.label() if slot is not None else None
        notes = [why] if (why := rejection(scope)) else []
        if played is not None:
            notes.append(f"rehearsal {played}")
        if status and not completed:
            notes.append("body withheld, connection closed" if played else "response incomplete")
        level = logging.WARNING if status >= 400 or not status or played else logging.INFO
        if not log.isEnabledFor(level):
            return
        query = scope.get("query_string", b"").decode("latin-1")
        target = scope.get("raw_path", scope["path"].encode()).decode("latin-1") + (f"?{query}" if query else "")
        client = scope.get("client")
        peer = f"{client[0]}:{client[1]}" if client else "-"
        line = f'{peer} - "{scope["method"]} {target}" {status or "-"}' + (f" {'; '.join(notes)}" if notes else "")
        log.log(level, "%s", self.redactor.scrub(line))
