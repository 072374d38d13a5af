"""A store that fails like a full disk at chosen points: it wraps any store and raises what SQLite raises."""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator
from typing import Any

DISK_FULL = "database or disk is full"
COMMIT = "commit"  # the point where a transaction commits (outermost only)


class FailingStorage:
    """Wraps a store; every method named in `failing` (and the commit, with COMMIT) raises
    `sqlite3.OperationalError("database or disk is full")`. A failing commit raises inside the wrapped
    store's transaction, so the store rolls it back exactly as SQLite does when its COMMIT fails."""

    def __init__(self, inner: Any, *failing: str) -> None:
        self.inner = inner
        self.failing: set[str] = set(failing)
        self.fired: list[str] = []
        self._depth = 0

    def fail(self, *points: str) -> None:
        self.failing = set(points)

    def recover(self) -> None:
        """Space is back."""
        self.failing = set()

    def _raise(self, point: str) -> None:
        self.fired.append(point)
        raise sqlite3.OperationalError(DISK_FULL)

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        with self.inner.transaction():
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
            if self._depth == 0 and COMMIT in self.failing:
                self._raise(COMMIT)

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self.inner, name)
        if name not in self.failing or not callable(attr):
            return attr

        def failing(*args: Any, **kwargs: Any) -> Any:
            self._raise(name)

        return failing
