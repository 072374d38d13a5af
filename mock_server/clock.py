"""The injectable clock: system time plus a controllable offset (the mock's virtual time)."""

from __future__ import annotations

import time
from typing import Protocol


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
