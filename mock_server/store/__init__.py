"""The store contract: what handlers may do to state, one transaction per execution; every store passes one suite.

Implementations: `memory.MemoryStore` (the default), `sqlite.SqliteStore` (`--state PATH`) and
`postgres.PostgresStore` (`--state postgresql://...`, shared by replicas). All pass
`tests/mock_server/test_store.py`. Records are immutable (`mock_server/records.py`): a read never hands
out something whose mutation changes state; a change is written back with `put_*`.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from contextlib import AbstractContextManager
from typing import Any, Literal, Protocol

from ..fixtures import Fixtures
from ..namespace_catalog import NamespaceCatalog
from ..records import (
    AssessmentRecord,
    DeliveryRecord,
    IdempotencyRecord,
    IdempotencyScope,
    Rehearsal,
    RunRecord,
    ServiceRecord,
    VendorRecord,
    WebhookRecord,
    dumps,
)

JOURNAL_LIMIT = 1000

# What a claim on a key found: a live stored outcome to replay, another execution holding the key,
# or the key is now ours (the caller must then `idempotency_put` or `idempotency_release`).
ClaimResult = IdempotencyRecord | Literal["busy", "claimed"]

__all__ = [
    "JOURNAL_LIMIT",
    "AssessmentRecord",
    "ClaimResult",
    "DeliveryRecord",
    "IdempotencyRecord",
    "IdempotencyScope",
    "RunRecord",
    "ServiceRecord",
    "Store",
    "VendorRecord",
    "WebhookRecord",
    "seed",
]

# A vendor without an external_id (one made through POST /v1/vendors) is stored with this in the lookup column.
NO_EXTERNAL_ID = ""


class Store(Protocol):
    """The state of one mock world. Writes inside `transaction()` commit together or not at all."""

    fixtures: Fixtures

    def close(self) -> None:
        """Release what the store holds (files, connections); the store is unusable afterwards."""
        ...

    def drop(self) -> None:
        """Delete every record of this world for good (a namespace that is deleted or expired)."""
        ...

    def reset(self) -> None:
        """Back to the fixtures: seeds reloaded; idempotency records, journal and clock offset cleared."""
        ...

    def transaction(self) -> AbstractContextManager[None]:
        """Everything written inside commits at the end, or nothing if it raises (nested: joins the outer one)."""
        ...

    def request_scope(self) -> AbstractContextManager[Any]:
        """One request: what it reads on almost every call (the clock offset, whether rehearsals are armed) may
        be read once for all of it. A change made meanwhile elsewhere is ordered after the request; one made
        by the request is seen by it at once. A no-op where such reads cost nothing (memory, SQLite)."""
        ...

    def next_sequence(self) -> int: ...

    def get_assessment(self, org_id: str, assessment_id: str) -> AssessmentRecord | None: ...

    def put_assessment(self, record: AssessmentRecord) -> None: ...

    def assessment_by_external_id(self, org_id: str, external_id: str) -> AssessmentRecord | None: ...

    def assessments_with_events_due(self, now: int, limit: int) -> list[AssessmentRecord]:
        """Assessments of every org whose `next_event_at` is at or before `now`, earliest first (then by ID)."""
        ...

    def get_run(self, org_id: str, run_id: str) -> RunRecord | None: ...

    def put_run(self, record: RunRecord) -> None:
        """Insert a new run or replace a stored one (its start and sequence never change)."""
        ...

    def runs_newest_first(self, org_id: str) -> Iterator[RunRecord]: ...

    def run_count(self, org_id: str) -> int: ...

    def runs_for_assessment(self, org_id: str, assessment_id: str) -> list[RunRecord]: ...

    def purge_older_than(self, cutoff: int) -> int:
        """The retention policy: delete runs started and assessments created before `cutoff` (virtual time),
        seed objects excepted; returns how many."""
        ...

    def get_vendor(self, org_id: str, vendor_id: str) -> VendorRecord | None: ...

    def vendor_by_external_id(self, org_id: str, external_id: str) -> VendorRecord | None: ...

    def put_vendor(self, record: VendorRecord) -> None: ...

    def vendors_newest_first(self, org_id: str) -> list[VendorRecord]:
        """Every vendor of the org, newest first (`created_at`, then `sequence`)."""
        ...

    def put_service(self, record: ServiceRecord) -> None: ...

    def get_service(self, org_id: str, service_id: str) -> ServiceRecord | None: ...

    def service_by_external_id(self, org_id: str, external_id: str) -> ServiceRecord | None: ...

    def services_of(self, org_id: str, vendor_id: str) -> list[ServiceRecord]:
        """The vendor's services in creation order (`sequence`)."""
        ...

    def put_webhook(self, record: WebhookRecord) -> None: ...

    def get_webhook(self, org_id: str, webhook_id: str) -> WebhookRecord | None: ...

    def webhooks(self, org_id: str | None = None) -> list[WebhookRecord]:
        """Subscriptions of one org (None: of every org), archived ones included, in creation order."""
        ...

    def add_delivery(self, record: DeliveryRecord) -> None:
        """Queue one delivery attempt (status `pending`)."""
        ...

    def deliveries(self, org_id: str | None = None, webhook_id: str | None = None) -> list[DeliveryRecord]:
        """Delivery attempts (of one org, of one subscription), oldest first (`sequence`)."""
        ...

    def claim_due_deliveries(
        self, due_by: int, claimer: str, held_until: int, stale_before: int, limit: int
    ) -> list[DeliveryRecord]:
        """Atomically take up to `limit` attempts for `claimer`: pending ones due at or before `due_by` (virtual
        time), and ones whose claim lapsed (`lease_until` before `stale_before`: their worker died), earliest due
        first. They become `sending`, claimed by `claimer` until `held_until` (lease times are real seconds).
        Several workers sharing the state never claim one attempt twice while its claim holds."""
        ...

    def purge_deliveries(self, created_before: int) -> int:
        """Delete the finished attempts created before `created_before` (retention); returns how many."""
        ...

    def finish_delivery(self, record: DeliveryRecord, retry: DeliveryRecord | None) -> bool:
        """Atomically store the outcome of a claimed attempt (`record`, still naming its claimer) and queue
        `retry`; nothing is written (False) if the claim was lost to another worker in the meantime."""
        ...

    def idempotency_get(self, scope: IdempotencyScope) -> IdempotencyRecord | None:
        """The stored outcome for the key (pending claims are not outcomes)."""
        ...

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

    def idempotency_purge(self, expired_before: int) -> int:
        """Delete stored outcomes first used before `expired_before`; returns how many."""
        ...

    def idempotency_count(self) -> int:
        """Stored outcomes (pending claims are not counted)."""
        ...

    def journal_append(self, entry: dict[str, Any]) -> None: ...

    def journal(self) -> list[dict[str, Any]]: ...

    def journal_clear(self) -> None: ...

    def rehearsal_add(self, rehearsal: Rehearsal) -> None: ...

    def rehearsal_take(self, kind: str, operation_id: str | None, workflow_name: str | None) -> Rehearsal | None:
        """Atomically consume one use of the oldest armed rehearsal matching the call (removed at zero)."""
        ...

    def rehearsals(self) -> list[Rehearsal]: ...

    def rehearsals_clear(self) -> None: ...

    def clock_offset(self) -> int: ...

    def set_clock_offset(self, offset: int) -> None: ...


