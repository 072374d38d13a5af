"""Records each API request and the status it got in the world's journal; credentials are masked."""

from __future__ import annotations

from typing import Any

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..auth import bearer_token, mask_key
from .scope import REHEARSAL, ignored_input, org_id, runtime

JOURNAL_BODY_LIMIT = 4096
API_PREFIX = "/v1"
CREDENTIAL_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie", "x-api-key", "x-mock-control-token"})


class Journal:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

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
            if message["type"] == "http.request" and size < JOURNAL_BODY_LIMIT:
                body = message.get("body", b"")
                chunks.append(body[: JOURNAL_BODY_LIMIT - size])
                size += len(body)
            return message

        async def send_(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        at = rt.clock.now()
        try:
            await self.app(scope, receive_, send_)
        finally:
            rt.store.journal_append(_entry(scope, at, b"".join(chunks), status))


def _entry(scope: Scope, at: int, body: bytes, status: int) -> dict[str, Any]:
    rt = runtime(scope)
    keys = rt.keys.all_keys()
    request_headers = Headers(scope=scope)
    headers: dict[str, str] = {}
    for name, value in request_headers.items():
        if name in CREDENTIAL_HEADERS:
            value = mask_key(value)
        headers[name] = _scrub(value, keys)
    token = bearer_token(request_headers)
    slot = scope.get(REHEARSAL)
    return {
        "at": at,
        "method": scope["method"],
        "path": _scrub(scope["path"], keys),
        "query": _scrub(scope.get("query_string", b"").decode("latin-1"), keys),
        "headers": headers,
        "body": _scrub(body.decode("utf-8", "replace")[:JOURNAL_BODY_LIMIT], keys),
        "status": status,
        "org_id": org_id(scope) or (rt.keys.org_for(token) if token else None),
        "rehearsal": slot.label() if slot is not None else None,
        "ignored": list(ignored_input(scope)),
    }


def _scrub(text: str, keys: list[str]) -> str:
    """A key sent where it does not belong (query, body, another header) is masked there too."""
    for key in keys:
        if key in text:
            text = text.replace(key, mask_key(key))
    return text
