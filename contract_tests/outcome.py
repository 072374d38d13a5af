"""Check outcomes: passed, failed (with a reproduction) or skipped (with a reason)."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from .exchange import Exchange


class Status(StrEnum):
    PASSED = "passed"
    FAILED = "failed"
    SKIPPED = "skipped"


class Skip(Exception):
    """A check cannot run on this target; the message says why."""


class Violation(AssertionError):
    """The target broke the contract; carries the exchanges that show it."""

    def __init__(self, message: str, exchanges: list[Exchange] | None = None) -> None:
        super().__init__(message)
        self.exchanges = exchanges or []


@dataclass
class CheckResult:
    name: str
    description: str
    status: Status
    detail: str = ""
    seconds: float = 0.0
    requests: int = 0
    reproduction: list[str] = field(default_factory=list)
