"""The explicit state of the mock: per-org assessments and runs, idempotency records, journal."""

from __future__ import annotations

import bisect
import copy
import itertools
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

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


@dataclass
class VendorRecord:
    """A vendor that entered through the Import API (fixture vendors live in the fixtures)."""

    org_id: str
    id: str
    external_id: str
    attributes: dict[str, Any]
    created_at: int
    updated_at: int

    @property
    def name(self) -> str:
        return str(self.attributes.get("name", ""))


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


# What a claim on a key found: a live stored outcome to replay, another execution holding the key,
# or the key is now ours (the caller must then `idempotency_put` or `idempotency_release`).
ClaimResult = IdempotencyRecord | Literal["busy", "claimed"]


class Store(Protocol):
    """What the handlers may do to state; every implementation passes tests/mock_server/test_store.py."""

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

    def idempotency_claim(
        self, scope: IdempotencyScope, live_from: int, claimed_at: int, stale_before: int
    ) -> ClaimResult:
        """Atomically: replay a record with first_used_at >= live_from, else report a claim made at or
        after stale_before as busy, else take the key with a pending claim stamped claimed_at."""
        ...

    def idempotency_release(self, scope: IdempotencyScope) -> None:
        """Drop a pending claim whose outcome is not stored, so the key can be retried."""
        ...

    def idempotency_purge(self, expired_before: int) -> int: ...

    def idempotency_count(self) -> int: ...

    def add_vendor(self, record: VendorRecord) -> None: ...

    def get_vendor(self, org_id: str, vendor_id: str) -> VendorRecord | None: ...

    def vendor_by_external_id(self, org_id: str, external_id: str) -> VendorRecord | None: ...

    def save_vendor(self, record: VendorRecord) -> None: ...

    def journal_append(self, entry: dict[str, Any]) -> None: ...

    def journal(self) -> list[dict[str, Any]]: ...

    def journal_clear(self) -> None: ...

    def clock_offset(self) -> int: ...

    def set_clock_offset(self, offset: int) -> None: ...


def seed(store: Store) -> None:
    """Load the fixtures' seed assessments and runs into an empty store."""
    for org in store.fixtures.orgs:
        for item in org.assessments:
            fields = {k: copy.deepcopy(v) for k, v in item.items() if k != "custom_fields"}
            fields.setdefault("workflow_run_id", None)
            store.add_assessment(AssessmentRecord(org.id, fields, copy.deepcopy(item.get("custom_fields", []))))
        for run_seed in org.runs:
            snap = copy.deepcopy(run_seed.run)
            store.add_run(
                RunRecord(
                    workflow_run_id=snap["workflow_run_id"],
                    org_id=org.id,
                    workflow_name=snap["workflow_name"],
                    workflow_definition_id=snap["workflow_definition_id"],
                    started_at=snap["started_at"],
                    input=copy.deepcopy(run_seed.input),
                    sequence=store.next_sequence(),
                    target_assessment_id=run_seed.target_assessment_id,
                    snapshot=snap,
                )
            )


class _OrgState:
    def __init__(self) -> None:
        self.assessments: dict[str, AssessmentRecord] = {}
        self.runs: dict[str, RunRecord] = {}
        # Sorted ascending by (started_at, sequence): newest-first listing is a reverse walk.
        self.run_order: list[tuple[int, int, str]] = []
        self.runs_by_assessment: dict[str, list[str]] = {}
        self.vendors: dict[str, VendorRecord] = {}
        self.vendors_by_external_id: dict[str, str] = {}


class MemoryStore:
    """In-process state (the default): fast, lost when the process ends."""

    def __init__(self, fixtures: Fixtures) -> None:
        self.fixtures = fixtures
        self._orgs: dict[str, _OrgState] = {}
        self._idempotency: dict[IdempotencyScope, IdempotencyRecord] = {}
        self._pending: dict[IdempotencyScope, int] = {}
        self._clock_offset = 0
        self._journal: deque[dict[str, Any]] = deque(maxlen=JOURNAL_LIMIT)
        self._sequence = itertools.count(1)
        self.reset()

    def reset(self) -> None:
        self._orgs = {org.id: _OrgState() for org in self.fixtures.orgs}
        self._idempotency.clear()
        self._pending.clear()
        self._journal.clear()
        self._sequence = itertools.count(1)
        self._clock_offset = 0
        seed(self)

    def org(self, org_id: str) -> OrgFixture:
        return self.fixtures.org(org_id)

    def next_sequence(self) -> int:
        return next(self._sequence)

    def add_vendor(self, record: VendorRecord) -> None:
        state = self._orgs[record.org_id]
        state.vendors[record.id] = record
        state.vendors_by_external_id[record.external_id] = record.id

    def get_vendor(self, org_id: str, vendor_id: str) -> VendorRecord | None:
        state = self._orgs.get(org_id)
        return state.vendors.get(vendor_id) if state else None

    def vendor_by_external_id(self, org_id: str, external_id: str) -> VendorRecord | None:
        state = self._orgs.get(org_id)
        if state is None or external_id not in state.vendors_by_external_id:
            return None
        return state.vendors[state.vendors_by_external_id[external_id]]

    def save_vendor(self, record: VendorRecord) -> None:
        self.add_vendor(record)

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
        self._pending.pop(scope, None)
        self._idempotency[scope] = record

    def idempotency_claim(
        self, scope: IdempotencyScope, live_from: int, claimed_at: int, stale_before: int
    ) -> ClaimResult:
        record = self._idempotency.get(scope)
        if record is not None and record.first_used_at >= live_from:
            return record
        pending = self._pending.get(scope)
        if pending is not None and pending >= stale_before:
            return "busy"
        self._pending[scope] = claimed_at
        return "claimed"

    def idempotency_release(self, scope: IdempotencyScope) -> None:
        self._pending.pop(scope, None)

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

    def clock_offset(self) -> int:
        return self._clock_offset

    def set_clock_offset(self, offset: int) -> None:
        self._clock_offset = offset
