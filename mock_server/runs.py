"""Starting and canceling workflow runs (shared by the workflows and assessments handlers)."""

from __future__ import annotations

import copy
from typing import Any

from .fixtures import OrgFixture, WorkflowDefinition
from .lifecycle import RunRecord, is_in_flight, plan_run
from .runtime import Runtime


def find_workflow(rt: Runtime, org: OrgFixture, name: str, *, must_be_enabled: bool) -> WorkflowDefinition:
    """The org's workflow of that name, or the documented 404 / 409."""
    definition = org.workflows.get(name)
    if definition is None:
        raise rt.errors.coded("workflow_not_found", workflow_name=name)
    if must_be_enabled and not definition.enabled:
        raise rt.errors.coded("workflow_disabled", workflow_name=name)
    return definition


def start_run(
    rt: Runtime,
    org_id: str,
    definition: WorkflowDefinition,
    run_input: dict[str, Any],
    *,
    target_assessment_id: str | None = None,
    dispatch_failed: bool = False,
) -> RunRecord:
    now = rt.clock.now()
    run_id = rt.ids.new("cbwr")
    plan, outcome = plan_run(definition, run_input, now, rt.ids)
    record = RunRecord(
        workflow_run_id=run_id,
        org_id=org_id,
        workflow_name=definition.name,
        workflow_definition_id=definition.id,
        started_at=now,
        input=copy.deepcopy(run_input),
        sequence=rt.store.next_sequence(),
        plan=plan,
        outcome=outcome,
        dispatch_failed=dispatch_failed,
        target_assessment_id=target_assessment_id,
    )
    rt.store.add_run(record)
    if not dispatch_failed and rt.webhooks is not None:
        rt.webhooks.publish(
            org_id, "WorkflowRun.Created", {"workflow_run_id": run_id, "workflow_name": definition.name}
        )
    return record


def cancel_runs_of_assessment(rt: Runtime, org_id: str, assessment_id: str) -> int:
    now = rt.clock.now()
    canceled = 0
    for run in rt.store.runs_for_assessment(org_id, assessment_id):
        if run.snapshot is None and is_in_flight(run, now):
            run.canceled_at = now
            rt.store.save_run(run)
            canceled += 1
    return canceled


def created_body(run: RunRecord) -> dict[str, Any]:
    """The 201 body of POST /v1/workflows/{workflow_name}/run for a run just started."""
    return {
        "workflow_run_id": run.workflow_run_id,
        "workflow_name": run.workflow_name,
        "status": "started",
        "started_at": run.started_at,
        "input": run.input,
    }
