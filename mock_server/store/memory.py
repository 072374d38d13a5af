"""In-process state (the default): fast, lost when the process ends; transactions undo on failure."""

from __future__ import annotations

import bisect
import contextlib
import copy
import dataclasses
import functools
import itertools
import threading
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from typing import Any

from ..fixtures import Fixtures
from ..records import (
    PENDING,
    SENDING,
    AssessmentRecord,
    DeliveryRecord,
    IdempotencyRecord,
    IdempotencyScope,
    Rehearsal,
    RunRecord,
    ServiceRecord,
    VendorRecord,
    WebhookRecord,
)
from . import JOURNAL_LIMIT, ClaimResult, seed


class _OrgState:
    __slots__ = (
        "assessments",
        "assessments_by_external_id",
        "run_order",
        "runs",
        "runs_by_assessment",
        "services",
        "services_by_external_id",
        "vendors",
        "vendors_by_external_id",
        "webhooks",
    )

    def __init__(self) -> None:
        self.assessments: dict[str, AssessmentRecord] = {}
        self.assessments_by_external_id: dict[str, str] = {}
        self.runs: dict[str, RunRecord] = {}
        # Sorted ascending by (started_at, sequence): newest-first listing is a reverse walk.
        self.run_order: list[tuple[int, int, str]] = []
        self.runs_by_assessment: dict[str, list[str]] = {}
        self.vendors: dict[str, VendorRecord] = {}
        self.vendors_by_external_id: dict[str, str] = {}
        self.services: dict[str, ServiceRecord] = {}
        self.services_by_external_id: dict[str, str] = {}
        self.webhooks: dict[str, WebhookRecord] = {}


