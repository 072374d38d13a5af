"""The injectable clock: system time plus a controllable offset (the mock's virtual time); time following freezegun."""

from __future__ import annotations

import calendar
import sys
import time
from typing import Any, Protocol


class Clock(Protocol):
    def now(self) -> int:
        """Current time in integer Unix seconds."""
        ...


class SystemClock:
    """Wall-clock seconds; the only place the mock reads system time (freezegun patches it)."""

    def now(self) -> int:
        return int(time.time())


# Held in a tuple so that freezegun, which swaps module attributes that are time.time, leaves it alone.
_UNFROZEN = (time.time,)


class RealClock:
    """Wall-clock seconds that freezing time in tests does not reach: for what ages in real time whatever
    the virtual and frozen clocks say (idle namespaces)."""

    def now(self) -> int:
        return int(_UNFROZEN[0]())


class OffsetStore(Protocol):
    """Where the offset lives: the store, so it survives restarts and is shared by workers."""

    def clock_offset(self) -> int: ...

    def set_clock_offset(self, offset: int) -> None: ...


class _LocalOffset:
    def __init__(self, offset: int) -> None:
        self._offset = offset

    def clock_offset(self) -> int:
        return self._offset

    def set_clock_offset(self, offset: int) -> None:
        self._offset = offset


class ClockWouldGoBackwards(ValueError):
    """Raised when virtual time would move before the current virtual time."""


class VirtualClock:
    """System time shifted by an offset that the control plane can only move forward."""

    def __init__(self, base: Clock | None = None, offset: int = 0, offsets: OffsetStore | None = None) -> None:
        self.base = base or SystemClock()
        self._offsets = offsets or _LocalOffset(offset)

    @property
    def offset(self) -> int:
        return self._offsets.clock_offset()

    @offset.setter
    def offset(self, value: int) -> None:
        self._offsets.set_clock_offset(value)

    def now(self) -> int:
        return self.base.now() + self.offset

    def advance(self, seconds: int) -> int:
        if seconds < 0:
            raise ClockWouldGoBackwards("advance_seconds must not be negative")
        self.offset += seconds
        return self.now()

    def set(self, timestamp: int) -> int:
        # Runs derive their state from the clock; moving back would un-finish terminal runs.
        current = self.now()
        if timestamp < current:
            raise ClockWouldGoBackwards(f"cannot set the clock back from {current} to {timestamp}")
        self.offset += timestamp - current
        return self.now()

    def reset(self) -> None:
        self.offset = 0

    def start_at(self, timestamp: int) -> int:
        """Only for a new world (a reset): virtual time becomes `timestamp`, before the current time too."""
        self.offset = timestamp - self.base.now()
        return self.now()


def _freezegun() -> Any:
    """freezegun's `api` module when something in this process imported it (then it may be freezing time)."""
    return sys.modules.get("freezegun.api")


class FollowingClock:
    """Wall-clock seconds that follow freezegun in this process: while a test is inside `freeze_time(...)`,
    the time it froze (and moved with `tick()`); otherwise the real time.

    It reads freezegun's active factory itself instead of calling `time.time()`: freezegun decides per call
    whether to answer real or frozen time by looking a few frames up the caller's stack for ignored modules
    (`threading` among them), so a server thread would see one or the other depending on its call depth.
    Reading the factory gives every thread the same answer.
    """

    def now(self) -> int:
        api = _freezegun()
        if api is None:
            return int(time.time())
        try:
            frozen = api.freeze_factories[-1]()
        except IndexError:  # no freeze active (or it ended between the check and the read)
            return int(api.real_time())
        return calendar.timegm(frozen.timetuple())


def freezegun_imported() -> bool:
    """Has anything in this process imported freezegun (so time may have been frozen)?"""
    return _freezegun() is not None


def freezegun_active() -> bool:
    """Is time frozen by freezegun in this process right now?"""
    api = _freezegun()
    return api is not None and bool(api.freeze_factories)


def real_monotonic() -> float:
    """`time.monotonic()` as the operating system tells it, also while freezegun has frozen it (for event loops)."""
    api = _freezegun()
    return float(api.real_monotonic()) if api is not None else time.monotonic()
