"""The one renderer of every answer the mock sends: success bodies and error bodies, for both lanes."""

from __future__ import annotations

import json
from typing import Any

from connexion.jsonifier import JSONEncoder
from starlette.responses import Response

from ..errors import ApiError

JSON = "application/json"


def success(status: int, body: Any) -> Response:
    """A handler's outcome: compact JSON and a newline (as connexion's jsonifier writes it), or no body."""
    if body is None:
        return Response(status_code=status)
    payload = json.dumps(body, separators=(",", ":"), cls=JSONEncoder) + "\n"
    return Response(payload.encode("utf-8"), status_code=status, media_type=JSON)


def error(err: ApiError, extra_headers: dict[str, str] | None = None) -> Response:
    """An error answer: the documented body as compact JSON, with the error's headers."""
    payload = json.dumps(err.body, separators=(",", ":"))
    return Response(
        payload.encode("utf-8"),
        status_code=err.status,
        headers={**err.headers, **(extra_headers or {})},
        media_type=JSON,
    )
