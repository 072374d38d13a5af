"""What the store keeps: immutable records of runs, assessments, vendors, services, webhook subscriptions and
delivery attempts, and idempotency outcomes, and their JSON form.

Records are frozen: a change is a new record (`dataclasses.replace`) written back with `put_*`, so no
store can hand out an object whose mutation would change state behind the store's back. A run keeps
only what cannot be derived from its workflow definition (the plan's timing, names and outcome come
from the fixtures; the IDs allocated at creation are packed into one string), so a stored run stays
well under a kilobyte.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, replace
from typing import Any

HEX_ID_LENGTH = 32


def dumps(value: Any) -> str:
    """Compact JSON, the one serialization of stored values."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


@dataclass(frozen=True, slots=True)
class RunRecord:
    """A stored run. Seed runs carry a literal `snapshot_json`; live runs are computed from their definition."""

    workflow_run_id: str
    org_id: str
    workflow_name: str | None
    workflow_definition_id: str | None
    started_at: int
    input_json: str
    sequence: int
    # The hex parts of the IDs allocated for the plan, in allocation order (see run_timeline.plan_ids).
    packed_ids: str = ""
    canceled_at: int | None = None
    dispatch_failed: bool = False
    target_assessment_id: str | None = None
    snapshot_json: str | None = None

    @property
    def input(self) -> Any:
        return json.loads(self.input_json)


@dataclass(frozen=True, slots=True)
class AssessmentRecord:
    """A stored assessment: its create-time fields, and - when it progresses - its plan (see
    assessment_timeline.py). Its state at a time is computed from the plan and the clock; `next_event_at` is
    the virtual time of the first status change not yet published as `Assessment.StatusChanged` (None: none)."""

    org_id: str
    fields_json: str
    custom_fields_json: str = "[]"
    archived_status: str | None = None
    archived_at: int | None = None
    created_at: int = 0
    seed: bool = False  # from the fixtures: kept by the retention policy
    plan_json: str | None = None
    next_event_at: int | None = None
    external_id: str | None = None  # set when the Import API created it (upsert key)

    @classmethod
    def new(
        cls,
        org_id: str,
        fields: dict[str, Any],
        custom_fields: list[dict[str, Any]] | None = None,
        *,
        seed: bool = False,
    ) -> AssessmentRecord:
        return cls(
            org_id, dumps(fields), dumps(custom_fields or []), created_at=int(fields.get("created_at", 0)), seed=seed
        )

    @property
    def fields(self) -> dict[str, Any]:
        """A fresh copy of the assessment's fields (the create shape, with workflow_run_id)."""
        value: dict[str, Any] = json.loads(self.fields_json)
        return value

    @property
    def custom_fields(self) -> list[dict[str, Any]]:
        value: list[dict[str, Any]] = json.loads(self.custom_fields_json)
        return value

    @property
    def id(self) -> str:
        return str(self.fields["id"])

    def with_fields(self, fields: dict[str, Any]) -> AssessmentRecord:
        return replace(self, fields_json=dumps(fields))


@dataclass(frozen=True, slots=True)
class VendorRecord:
    """A vendor of the org, however it came: the fixtures, `POST /v1/vendors` or the Import API (one population).

    `attributes` holds the vendor object's fields and any other attribute an import mapped (e.g. `data_types`),
    which trigger conditions may read. `sequence` orders vendors created in the same second.
    """

    org_id: str
    id: str
    external_id: str | None
    attributes_json: str
    created_at: int
    updated_at: int
    sequence: int = 0
    fact_sheet_requested_at: int | None = None  # the last `POST .../fact-sheet/refresh` (None: never)
    entity_id: str | None = None

    @property
    def attributes(self) -> dict[str, Any]:
        value: dict[str, Any] = json.loads(self.attributes_json)
        return value

    @property
    def name(self) -> str:
        return str(self.attributes.get("name", ""))


