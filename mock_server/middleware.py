"""ASGI middleware around the API: runtime injection, request journal, security headers, body limit, control token."""

from __future__ import annotations

import hmac
import json
from collections.abc import Callable
from typing import Any

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .auth import mask_key, org_for_key
from .errors import ApiError, ErrorFactory
from .rehearsals import SCOPE_KEY as REHEARSAL_KEY
from .rehearsals import RehearsalSlot
from .runtime import SCOPE_KEY, Runtime

JOURNAL_BODY_LIMIT = 4096
CONTROL_PREFIX = "/_mock/"
BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
CREDENTIAL_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie", "x-api-key", "x-mock-control-token"})


class RuntimeMiddleware:
    """Puts the runtime into the ASGI scope so handlers find state without module globals."""

    def __init__(self, app: ASGIApp, runtime: Runtime) -> None:
        self.app = app
        self.runtime = runtime

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            scope[SCOPE_KEY] = self.runtime
        await self.app(scope, receive, send)


class JournalMiddleware:
    """Records each API request and the status it got; credentials are masked."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(CONTROL_PREFIX) or not scope["path"].startswith("/v1"):
            await self.app(scope, receive, send)
            return
        runtime: Runtime = scope[SCOPE_KEY]
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

        at = runtime.clock.now()
        try:
            await self.app(scope, receive_, send_)
        finally:
            runtime.store.journal_append(_entry(scope, runtime, at, b"".join(chunks), status))


def _entry(scope: Scope, runtime: Runtime, at: int, body: bytes, status: int) -> dict[str, Any]:
    headers: dict[str, str] = {}
    org_id = None
    keys = [key for org in runtime.fixtures.orgs for key in org.api_keys]
    for name, value in Headers(scope=scope).items():
        if name == "authorization":
            token = value.partition(" ")[2]
            org_id = org_for_key(runtime.fixtures, token) if token else None
        if name in CREDENTIAL_HEADERS:
            value = mask_key(value)
        headers[name] = _scrub(value, keys)
    return {
        "at": at,
        "method": scope["method"],
        "path": _scrub(scope["path"], keys),
        "query": _scrub(scope.get("query_string", b"").decode("latin-1"), keys),
        "headers": headers,
        "body": _scrub(body.decode("utf-8", "replace")[:JOURNAL_BODY_LIMIT], keys),
        "status": status,
        "org_id": org_id,
        "rehearsal": slot.label() if isinstance(slot := scope.get(REHEARSAL_KEY), RehearsalSlot) else None,
    }


def _scrub(text: str, keys: list[str]) -> str:
    """A key sent where it does not belong (query, body, another header) is masked there too."""
    for key in keys:
        if key in text:
            text = text.replace(key, mask_key(key))
    return text


class SecurityHeadersMiddleware:
    """`Cache-Control: no-store` and `X-Content-Type-Options: nosniff` on every API response."""

    def __init__(self, app: ASGIApp, headers: dict[str, str]) -> None:
        self.app = app
        self.headers = headers  # the document's `x-security-headers`

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith("/v1"):
            await self.app(scope, receive, send)
            return

        async def send_(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in self.headers.items():
                    headers[name] = value
            await send(message)

        await self.app(scope, receive, send_)


def replay_messages(messages: list[Message], receive: Receive) -> Receive:
    """A receive channel that first hands out the messages already read, then the rest of `receive`."""
    queue = iter(messages)

    async def receive_() -> Message:
        try:
            return next(queue)
        except StopIteration:
            return await receive()

    return receive_


async def send_json_bytes(send: Send, status: int, payload: bytes, headers: dict[str, str] | None = None) -> None:
    raw = [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode("latin-1"))]
    raw += [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": payload})


async def send_error(send: Send, error: ApiError, headers: dict[str, str] | None = None) -> None:
    """An error answer serialized as every error body is (compact JSON, see app._json)."""
    payload = json.dumps(error.body, separators=(",", ":")).encode("utf-8")
    await send_json_bytes(send, error.status, payload, {**error.headers, **(headers or {})})


class BodyLimitMiddleware:
    """Request bodies within the document's `x-limits`: 413 past `max_body_bytes` (chunked or not), and 422
    for JSON that no later layer can handle safely (too deep, non-finite numbers, huge integers, no type).

    The body is read here, before routing and validation, so no later layer ever holds more than the limit.
    """

    def __init__(self, app: ASGIApp, limit: int, error: ApiError, max_depth: int, max_digits: int) -> None:
        self.app = app
        self.limit = limit
        self.error = error
        self.max_depth = max_depth
        self.max_digits = max_digits

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        declared = headers.get("content-length", "").strip()
        if declared.isdigit() and int(declared) > self.limit:
            await send_error(send, self.error)
            return
        messages: list[Message] = []
        size = 0
        # Bounded: every iteration either adds body bytes (capped by the limit) or ends the body.
        while True:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request":
                break
            size += len(message.get("body", b""))
            if size > self.limit:
                await send_error(send, self.error)
                return
            if not message.get("more_body", False):
                break
        body = b"".join(m.get("body", b"") for m in messages if m["type"] == "http.request")
        rejection = _unsafe_body(scope["method"], headers.get("content-type"), body, self.max_depth, self.max_digits)
        if rejection is not None:
            await send_error(send, rejection)
            return
        await self.app(scope, replay_messages(messages, receive), send)


class _Unsafe(ValueError):
    pass


def _reject_constant(name: str) -> Any:
    raise _Unsafe(f"{name} is not valid JSON")


def _finite_float(text: str) -> float:
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise _Unsafe("Number out of range")
    return value


def _bounded_int(max_digits: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        # Python refuses to convert more than 4300 digits, and would raise deep inside the handlers.
        if len(text.lstrip("-")) > max_digits:
            raise _Unsafe("Number out of range")
        return int(text)

    return parse


def _depth_exceeds(value: Any, limit: int) -> bool:
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:  # bounded by the number of nodes in a body of at most max_body_bytes
        node, depth = stack.pop()
        children = node.values() if isinstance(node, dict) else node if isinstance(node, list) else None
        if children is None:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False


def _unsafe_body(
    method: str, content_type: str | None, body: bytes, max_depth: int, max_digits: int
) -> ApiError | None:
    """A documented 422 for bodies that would otherwise fail deep inside the handlers, else None."""
    if not body or method not in BODY_METHODS:
        return None
    if content_type is None:
        # Same answer connexion's 415 is mapped to for a non-JSON Content-Type (see ErrorMapper).
        msg = "Input should be a valid dictionary or object to extract fields from"
        return ErrorFactory.validation([ErrorFactory.validation_item(["body"], msg, "model_attributes_type")])
    if "json" not in content_type.lower():
        return None
    try:
        parsed = json.loads(
            body, parse_constant=_reject_constant, parse_float=_finite_float, parse_int=_bounded_int(max_digits)
        )
    except _Unsafe as exc:
        return ErrorFactory.validation([ErrorFactory.validation_item(["body"], str(exc), "json_invalid")])
    except RecursionError:
        too_deep = True
    except ValueError:
        return None  # malformed JSON or bytes: the body validator reports it with its position
    else:
        too_deep = _depth_exceeds(parsed, max_depth)
    if too_deep:
        msg = f"JSON nesting deeper than {max_depth} levels"
        return ErrorFactory.validation([ErrorFactory.validation_item(["body"], msg, "json_invalid")])
    return None


CONTROL_TOKEN_HEADER = "x-mock-control-token"
CONTROL_TOKEN_DETAIL = "Missing or invalid X-Mock-Control-Token."


class ControlTokenMiddleware:
    """With `--control-token`, every /_mock/ request must carry the token (compared in constant time)."""

    def __init__(self, app: ASGIApp, token: str | None, headers: dict[str, str]) -> None:
        self.app = app
        self.token = token.encode("utf-8") if token else None
        self.headers = headers  # the document's `x-security-headers`

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.token is None or scope["type"] != "http" or not scope["path"].startswith(CONTROL_PREFIX):
            await self.app(scope, receive, send)
            return
        presented = Headers(scope=scope).getlist(CONTROL_TOKEN_HEADER)
        candidate = presented[0].encode("latin-1") if len(presented) == 1 else b""
        if not hmac.compare_digest(candidate, self.token):
            await send_error(send, ApiError(401, {"detail": CONTROL_TOKEN_DETAIL}), self.headers)
            return
        await self.app(scope, receive, send)
