"""Creating an assessment, whichever call asks (POST /v1/assessments or the Import API): its trigger_workflow run,
its progress plan, its Assessment.Created event."""

from __future__ import annotations

import dataclasses
from typing import Any

from . import assessment_timeline
from .engine import emit, start_run
from .fixtures import OrgFixture, WorkflowDefinition
from .records import AssessmentRecord, VendorRecord
from .runtime import Runtime
from .spec import assessment_statuses


def new_assessment(
    rt: Runtime,
    org: OrgFixture,
    vendor: VendorRecord,
    name: str,
    body: dict[str, Any],
    definition: WorkflowDefinition | None,
    external_id: str | None = None,
) -> dict[str, Any]:
    """Create an assessment (POST /v1/assessments, or the Import API): its trigger_workflow run, its plan, its
    Assessment.Created event; returns the create shape."""
    now = rt.clock.now()
    assessment_id = rt.ids.new("cbqsrw")
    run_id = None
    if definition is not None:
        run = start_run(
            rt,
            org.id,
            definition,
            {"assessment_id": assessment_id, "vendor_id": vendor.id},
            target_assessment_id=assessment_id,
        )
        run_id = run.workflow_run_id
    fields = {
        "id": assessment_id,
        "vendor_id": vendor.id,
        "name": name,
        "status": assessment_statuses(rt.document).initial,
        "control_set_ids": list(body["control_set_ids"]),
        "service_ids": list(body.get("service_ids", [])),
        "assignee_id": body.get("assignee_id"),
        "score_percent": None,
        "findings_count": 0,
        "initiated_at": None,
        "created_at": now,
        "updated_at": now,
        "workflow_run_id": run_id,
    }
    plan = assessment_timeline.choose_plan(org, list(body["control_set_ids"]), definition)
    record = AssessmentRecord.new(org.id, fields)
    record = dataclasses.replace(record, plan_json=assessment_timeline.plan_json(plan), external_id=external_id)
    rt.store.put_assessment(dataclasses.replace(record, next_event_at=assessment_timeline.first_event_at(record)))
    emit(
        rt,
        org.id,
        "Assessment.Created",
        {"assessment_id": assessment_id},
        attributes=fields,
        run_input={"assessment_id": assessment_id, "vendor_id": vendor.id},
        target_assessment_id=assessment_id,
        already_started=definition.name if definition is not None else None,
    )
    return fields
