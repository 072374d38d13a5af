"""Records each API request and the status it got in the world's journal; credentials and API keys are masked.

Credential headers keep only their scheme and last four characters; an API key anywhere else (path, query,
another header, the body), in any encoding, is masked by the app's `Redactor`.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..auth import bearer_token, mask_key
from ..redaction import Redactor
from ..store.integrity import is_storage_failure
from .scope import REHEARSAL, ignored_input, org_id, runtime

if TYPE_CHECKING:
    from ..runtime import Runtime

log = logging.getLogger("coverbase_mock.journal")
JOURNAL_BODY_LIMIT = 4096
# Read past the limit, so that a key across it is seen whole (and masked) before the body is cut.
READ_LIMIT = JOURNAL_BODY_LIMIT + 1024
API_PREFIX = "/v1"
CREDENTIAL_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie", "x-api-key", "x-mock-control-token"})


class Journal:
    def __init__(self, app: ASGIApp, redactor: Redactor) -> None:
        self.app = app
        self.redactor = redactor
        self.dropped = 0  # entries dropped since the state file last accepted one

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(API_PREFIX):
            await self.app(scope, receive, send)
            return
        rt = runtime(scope)
        chunks: list[bytes] = []
        size = 0
        status = 0

        async def receive_() -> Message:
            nonlocal size
            message = await receive()
            if message["type"] == "http.request" and size < READ_LIMIT:
                body = message.get("body", b"")
                chunks.append(body[: READ_LIMIT - size])
                size += len(body)
            return message

        async def send_(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        at = self._now(rt)
        try:
            await self.app(scope, receive_, send_)
        finally:
            self._append(rt, scope, at, b"".join(chunks), status)

    @staticmethod
    def _now(rt: Runtime) -> int | None:
        """When the request arrived; None while the clock's offset cannot be read (the store is failing, and
        the request will be answered 503 by the error boundary)."""
        try:
            return rt.clock.now()
        except Exception as exc:
            if not is_storage_failure(exc):
                raise
            return None

    def _append(self, rt: Runtime, scope: Scope, at: int | None, body: bytes, status: int) -> None:
        """The journal records what was answered, never a reason to break an answer: while the state cannot be
        read or written (disk full, database restarting), entries are dropped - logged once when it starts and
        once when it ends."""
        try:
            entry = self._entry(scope, rt.clock.now() if at is None else at, body, status)
            rt.store.journal_append(entry)
        except Exception as exc:
            if not is_storage_failure(exc):
                raise
            if not self.dropped:
                log.warning("request journal: entries are dropped while the state cannot be written (%s)", exc)
            self.dropped += 1
            return
        if self.dropped:
            log.warning("request journal: entries are stored again (%d dropped)", self.dropped)
            self.dropped = 0

    def _entry(self, scope: Scope, at: int, body: bytes, status: int) -> dict[str, Any]:
        rt = runtime(scope)
        scrub = self.redactor.scrub
        request_headers = Headers(scope=scope)
        headers: dict[str, str] = {}
        for name, value in request_headers.items():
            headers[name] = mask_key(value) if name in CREDENTIAL_HEADERS else scrub(value)
        token = bearer_token(request_headers)
        slot = scope.get(REHEARSAL)
        return {
            "at": at,
            "method": scope["method"],
            "path": scrub(scope["path"]),
            "query": scrub(scope.get("query_string", b"").decode("latin-1")),
            "headers": headers,
            # Scrubbed whole, then cut: a key across the limit is masked, not cut into a readable prefix.
            "body": scrub(body.decode("utf-8", "replace"))[:JOURNAL_BODY_LIMIT],
            "status": status,
            "org_id": org_id(scope) or (rt.keys.org_for(token) if token else None),
            "rehearsal": slot.label() if slot is not None else None,
            "ignored": [scrub(name) for name in ignored_input(scope)],
        }
