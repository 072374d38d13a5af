"""The body deadline: a request whose body is not complete within `x-limits.body_timeout_seconds` of its headers
is answered `408 request_timeout` with `Connection: close`, before anything reads it as a request.

uvicorn has no such timeout: a client that stops sending mid-body would hold its connection and its task
forever. The deadline covers every `receive()` until the body is complete; after that (a response waiting
for a disconnect) `receive()` is passed through untouched. Slow headers and idle connections are the
protocol's (`mock_server/serving.py`): the app is only called once the headers are complete.
"""

from __future__ import annotations

import asyncio

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..errors import ApiError


class BodyDeadline:
    def __init__(self, app: ASGIApp, seconds: float, timeout: ApiError) -> None:
        self.app = app
        self.seconds = seconds
        self.timeout = timeout  # request_timeout, with Connection: close

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.seconds
        complete = False

        async def receive_() -> Message:
            nonlocal complete
            if complete:
                return await receive()
            try:
                async with asyncio.timeout_at(deadline):
                    message = await receive()
            except TimeoutError:
                raise self.timeout from None
            if message["type"] != "http.request" or not message.get("more_body", False):
                complete = True
            return message

        await self.app(scope, receive_, send)
