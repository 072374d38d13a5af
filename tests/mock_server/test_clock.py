"""The clocks: the virtual clock's rules, and the clock that follows freezegun from any thread."""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable
from typing import TypeVar

import pytest
from freezegun import freeze_time

from mock_server.clock import (
    ClockWouldGoBackwards,
    FollowingClock,
    VirtualClock,
    freezegun_active,
    real_monotonic,
)

FROZEN = "2026-03-01 09:00:00"
FROZEN_TS = 1772355600
T = TypeVar("T")


def in_thread(read: Callable[[], T]) -> T:
    """`read()` called directly from a new thread's run(): threading's frames are right above it."""
    found: list[T] = []
    thread = threading.Thread(target=lambda: found.append(read()))
    thread.start()
    thread.join()
    return found[0]


class FixedClock:
    def __init__(self, now: int) -> None:
        self.value = now

    def now(self) -> int:
        return self.value


def test_following_clock_is_the_real_time_when_nothing_is_frozen() -> None:
    before = int(time.time())
    now = FollowingClock().now()
    assert before <= now <= int(time.time())
    assert not freezegun_active()


def test_following_clock_follows_freeze_and_tick() -> None:
    clock = FollowingClock()
    with freeze_time(FROZEN) as frozen:
        assert freezegun_active()
        assert clock.now() == FROZEN_TS
        frozen.tick(dt.timedelta(hours=25))
        assert clock.now() == FROZEN_TS + 25 * 3600
        with freeze_time("2030-01-01"):
            assert clock.now() == int(dt.datetime(2030, 1, 1, tzinfo=dt.UTC).timestamp())
        assert clock.now() == FROZEN_TS + 25 * 3600
    assert abs(clock.now() - time.time()) < 5


def test_a_server_thread_sees_the_frozen_time_where_time_time_does_not() -> None:
    """freezegun answers real time to callers with `threading` a few frames up: the reason FollowingClock
    reads freezegun's factory instead of time.time()."""
    with freeze_time(FROZEN):
        assert in_thread(FollowingClock().now) == FROZEN_TS
        assert int(in_thread(time.time)) != FROZEN_TS  # the trap the clock avoids


def test_following_clock_ticks_with_a_ticking_freeze() -> None:
    with freeze_time(FROZEN, tick=True):
        first = FollowingClock().now()
        assert FROZEN_TS <= first <= FROZEN_TS + 5


def test_real_monotonic_keeps_running_while_monotonic_is_frozen() -> None:
    with freeze_time(FROZEN):
        frozen_before, real_before = time.monotonic(), real_monotonic()
        threading.Event().wait(0.02)  # real time passes; the frozen clock must not notice it
        assert time.monotonic() == frozen_before
        assert real_monotonic() > real_before


def test_virtual_clock_never_moves_backwards_within_a_world() -> None:
    clock = VirtualClock(FixedClock(1_000))
    assert clock.advance(60) == 1_060
    assert clock.set(2_000) == 2_000
    with pytest.raises(ClockWouldGoBackwards):
        clock.set(1_999)
    with pytest.raises(ClockWouldGoBackwards):
        clock.advance(-1)


def test_a_new_world_may_start_before_the_current_time() -> None:
    base = FixedClock(1_000_000)
    clock = VirtualClock(base)
    clock.advance(3_600)
    assert clock.start_at(500_000) == 500_000
    base.value += 10
    assert clock.now() == 500_010  # the new world's time then runs with the base clock
    with pytest.raises(ClockWouldGoBackwards):
        clock.set(500_000)
