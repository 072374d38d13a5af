"""Reads each request body once, within the document's `x-limits`, and parses JSON once for every later layer.

Past `max_body_bytes` (declared or streamed) the answer is 413 before anything else reads the body. A
JSON body that no later layer can handle safely (nested too deep, NaN/Infinity, numbers out of range,
integers of more than `max_integer_digits` digits, or a body without any Content-Type) is a 422 at
once. Anything else - valid or not - is kept as a `BodyInfo` in the scope: the operation's rules
(`operations.Operation.validate`) report malformed JSON or a wrong content type in their place.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..errors import ApiError, ErrorFactory
from .scope import BODY, BodyInfo

BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
MODEL_ATTRIBUTES_MSG = "Input should be a valid dictionary or object to extract fields from"


def replay_messages(messages: list[Message], receive: Receive) -> Receive:
    """A receive channel that first hands out the messages already read, then the rest of `receive`."""
    queue = iter(messages)

    async def receive_() -> Message:
        try:
            return next(queue)
        except StopIteration:
            return await receive()

    return receive_


class BodyReader:
    def __init__(self, app: ASGIApp, limit: int, too_large: ApiError, max_depth: int, max_digits: int) -> None:
        self.app = app
        self.limit = limit
        self.too_large = too_large
        self.max_depth = max_depth
        self.max_digits = max_digits

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        declared = headers.get("content-length", "").strip()
        if declared.isdigit() and int(declared) > self.limit:
            raise self.too_large
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
                raise self.too_large
            if not message.get("more_body", False):
                break
        raw = b"".join(m.get("body", b"") for m in messages if m["type"] == "http.request")
        scope[BODY] = self.read(scope["method"], headers.get("content-type"), raw)
        await self.app(scope, replay_messages(messages, receive), send)

    def read(self, method: str, content_type: str | None, raw: bytes) -> BodyInfo:
        if not raw or method not in BODY_METHODS:
            return BodyInfo(raw, content_type)
        if content_type is None:
            # Same answer as for a non-JSON Content-Type (see Operation.validate).
            raise ErrorFactory.validation(
                [ErrorFactory.validation_item(["body"], MODEL_ATTRIBUTES_MSG, "model_attributes_type")]
            )
        if "json" not in content_type.lower():
            return BodyInfo(raw, content_type)
        try:
            # JSON is UTF-8 (RFC 8259), whatever charset the Content-Type claims.
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            return BodyInfo(raw, content_type, decode_error=True)
        try:
            value = json.loads(
                text,
                parse_constant=_reject_constant,
                parse_float=_finite_float,
                parse_int=_bounded_int(self.max_digits),
            )
        except _Unsafe as exc:
            raise _invalid(str(exc)) from None
        except RecursionError:
            raise _invalid(self._too_deep()) from None
        except json.JSONDecodeError as exc:
            return BodyInfo(raw, content_type, json_error_at=exc.pos)
        if _depth_exceeds(value, self.max_depth):
            raise _invalid(self._too_deep())
        return BodyInfo(raw, content_type, parsed=True, value=value)

    def _too_deep(self) -> str:
        return f"JSON nesting deeper than {self.max_depth} levels"


def _invalid(msg: str) -> ApiError:
    return ErrorFactory.validation([ErrorFactory.validation_item(["body"], msg, "json_invalid")])


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