class Database(Protocol):
    """A database holding many namespaces, one partition each (a SQLite file, PostgreSQL)."""

    def open_store(self, fixtures: Fixtures, namespace: str) -> Store:
        """The store of one namespace, seeded from `fixtures` unless it already holds state."""
        ...

    def catalog(self) -> NamespaceCatalog:
        """Where the namespaces of this database are recorded."""
        ...

    def reclaim(self) -> int:
        """Give the space of deleted rows back (after the retention policy ran); returns how many pages."""
        ...


def seed(store: Store) -> None:
    """Load the fixtures' vendors, services, webhook subscriptions, seed assessments and runs into an empty store."""
    for org in store.fixtures.orgs:
        for vendor in org.vendors.values():
            store.put_vendor(
                VendorRecord(
                    org.id,
                    vendor.id,
                    vendor.external_id,
                    dumps(vendor.attributes),
                    vendor.created_at,
                    vendor.created_at,
                    store.next_sequence(),
                )
            )
            for service in vendor.services:
                store.put_service(
                    ServiceRecord(
                        org.id,
                        vendor.id,
                        service.id,
                        service.external_id,
                        dumps(service.attributes),
                        service.created_at,
                        service.created_at,
                        store.next_sequence(),
                    )
                )
        for hook in org.webhooks:
            store.put_webhook(
                WebhookRecord(
                    org.id,
                    hook.id,
                    hook.url,
                    hook.events,
                    hook.secret,
                    hook.description,
                    hook.enabled,
                    hook.created_at,
                    store.next_sequence(),
                )
            )
    for org in store.fixtures.orgs:
        for item in org.assessments:
            fields = {k: copy.deepcopy(v) for k, v in item.items() if k != "custom_fields"}
            fields.setdefault("workflow_run_id", None)
            store.put_assessment(AssessmentRecord.new(org.id, fields, item.get("custom_fields", []), seed=True))
        for run_seed in org.runs:
            snap = run_seed.run
            store.put_run(
                RunRecord(
                    workflow_run_id=snap["workflow_run_id"],
                    org_id=org.id,
                    workflow_name=snap["workflow_name"],
                    workflow_definition_id=snap["workflow_definition_id"],
                    started_at=snap["started_at"],
                    input_json=dumps(run_seed.input),
                    sequence=store.next_sequence(),
                    target_assessment_id=run_seed.target_assessment_id,
                    snapshot_json=dumps(snap),
                )
            )
