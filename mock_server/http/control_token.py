"""With `--control-token`, every /_mock/ request must carry the token (compared in constant time)."""

from __future__ import annotations

import hmac

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from ..errors import ApiError

CONTROL_PREFIX = "/_mock/"
CONTROL_TOKEN_HEADER = "x-mock-control-token"
CONTROL_TOKEN_DETAIL = "Missing or invalid X-Mock-Control-Token."


class ControlToken:
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
            raise ApiError(401, {"detail": CONTROL_TOKEN_DETAIL}, dict(self.headers))
        await self.app(scope, receive, send)
