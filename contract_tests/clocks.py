"""The target's clock: controlled (the mock's /_mock/clock, or freezegun in-process) and estimated.

Timestamps a request determines (a run's `started_at`, an assessment's `created_at`) are compared with
the suite's estimate of the target's clock: the local clock plus the offset last observed through clock
control, within a tolerance (tight with clock control, loose without: it still tells seconds from
milliseconds and catches time-zone shifts).
"""

from __future__ import annotations

import datetime as dt
import os
import time
from typing import Any, Protocol

from .client import ApiClient, Reply
from .outcome import Violation

TOLERANCE_CONTROLLED = 5  # seconds: the mock's virtual clock keeps ticking with real time
TOLERANCE_UNCONTROLLED = 300  # seconds: clock skew between the CI runner and a deployment


class ClockControl(Protocol):
    def now(self) -> int: ...

    def set(self, timestamp: int) -> int: ...


class ControlPlaneClock:
    """Drives the mock's virtual clock (it only moves forward)."""

    def __init__(self, client: ApiClient) -> None:
        self.client = client

    def now(self) -> int:
        return _now(self.client.control("GET", "/_mock/clock"), "read the clock")

    def set(self, timestamp: int) -> int:
        return _now(self.client.control("POST", "/_mock/clock", {"set": timestamp}), f"set the clock to {timestamp}")


def _now(reply: Reply, what: str) -> int:
    now = reply.body.get("now") if isinstance(reply.body, dict) else None
    if reply.status != 200 or not isinstance(now, int) or isinstance(now, bool):
        raise Violation(
            f"could not {what} through /_mock/clock: {reply.status} {reply.exchange.response_text[:200]}",
            [reply.exchange],
        )
    return now


class FrozenClock:
    """Moves a freezegun factory (`freeze_time(..., real_asyncio=True)`) for a target running in this process."""

    def __init__(self, frozen: Any) -> None:
        self.frozen = frozen

    def now(self) -> int:
        return int(time.time())

    def set(self, timestamp: int) -> int:
        self.frozen.move_to(dt.datetime.fromtimestamp(timestamp, tz=dt.UTC))
        return self.now()


class TargetTime:
    """The suite's estimate of the target's clock: the last reading, plus the real time elapsed since.

    Real elapsed time is read from `os.times()`, which freezegun does not patch, so the estimate holds for
    a frozen in-process target (whose clock stands still between moves), for the mock's virtual clock and
    for a real deployment alike, from any thread.
    """

    def __init__(self, tolerance: int) -> None:
        self.tolerance = tolerance
        self.anchor: tuple[int, float] | None = None

    def observe(self, target_now: int) -> None:
        self.anchor = (target_now, os.times().elapsed)

    def bounds(self) -> tuple[int, int]:
        """(earliest, latest) Unix second the target's clock can show now."""
        if self.anchor is None:
            self.observe(int(time.time()))
        assert self.anchor is not None
        now, at = self.anchor
        return now - self.tolerance, int(now + os.times().elapsed - at) + self.tolerance + 1


class TrackedClock:
    """A ClockControl that keeps the time estimate calibrated and records moves that are not HTTP requests."""

    def __init__(self, inner: ClockControl, target_time: TargetTime, client: ApiClient) -> None:
        self.inner = inner
        self.target_time = target_time
        self.client = client

    def now(self) -> int:
        value = self.inner.now()
        self.target_time.observe(value)
        return value

    def set(self, timestamp: int) -> int:
        if not isinstance(self.inner, ControlPlaneClock):
            self.client.note(f"in-process clock moved to {timestamp} ({timestamp - int(time.time()):+d} s)")
        value = self.inner.set(timestamp)
        self.target_time.observe(value)
        return value


def advance(clock: ClockControl, seconds: int) -> int:
    return clock.set(clock.now() + seconds)
