"""Reports the undocumented body fields and query parameters a request sent and the mock ignored.

The document ignores them, as FastAPI and pydantic do by default (`x-unknown-input`); so that a typo or a
field of superseded docs does not go unnoticed, every API answer to such a request names them in one
header (`x-ignored-input-header` of the control document), the journal keeps them, and one log line says so.
`--strict-input` rejects them instead (Operation.validate), and then nothing is ignored.
"""

from __future__ import annotations

import logging
import string
from urllib.parse import quote

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .scope import IGNORED, ignored_input

API_PREFIX = "/v1"
# A field name may hold any character: everything but visible ASCII (and the list's own comma and the escape
# character) is percent-encoded, so the header stays one valid latin-1 line.
SAFE = "".join(c for c in string.printable if c not in string.whitespace + ",%")
log = logging.getLogger("coverbase_mock.input")


class IgnoredInput:
    def __init__(self, app: ASGIApp, header: str) -> None:
        self.app = app
        self.header = header

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(API_PREFIX):
            await self.app(scope, receive, send)
            return
        scope[IGNORED] = []

        async def send_(message: Message) -> None:
            if message["type"] == "http.response.start":
                ignored = ignored_input(scope)
                if ignored:
                    listed = ", ".join(quote(name, safe=SAFE) for name in ignored)
                    MutableHeaders(scope=message)[self.header] = listed
                    log.warning(
                        "%s %s: ignored undocumented input %s (--strict-input rejects it)",
                        scope["method"],
                        scope["path"],
                        listed,
                    )
            await send(message)

        await self.app(scope, receive, send_)
