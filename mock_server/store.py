"""The explicit state of the mock: per-org assessments and runs, idempotency records, journal."""

from __future__ import annotations

import bisect
import copy
import itertools
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Iterator, Protocol

from .fixtures import Fixtures, OrgFixture
from .lifecycle import RunRecord

JOURNAL_LIMIT = 1000


@dataclass
class AssessmentRecord:
    org_id: str
    fields: dict[str, Any]
    custom_fields: list[dict[str, Any]] = field(default_factory=list)
    archived_status: str | None = None
    archived_at: int | None = None

    @property
    def id(self) -> str:
        value: str = self.fields["id"]
        return value


@dataclass(frozen=True)
class IdempotencyScope:
    org_id: str
    method: str
    path: str
    key: str


@dataclass(frozen=True)
class IdempotencyRecord:
    first_used_at: int
    status: int
    body: str


class Store(Protocol):
    """What the handlers may do to state; every implementation passes tests/test_store.py."""

    fixtures: Fixtures

    def reset(self) -> None: ...

    def org(self, org_id: str) -> OrgFixture: ...

    def next_sequence(self) -> int: ...

    def add_assessment(self, record: AssessmentRecord) -> None: ...

    def get_assessment(self, org_id: str, assessment_id: str) -> AssessmentRecord | None: ...

    def save_assessment(self, record: AssessmentRecord) -> None: ...

    def add_run(self, record: RunRecord) -> None: ...

    def get_run(self, org_id: str, run_id: str) -> RunRecord | None: ...

    def save_run(self, record: RunRecord) -> None: ...

    def runs_newest_first(self, org_id: str) -> Iterator[RunRecord]: ...

    def run_count(self, org_id: str) -> int: ...

    def runs_for_assessment(self, org_id: str, assessment_id: str) -> list[RunRecord]: ...

    def idempotency_get(self, scope: IdempotencyScope) -> IdempotencyRecord | None: ...

    def idempotency_put(self, scope: IdempotencyScope, record: IdempotencyRecord) -> None: ...

    def idempotency_purge(self, expired_before: int) -> int: ...

    def idempotency_count(self) -> int: ...

    def journal_append(self, entry: dict[str, Any]) -> None: ...

    def journal(self) -> list[dict[str, Any]]: ...

    def journal_clear(self) -> None: ...


class _OrgState:
    def __init__(self) -> None:
        self.assessments: dict[str, AssessmentRecord] = {}
        self.runs: dict[str, RunRecord] = {}
        # Sorted ascending by (started_at, sequence): newest-first listing is a reverse walk.
        self.run_order: list[tuple[int, int, str]] = []
        self.runs_by_assessment: dict[str, list[str]] = {}


class MemoryStore:
    """In-process state (the default): fast, lost when the process ends."""

    def __init__(self, fixtures: Fixtures) -> None:
        self.fixtures = fixtures
        self._orgs: dict[str, _OrgState] = {}
        self._idempotency: dict[IdempotencyScope, IdempotencyRecord] = {}
        self._journal: deque[dict[str, Any]] = deque(maxlen=JOURNAL_LIMIT)
        self._sequence = itertools.count(1)
        self.reset()

    def reset(self) -> None:
        self._orgs = {org.id: _OrgState() for org in self.fixtures.orgs}
        self._idempotency.clear()
        self._journal.clear()
        self._sequence = itertools.count(1)
        for org in self.fixtures.orgs:
            for seed in org.assessments:
                fields = {k: copy.deepcopy(v) for k, v in seed.items() if k != "custom_fields"}
                fields.setdefault("workflow_run_id", None)
                self.add_assessment(
                    AssessmentRecord(org.id, fields, copy.deepcopy(seed.get("custom_fields", [])))
                )
            for run_seed in org.runs:
                snap = copy.deepcopy(run_seed.run)
                self.add_run(
                    RunRecord(
                        workflow_run_id=snap["workflow_run_id"],
                        org_id=org.id,
                        workflow_name=snap["workflow_name"],
                        workflow_definition_id=snap["workflow_definition_id"],
                        started_at=snap["started_at"],
                        input=copy.deepcopy(run_seed.input),
                        sequence=self.next_sequence(),
                        target_assessment_id=run_seed.target_assessment_id,
                        snapshot=snap,
                    )
                )

    def org(self, org_id: str) -> OrgFixture:
        return self.fixtures.org(org_id)

    def next_sequence(self) -> int:
        return next(self._sequence)

    def add_assessment(self, record: AssessmentRecord) -> None:
        self._orgs[record.org_id].assessments[record.id] = record

    def get_assessment(self, org_id: str, assessment_id: str) -> AssessmentRecord | None:
        state = self._orgs.get(org_id)
        return state.assessments.get(assessment_id) if state else None

    def save_assessment(self, record: AssessmentRecord) -> None:
        self._orgs[record.org_id].assessments[record.id] = record

    def add_run(self, record: RunRecord) -> None:
        state = self._orgs[record.org_id]
        state.runs[record.workflow_run_id] = record
        bisect.insort(state.run_order, (record.started_at, record.sequence, record.workflow_run_id))
        if record.target_assessment_id:
            state.runs_by_assessment.setdefault(record.target_assessment_id, []).append(record.workflow_run_id)

    def get_run(self, org_id: str, run_id: str) -> RunRecord | None:
        state = self._orgs.get(org_id)
        return state.runs.get(run_id) if state else None

    def save_run(self, record: RunRecord) -> None:
        self._orgs[record.org_id].runs[record.workflow_run_id] = record

    def runs_newest_first(self, org_id: str) -> Iterator[RunRecord]:
        state = self._orgs[org_id]
        for _, _, run_id in reversed(state.run_order):
            yield state.runs[run_id]

    def run_count(self, org_id: str) -> int:
        return len(self._orgs[org_id].runs)

    def runs_for_assessment(self, org_id: str, assessment_id: str) -> list[RunRecord]:
        state = self._orgs[org_id]
        return [state.runs[r] for r in state.runs_by_assessment.get(assessment_id, [])]

    def idempotency_get(self, scope: IdempotencyScope) -> IdempotencyRecord | None:
        return self._idempotency.get(scope)

    def idempotency_put(self, scope: IdempotencyScope, record: IdempotencyRecord) -> None:
        self._idempotency[scope] = record

    def idempotency_purge(self, expired_before: int) -> int:
        stale = [s for s, r in self._idempotency.items() if r.first_used_at < expired_before]
        for scope in stale:
            del self._idempotency[scope]
        return len(stale)

    def idempotency_count(self) -> int:
        return len(self._idempotency)

    def journal_append(self, entry: dict[str, Any]) -> None:
        self._journal.append(entry)

    def journal(self) -> list[dict[str, Any]]:
        return list(self._journal)

    def journal_clear(self) -> None:
        self._journal.clear()
