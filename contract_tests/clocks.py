"""Control of the target's clock: the mock's /_mock/clock over HTTP, or freezegun in-process."""

from __future__ import annotations

import datetime as dt
import time
from typing import Any, Protocol

from .client import ApiClient


class ClockControl(Protocol):
    def now(self) -> int: ...

    def set(self, timestamp: int) -> int: ...


class ControlPlaneClock:
    """Drives the mock's virtual clock (it only moves forward)."""

    def __init__(self, client: ApiClient) -> None:
        self.client = client

    def now(self) -> int:
        return int(self.client.control("GET", "/_mock/clock").body["now"])

    def set(self, timestamp: int) -> int:
        reply = self.client.control("POST", "/_mock/clock", {"set": timestamp})
        if reply.status != 200:
            raise RuntimeError(f"/_mock/clock refused set={timestamp}: {reply.status} {reply.body}")
        return int(reply.body["now"])


class FrozenClock:
    """Moves a freezegun factory (`freeze_time(..., real_asyncio=True)`) for a target running in this process."""

    def __init__(self, frozen: Any) -> None:
        self.frozen = frozen

    def now(self) -> int:
        return int(time.time())

    def set(self, timestamp: int) -> int:
        self.frozen.move_to(dt.datetime.fromtimestamp(timestamp, tz=dt.UTC))
        return self.now()


def advance(clock: ClockControl, seconds: int) -> int:
    return clock.set(clock.now() + seconds)
