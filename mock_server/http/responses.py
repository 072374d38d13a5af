"""The one renderer of every answer the mock sends: success bodies and error bodies, for both lanes."""

from __future__ import annotations

import json
from http import HTTPStatus
from typing import Any

from connexion.jsonifier import JSONEncoder
from starlette.responses import Response

from ..errors import ApiError

JSON_HEADER = (b"content-type", b"application/json")


class Rendered(Response):
    """A starlette Response built from finished bytes (connexion passes it through; ASGI sends it)."""

    def __init__(self, status: int, body: bytes, headers: dict[str, str] | None = None, *, json: bool = True) -> None:
        self.status_code = status
        self.body = body
        self.background = None
        raw = [(name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in (headers or {}).items()]
        if json:
            raw += [(b"content-length", str(len(body)).encode("latin-1")), JSON_HEADER]
        self.raw_headers = raw


def success(status: int, body: Any) -> Response:
    """A handler's outcome: compact JSON and a newline (as connexion's jsonifier writes it), or no body."""
    if body is None:
        return Rendered(status, b"", json=False)
    payload = json.dumps(body, separators=(",", ":"), cls=JSONEncoder) + "\n"
    return Rendered(status, payload.encode("utf-8"))


def raw_http(err: ApiError) -> bytes:
    """An error answer as the bytes of a whole HTTP/1.1 response that closes the connection: for the protocol,
    which answers before there is a request to hand to the app (headers that never finished arriving)."""
    body = json.dumps(err.body, separators=(",", ":")).encode("utf-8")
    head = [f"HTTP/1.1 {err.status} {HTTPStatus(err.status).phrase}"]
    head += [f"{name}: {value}" for name, value in err.headers.items() if name.lower() != "connection"]
    head += ["content-type: application/json", f"content-length: {len(body)}", "connection: close"]
    return ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body


def error(err: ApiError) -> Response:
    """An error answer: the documented body as compact JSON, with the error's headers."""
    return Rendered(err.status, json.dumps(err.body, separators=(",", ":")).encode("utf-8"), err.headers)
