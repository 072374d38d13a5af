"""The hard request budget shared by every check and every transport."""

from __future__ import annotations

import threading


class BudgetExhausted(Exception):
    """Raised instead of sending a request past the budget."""


class Budget:
    """At most `limit` requests; `reserve` keeps room for cleanup (archiving what the suite created)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.spent = 0
        self.reserved = 0
        self._lock = threading.Lock()

    def reserve(self) -> None:
        with self._lock:
            self.reserved += 1

    def spend(self, *, from_reserve: bool = False) -> None:
        with self._lock:
            if from_reserve and self.reserved > 0:
                self.reserved -= 1
            elif self.spent + self.reserved >= self.limit:
                raise BudgetExhausted(f"request budget of {self.limit} exhausted")
            if self.spent >= self.limit:
                raise BudgetExhausted(f"request budget of {self.limit} exhausted")
            self.spent += 1

    @property
    def remaining(self) -> int:
        return self.limit - self.spent - self.reserved