@dataclass(frozen=True, slots=True)
class ServiceRecord:
    """A service of a vendor; `attributes` as for vendors."""

    org_id: str
    vendor_id: str
    id: str
    external_id: str | None
    attributes_json: str
    created_at: int
    updated_at: int
    sequence: int = 0

    @property
    def attributes(self) -> dict[str, Any]:
        value: dict[str, Any] = json.loads(self.attributes_json)
        return value

    @property
    def name(self) -> str:
        return str(self.attributes.get("name", ""))


@dataclass(frozen=True, slots=True)
class WebhookRecord:
    """A webhook subscription (`POST /v1/webhooks` or the fixtures); an archived one (DELETE) receives nothing."""

    org_id: str
    id: str
    url: str
    events: tuple[str, ...]
    secret: str
    description: str | None
    enabled: bool
    created_at: int
    sequence: int = 0
    archived_at: int | None = None


# Delivery attempt statuses: queued, claimed by a delivery worker, and the documented outcomes.
PENDING, SENDING = "pending", "sending"
DELIVERY_OUTCOMES = frozenset({"delivered", "timeout", "error", "skipped"})


@dataclass(frozen=True, slots=True)
class DeliveryRecord:
    """One delivery attempt of one event to one subscription. A `pending` attempt is due at `due_at` (virtual
    time); a worker claims it (`sending`, `claimed_by` until `lease_until`, real seconds) and finishes it with
    its outcome, queueing the next attempt when the policy retries."""

    id: str
    org_id: str
    webhook_id: str
    event_id: str
    event_type: str
    attempt: int
    max_attempts: int
    due_at: int
    payload_json: str
    created_at: int
    sequence: int = 0
    status: str = PENDING
    response_status: int | None = None
    response_time_ms: int | None = None
    error: str | None = None
    attempted_at: int | None = None
    claimed_by: str | None = None
    lease_until: int | None = None

    @property
    def payload(self) -> dict[str, Any]:
        value: dict[str, Any] = json.loads(self.payload_json)
        return value


@dataclass(frozen=True, slots=True)
class IdempotencyScope:
    org_id: str
    method: str
    path: str
    key: str


@dataclass(frozen=True, slots=True)
class IdempotencyRecord:
    first_used_at: int
    status: int
    body: str


StoredRecord = RunRecord | AssessmentRecord | VendorRecord | ServiceRecord | WebhookRecord | DeliveryRecord


def record_to_json(record: StoredRecord | Rehearsal) -> str:
    return dumps(asdict(record))


def run_from_json(text: str) -> RunRecord:
    return RunRecord(**json.loads(text))


def assessment_from_json(text: str) -> AssessmentRecord:
    return AssessmentRecord(**json.loads(text))


def vendor_from_json(text: str) -> VendorRecord:
    return VendorRecord(**json.loads(text))


@dataclass(frozen=True, slots=True)
class Rehearsal:
    """A failure armed for the next matching calls (or asked for by one request's header)."""

    id: str
    kind: str
    operation_id: str | None
    workflow_name: str | None
    delay_ms: int | None
    remaining: int

    def as_dict(self) -> dict[str, object]:
        return {
            "id": self.id,
            "kind": self.kind,
            "operation_id": self.operation_id,
            "workflow_name": self.workflow_name,
            "delay_ms": self.delay_ms,
            "remaining": self.remaining,
        }

    def label(self) -> str:
        return f"delay={self.delay_ms}" if self.kind == "delay" else self.kind

    def matches(self, kind: str, operation_id: str | None, workflow_name: str | None) -> bool:
        return (
            self.kind == kind
            and self.operation_id in (None, operation_id)
            and self.workflow_name in (None, workflow_name)
        )


def rehearsal_from_json(text: str) -> Rehearsal:
    return Rehearsal(**json.loads(text))


def service_from_json(text: str) -> ServiceRecord:
    return ServiceRecord(**json.loads(text))


def webhook_from_json(text: str) -> WebhookRecord:
    data = json.loads(text)
    data["events"] = tuple(data["events"])
    return WebhookRecord(**data)


def delivery_from_json(text: str) -> DeliveryRecord:
    return DeliveryRecord(**json.loads(text))
