"""Check outcomes: passed, failed, deviated (a Decision done differently) or skipped, with their findings."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Literal

from .decisions import Decision
from .diff import Mismatch
from .exchange import Exchange


class Status(StrEnum):
    PASSED = "passed"
    FAILED = "failed"
    DEVIATED = "deviated"
    SKIPPED = "skipped"


class Skip(Exception):
    """A check cannot run on this target; the message says why."""


ScriptKind = Literal["status", "json", "same", "differs", "delta", "schema", "expr", "answer"]


@dataclass
class ScriptCheck:
    """How a reproduction script re-checks the expectation on the answer of `exchange`.

    status: the status is one of `expected` (a list); json: the value at `pointer` equals `expected`;
    same / differs: the answer (status and body, or the value at `pointer`) equals / differs from `other`'s;
    delta: the integer at `pointer` grew by `expected` from `other` to `exchange`; schema: the body (at
    `pointer`) conforms to the JSON schema `expected`; expr: the Python expression `expected` over the
    answer's `body`, `status` and `headers` holds; answer: the target does not give the same
    non-conforming answer (`expected` = the status it gave) again.
    """

    kind: ScriptKind
    exchange: Exchange
    expected: Any = None
    pointer: str = ""
    other: Exchange | None = None
    also: list[Exchange] = field(default_factory=list)  # "status": more answers held to the same rule


class Violation(AssertionError):
    """The target broke the contract (or a Decision of it): the message, the evidence and a re-check."""

    def __init__(
        self,
        message: str,
        exchanges: list[Exchange] | None = None,
        *,
        mismatches: list[Mismatch] | None = None,
        decision: str | None = None,
        script: ScriptCheck | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.exchanges = exchanges or []
        self.mismatches = mismatches or []
        self.decision = decision
        self.script = script
        self.steps: list[Exchange] | None = None  # every exchange of the example that failed, set where it failed


FindingKind = Literal["failure", "deviation"]


@dataclass
class Finding:
    """One failure or deviation: what, the field-level diff, every step to reproduce it, the evidence."""

    kind: FindingKind
    message: str
    mismatches: list[Mismatch] = field(default_factory=list)
    decision: Decision | None = None
    steps: list[Exchange] = field(default_factory=list)
    evidence: list[Exchange] = field(default_factory=list)
    script: ScriptCheck | None = None
    occurrences: int = 1
    also: list[str] = field(default_factory=list)  # other cases of the same deviation (their first lines)
    crashed: bool = False  # the check could not interpret an answer: a bug of the suite, reported as a failure

    @property
    def key(self) -> tuple[str | None, str]:
        return (self.decision.id if self.decision else None, self.message)


@dataclass
class Coverage:
    """What a check exercised, and what the document offers that it had to exercise."""

    operations: Counter[str] = field(default_factory=Counter)
    links: Counter[str] = field(default_factory=Counter)
    required_operations: list[str] = field(default_factory=list)
    required_links: list[str] = field(default_factory=list)

    @property
    def missing_operations(self) -> list[str]:
        return [op for op in self.required_operations if not self.operations[op]]

    @property
    def missing_links(self) -> list[str]:
        return [link for link in self.required_links if not self.links[link]]

    def summary(self) -> str:
        parts = []
        if self.operations:
            parts.append("operations " + ", ".join(f"{op} x{n}" for op, n in sorted(self.operations.items())))
        if self.required_links or self.links:
            walked = sum(1 for link in self.required_links if self.links[link])
            parts.append(f"links walked {walked}/{len(self.required_links)}")
        return "; ".join(parts)


@dataclass
class CheckResult:
    name: str
    description: str
    status: Status
    detail: str = ""
    seconds: float = 0.0
    requests: int = 0
    findings: list[Finding] = field(default_factory=list)
    coverage: Coverage | None = None

    @property
    def failures(self) -> list[Finding]:
        return [f for f in self.findings if f.kind == "failure"]

    @property
    def deviations(self) -> list[Finding]:
        return [f for f in self.findings if f.kind == "deviation"]

    @property
    def crashed(self) -> bool:
        return any(f.crashed for f in self.findings)