class MemoryStore:
    """Writes apply at once; inside a transaction each write also logs how to undo it, and a failing
    transaction replays the log backwards. Transactions hold a lock, and the mock never awaits inside
    one, so nobody observes a half-done execution."""

    def __init__(self, fixtures: Fixtures) -> None:
        self.fixtures = fixtures
        self._lock = threading.RLock()
        self._undo: list[Callable[[], None]] | None = None
        self._orgs: dict[str, _OrgState] = {}
        # Assessments with a status change to publish: (org, ID) -> next_event_at.
        self._events_due: dict[tuple[str, str], int] = {}
        self._deliveries: dict[str, DeliveryRecord] = {}  # in insertion (sequence) order
        self._open_deliveries: dict[str, None] = {}  # IDs of pending or claimed attempts
        self._idempotency: dict[IdempotencyScope, IdempotencyRecord] = {}
        self._pending: dict[IdempotencyScope, int] = {}
        self._clock_offset = 0
        self._rehearsals: list[Rehearsal] = []
        self._journal: deque[dict[str, Any]] = deque(maxlen=JOURNAL_LIMIT)
        self._sequence = itertools.count(1)
        self.reset()

    def close(self) -> None:
        self._orgs = {}
        self._events_due = {}
        self._deliveries = {}
        self._open_deliveries = {}
        self._idempotency.clear()
        self._pending.clear()
        self._journal.clear()

    def drop(self) -> None:
        self.close()

    def reset(self) -> None:
        with self._lock:
            self._orgs = {org.id: _OrgState() for org in self.fixtures.orgs}
            self._events_due = {}
            self._deliveries = {}
            self._open_deliveries = {}
            self._idempotency.clear()
            self._pending.clear()
            self._journal.clear()
            self._sequence = itertools.count(1)
            self._clock_offset = 0
            self._rehearsals = []
            seed(self)

    def request_scope(self) -> AbstractContextManager[None]:
        return contextlib.nullcontext()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        with self._lock:
            if self._undo is not None:
                yield  # nested: part of the outer transaction
                return
            self._undo = []
            try:
                yield
            except BaseException:
                for undo in reversed(self._undo):
                    undo()
                raise
            finally:
                self._undo = None

    def _log(self, undo: Callable[[], None]) -> None:
        if self._undo is not None:
            self._undo.append(undo)

    def _set(self, table: dict[Any, Any], key: Any, value: Any) -> None:
        """table[key] = value, undoable."""
        missing = key not in table
        previous = table.get(key)
        table[key] = value
        self._log(lambda: table.pop(key, None) if missing else table.__setitem__(key, previous))

    def _delete(self, table: dict[Any, Any], key: Any) -> None:
        if key in table:
            previous = table.pop(key)
            self._log(lambda: table.__setitem__(key, previous))

    def next_sequence(self) -> int:
        return next(self._sequence)

    def get_assessment(self, org_id: str, assessment_id: str) -> AssessmentRecord | None:
        state = self._orgs.get(org_id)
        return state.assessments.get(assessment_id) if state else None

    def put_assessment(self, record: AssessmentRecord) -> None:
        with self._lock:
            state = self._orgs[record.org_id]
            self._set(state.assessments, record.id, record)
            if record.external_id is not None:
                self._set(state.assessments_by_external_id, record.external_id, record.id)
            key = (record.org_id, record.id)
            if record.next_event_at is None:
                self._delete(self._events_due, key)
            else:
                self._set(self._events_due, key, record.next_event_at)

    def assessment_by_external_id(self, org_id: str, external_id: str) -> AssessmentRecord | None:
        state = self._orgs.get(org_id)
        found = state.assessments_by_external_id.get(external_id) if state else None
        return state.assessments[found] if state is not None and found is not None else None

    def assessments_with_events_due(self, now: int, limit: int) -> list[AssessmentRecord]:
        with self._lock:
            due = sorted((at, key) for key, at in self._events_due.items() if at <= now)[:limit]
            return [self._orgs[org_id].assessments[assessment_id] for _, (org_id, assessment_id) in due]

    def get_run(self, org_id: str, run_id: str) -> RunRecord | None:
        state = self._orgs.get(org_id)
        return state.runs.get(run_id) if state else None

    def put_run(self, record: RunRecord) -> None:
        with self._lock:
            state = self._orgs[record.org_id]
            known = record.workflow_run_id in state.runs
            self._set(state.runs, record.workflow_run_id, record)
            if known:
                return
            entry = (record.started_at, record.sequence, record.workflow_run_id)
            bisect.insort(state.run_order, entry)
            self._log(lambda: state.run_order.remove(entry))
            if record.target_assessment_id:
                targets = state.runs_by_assessment.setdefault(record.target_assessment_id, [])
                targets.append(record.workflow_run_id)
                self._log(lambda: targets.remove(record.workflow_run_id))

    def runs_newest_first(self, org_id: str) -> Iterator[RunRecord]:
        state = self._orgs[org_id]
        for _, _, run_id in reversed(state.run_order):
            yield state.runs[run_id]

    def run_count(self, org_id: str) -> int:
        return len(self._orgs[org_id].runs)

    def runs_for_assessment(self, org_id: str, assessment_id: str) -> list[RunRecord]:
        state = self._orgs[org_id]
        return [state.runs[r] for r in state.runs_by_assessment.get(assessment_id, [])]

    def purge_older_than(self, cutoff: int) -> int:
        purged = 0
        with self.transaction():
            for state in self._orgs.values():
                # run_order is sorted by start: the old runs are at its front.
                old = []
                for started_at, _, run_id in state.run_order:
                    if started_at >= cutoff:
                        break
                    if state.runs[run_id].snapshot_json is None:
                        old.append(run_id)
                for run_id in old:
                    record = state.runs[run_id]
                    self._delete(state.runs, run_id)
                    entry = (record.started_at, record.sequence, run_id)
                    state.run_order.remove(entry)
                    self._log(functools.partial(bisect.insort, state.run_order, entry))
                    targets = state.runs_by_assessment.get(record.target_assessment_id or "")
                    if targets is not None and run_id in targets:
                        targets.remove(run_id)
                        self._log(functools.partial(targets.append, run_id))
                purged += len(old)
                stale = [a for a, r in state.assessments.items() if not r.seed and r.created_at < cutoff]
                for assessment_id in stale:
                    self._delete(state.assessments, assessment_id)
                purged += len(stale)
        return purged

    def get_vendor(self, org_id: str, vendor_id: str) -> VendorRecord | None:
        state = self._orgs.get(org_id)
        return state.vendors.get(vendor_id) if state else None

    def vendor_by_external_id(self, org_id: str, external_id: str) -> VendorRecord | None:
        state = self._orgs.get(org_id)
        if state is None or external_id not in state.vendors_by_external_id:
            return None
        return state.vendors[state.vendors_by_external_id[external_id]]

    def put_vendor(self, record: VendorRecord) -> None:
        with self._lock:
            state = self._orgs[record.org_id]
            self._set(state.vendors, record.id, record)
            if record.external_id:
                self._set(state.vendors_by_external_id, record.external_id, record.id)

    def vendors_newest_first(self, org_id: str) -> list[VendorRecord]:
        state = self._orgs.get(org_id)
        vendors = list(state.vendors.values()) if state else []
        return sorted(vendors, key=lambda v: (v.created_at, v.sequence), reverse=True)

    def put_service(self, record: ServiceRecord) -> None:
        with self._lock:
            state = self._orgs[record.org_id]
            self._set(state.services, record.id, record)
            if record.external_id is not None:
                self._set(state.services_by_external_id, record.external_id, record.id)

    def get_service(self, org_id: str, service_id: str) -> ServiceRecord | None:
        state = self._orgs.get(org_id)
        return state.services.get(service_id) if state else None

    def service_by_external_id(self, org_id: str, external_id: str) -> ServiceRecord | None:
        state = self._orgs.get(org_id)
        found = state.services_by_external_id.get(external_id) if state else None
        return state.services[found] if state is not None and found is not None else None

    def services_of(self, org_id: str, vendor_id: str) -> list[ServiceRecord]:
        state = self._orgs.get(org_id)
        services = [s for s in state.services.values() if s.vendor_id == vendor_id] if state else []
        return sorted(services, key=lambda s: s.sequence)

    def put_webhook(self, record: WebhookRecord) -> None:
        with self._lock:
            self._set(self._orgs[record.org_id].webhooks, record.id, record)

    def get_webhook(self, org_id: str, webhook_id: str) -> WebhookRecord | None:
        state = self._orgs.get(org_id)
        return state.webhooks.get(webhook_id) if state else None

    def webhooks(self, org_id: str | None = None) -> list[WebhookRecord]:
        states = [self._orgs[org_id]] if org_id in self._orgs else [] if org_id is not None else self._orgs.values()
        return sorted((w for state in states for w in state.webhooks.values()), key=lambda w: w.sequence)

    def add_delivery(self, record: DeliveryRecord) -> None:
        with self._lock:
            self._set(self._deliveries, record.id, record)
            if record.status in (PENDING, SENDING):
                self._set(self._open_deliveries, record.id, None)

    def deliveries(self, org_id: str | None = None, webhook_id: str | None = None) -> list[DeliveryRecord]:
        with self._lock:
            return sorted(
                (
                    d
                    for d in self._deliveries.values()
                    if org_id in (None, d.org_id) and webhook_id in (None, d.webhook_id)
                ),
                key=lambda d: d.sequence,
            )

    def claim_due_deliveries(
        self, due_by: int, claimer: str, held_until: int, stale_before: int, limit: int
    ) -> list[DeliveryRecord]:
        with self._lock:
            ready = []
            for delivery_id in self._open_deliveries:
                found = self._deliveries[delivery_id]
                pending = found.status == PENDING and found.due_at <= due_by
                lapsed = found.status == SENDING and (found.lease_until or 0) < stale_before
                if pending or lapsed:
                    ready.append(found)
            ready.sort(key=lambda d: (d.due_at, d.sequence))
            claimed = []
            for found in ready[:limit]:
                taken = dataclasses.replace(found, status=SENDING, claimed_by=claimer, lease_until=held_until)
                self._set(self._deliveries, found.id, taken)
                claimed.append(taken)
            return claimed

    def purge_deliveries(self, created_before: int) -> int:
        with self._lock:
            old = [
                d.id
                for d in self._deliveries.values()
                if d.created_at < created_before and d.status not in (PENDING, SENDING)
            ]
            for delivery_id in old:
                self._delete(self._deliveries, delivery_id)
            return len(old)

    def finish_delivery(self, record: DeliveryRecord, retry: DeliveryRecord | None) -> bool:
        with self._lock:
            current = self._deliveries.get(record.id)
            if current is None or current.status != SENDING or current.claimed_by != record.claimed_by:
                return False
            self._set(self._deliveries, record.id, record)
            if record.status not in (PENDING, SENDING):
                self._delete(self._open_deliveries, record.id)
            if retry is not None:
                self.add_delivery(retry)
            return True

    def idempotency_get(self, scope: IdempotencyScope) -> IdempotencyRecord | None:
        return self._idempotency.get(scope)

    def idempotency_put(self, scope: IdempotencyScope, record: IdempotencyRecord) -> None:
        with self._lock:
            self._delete(self._pending, scope)
            self._set(self._idempotency, scope, record)

    def idempotency_claim(
        self, scope: IdempotencyScope, live_from: int, claimed_at: int, stale_before: int
    ) -> ClaimResult:
        with self._lock:
            record = self._idempotency.get(scope)
            if record is not None and record.first_used_at >= live_from:
                return record
            pending = self._pending.get(scope)
            if pending is not None and pending >= stale_before:
                return "busy"
            self._set(self._pending, scope, claimed_at)
            return "claimed"

    def idempotency_release(self, scope: IdempotencyScope) -> None:
        with self._lock:
            self._delete(self._pending, scope)

    def idempotency_purge(self, expired_before: int) -> int:
        with self._lock:
            stale = [s for s, r in self._idempotency.items() if r.first_used_at < expired_before]
            for scope in stale:
                self._delete(self._idempotency, scope)
            return len(stale)

    def idempotency_count(self) -> int:
        return len(self._idempotency)

    def journal_append(self, entry: dict[str, Any]) -> None:
        self._journal.append(entry)  # appended on every request: kept as is, copied on the rare read

    def journal(self) -> list[dict[str, Any]]:
        return copy.deepcopy(list(self._journal))

    def journal_clear(self) -> None:
        self._journal.clear()

    def _set_rehearsals(self, armed: list[Rehearsal]) -> None:
        previous = self._rehearsals
        self._rehearsals = armed
        self._log(lambda: setattr(self, "_rehearsals", previous))

    def rehearsal_add(self, rehearsal: Rehearsal) -> None:
        with self._lock:
            self._set_rehearsals([*self._rehearsals, rehearsal])

    def rehearsal_take(self, kind: str, operation_id: str | None, workflow_name: str | None) -> Rehearsal | None:
        with self._lock:
            for index, rehearsal in enumerate(self._rehearsals):
                if rehearsal.matches(kind, operation_id, workflow_name):
                    taken = dataclasses.replace(rehearsal, remaining=rehearsal.remaining - 1)
                    rest = [
                        *self._rehearsals[:index],
                        *([taken] if taken.remaining > 0 else []),
                        *self._rehearsals[index + 1 :],
                    ]
                    self._set_rehearsals(rest)
                    return taken
            return None

    def rehearsals(self) -> list[Rehearsal]:
        return list(self._rehearsals)

    def rehearsals_clear(self) -> None:
        with self._lock:
            self._set_rehearsals([])

    def clock_offset(self) -> int:
        return self._clock_offset

    def set_clock_offset(self, offset: int) -> None:
        with self._lock:
            previous = self._clock_offset
            self._clock_offset = offset
            self._log(lambda: setattr(self, "_clock_offset", previous))
