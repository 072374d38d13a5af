"""Where a violation goes: a failure (raised), or, for a Decision on a target that is not the mock, a deviation.

The runner installs one `Verdicts` per check. A violation of a documented fact always raises. A violation
of a Decision raises too when the target is the mock or `--strict-decisions` is given; otherwise it is
recorded as a deviation (with the steps that show it) and the check goes on, so a deviation never hides a
failure of a documented fact further on.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from contextvars import ContextVar

from .decisions import Decision
from .exchange import Exchange
from .outcome import Finding, Violation


class Verdicts:
    def __init__(self, decisions: dict[str, Decision], lenient: bool, steps: Callable[[], list[Exchange]]) -> None:
        self.decisions = decisions
        self.lenient = lenient
        self.steps = steps
        self.deviations: list[Finding] = []
        self._lock = threading.Lock()

    def decision_of(self, violation: Violation) -> Decision | None:
        return self.decisions.get(violation.decision) if violation.decision else None

    def judge(self, violation: Violation) -> None:
        """Raise `violation`, or record it as a deviation and return."""
        decision = self.decision_of(violation)
        if decision is None or not self.lenient:
            raise violation
        self.deviate(
            Finding(
                "deviation",
                violation.message,
                violation.mismatches,
                decision,
                steps=self.steps(),
                evidence=violation.exchanges,
                script=violation.script,
            )
        )

    def deviate(self, finding: Finding) -> None:
        """Record a deviation; one finding per Decision, counting the occurrences and naming the other cases."""
        with self._lock:
            for known in self.deviations:
                if known.decision == finding.decision:
                    known.occurrences += 1
                    first_line = finding.message.splitlines()[0]
                    if first_line != known.message.splitlines()[0] and first_line not in known.also:
                        known.also.append(first_line)
                    return
            self.deviations.append(finding)


CURRENT: ContextVar[Verdicts | None] = ContextVar("coverbase_contract_verdicts", default=None)


def judge(violation: Violation) -> None:
    verdicts = CURRENT.get()
    if verdicts is None:
        raise violation
    verdicts.judge(violation)
