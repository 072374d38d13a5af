"""The body deadline (http/deadline.py): a body late past the deadline is the 408; a complete body frees the
request from it (an answer may wait for the client's disconnect as long as it likes)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from mock_server import spec
from mock_server.errors import ApiError
from mock_server.http.deadline import BodyDeadline
from mock_server.slow_clients import Timeouts, request_timeout

DOC = spec.load_document()
SCOPE = {"type": "http", "method": "POST", "path": "/v1/x", "headers": []}


def channel(*messages: tuple[float, dict[str, Any]]) -> Any:
    """A receive() handing out each message after its delay (the client's pace)."""
    queue = list(messages)

    async def receive() -> dict[str, Any]:
        delay, message = queue.pop(0)
        await asyncio.sleep(delay)
        return message

    return receive


async def read_all(scope: Any, receive: Any, send: Any) -> None:
    while (await receive()).get("more_body", False):
        pass


def test_a_body_late_past_the_deadline_is_the_documented_408() -> None:
    layer = BodyDeadline(read_all, seconds=0.05, timeout=request_timeout(DOC))
    late = channel((0, {"type": "http.request", "body": b"{", "more_body": True}), (5, {"type": "http.request"}))
    with pytest.raises(ApiError) as err:
        asyncio.run(layer(SCOPE, late, None))
    assert err.value.status == 408 and err.value.body == {"detail": "Request Timeout"}
    assert err.value.headers == {"Connection": "close"}


def test_after_the_body_receive_is_not_limited() -> None:
    async def read_then_wait_for_disconnect(scope: Any, receive: Any, send: Any) -> None:
        await read_all(scope, receive, send)
        assert (await receive())["type"] == "http.disconnect"

    layer = BodyDeadline(read_then_wait_for_disconnect, seconds=0.05, timeout=request_timeout(DOC))
    messages = channel((0, {"type": "http.request", "body": b"{}"}), (0.2, {"type": "http.disconnect"}))
    asyncio.run(layer(SCOPE, messages, None))


def test_the_timeouts_come_from_the_document_unless_given() -> None:
    limits = DOC["x-limits"]
    assert Timeouts.of(DOC) == Timeouts(
        limits["header_timeout_seconds"], limits["body_timeout_seconds"], limits["keep_alive_timeout_seconds"]
    )
    assert Timeouts.of(DOC, body=1.5).body == 1.5
