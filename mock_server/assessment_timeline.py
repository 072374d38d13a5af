"""Assessments over time: the plan an assessment gets at creation, and its state computed from the clock.

Like runs (run_timeline.py), nothing runs in the background: an assessment record holds its creation time and
its plan (from the fixtures: the `assessment_progress` of its `trigger_workflow`, else of its first control set
that declares one); `view(record, now)` is what `GET /v1/assessments/{id}` shows at virtual time `now`. An
assessment without a plan stays as it was created. The status changes are also events
(`Assessment.StatusChanged`): `transitions` lists them, and the engine publishes the ones virtual time has
passed (engine.publish_status_changes), each at the moment it happened.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from .fixtures import AssessmentPlan, OrgFixture, WorkflowDefinition
from .records import AssessmentRecord, dumps


@dataclass(frozen=True, slots=True)
class Transition:
    at: int
    old: str
    new: str


def choose_plan(
    org: OrgFixture, control_set_ids: list[str], definition: WorkflowDefinition | None
) -> AssessmentPlan | None:
    """The plan of a new assessment: its trigger_workflow's, else its first control set's that declares one."""
    if definition is not None and definition.assessment_progress is not None:
        return definition.assessment_progress
    return next((org.assessment_plans[c] for c in control_set_ids if c in org.assessment_plans), None)


def plan_json(plan: AssessmentPlan | None) -> str | None:
    return dumps(plan.as_dict()) if plan is not None else None


def plan_of(record: AssessmentRecord) -> AssessmentPlan | None:
    return AssessmentPlan.from_dict(json.loads(record.plan_json)) if record.plan_json else None


def transitions(record: AssessmentRecord, fields: dict[str, Any] | None = None) -> list[Transition]:
    """Every status change the plan makes, in order; for an archived assessment, those up to its archive."""
    plan = plan_of(record)
    if plan is None:
        return []
    fields = fields if fields is not None else record.fields
    at = int(fields["created_at"]) + plan.start_after_seconds
    status = str(fields["status"])
    found = []
    for new, seconds in plan.stages:
        found.append(Transition(at, status, new))
        status, at = new, at + seconds
    found.append(Transition(at, status, plan.outcome))
    if record.archived_at is not None:
        found = [t for t in found if t.at <= record.archived_at]
    return found


def first_event_at(record: AssessmentRecord) -> int | None:
    """`next_event_at` of a new assessment: its first status change, if it has a plan."""
    changes = transitions(record)
    return changes[0].at if changes else None


def due(record: AssessmentRecord, now: int) -> tuple[list[Transition], int | None]:
    """The status changes not yet published that happened by `now`, and the `next_event_at` after them."""
    if record.next_event_at is None:
        return [], None
    pending = [t for t in transitions(record) if t.at >= record.next_event_at]
    happened = [t for t in pending if t.at <= now]
    later = [t.at for t in pending if t.at > now]
    return happened, (later[0] if later else None)


def view(record: AssessmentRecord, now: int) -> dict[str, Any]:
    """The assessment at time `now`: the create shape (with `workflow_run_id`), its progress applied."""
    fields = record.fields
    passed = [t for t in transitions(record, fields) if t.at <= now]
    if passed:
        fields["status"] = passed[-1].new
        fields["initiated_at"] = passed[0].at
        fields["updated_at"] = passed[-1].at
        plan = plan_of(record)
        if plan is not None and passed[-1].new == plan.outcome == "complete":
            fields["score_percent"] = plan.score_percent
            fields["findings_count"] = plan.findings_count
    archived = record.archived_at is not None and record.archived_status is not None
    if archived and fields["status"] != record.archived_status:
        fields["status"] = record.archived_status
        fields["updated_at"] = record.archived_at
    return fields
