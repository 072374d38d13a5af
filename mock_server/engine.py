"""The workflow engine as the mock plays it: starting and canceling runs, and raising domain events.

An event starts the enabled workflows bound to it (trigger bindings in the fixtures) and queues its
webhook deliveries. Everything here runs inside the calling request's transaction.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from .fixtures import OrgFixture, WorkflowDefinition
from .records import RunRecord, dumps
from .run_timeline import allocate_ids, is_in_flight
from .runtime import Runtime
from .triggers import TRIGGER_EVENTS, matches


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
    run_input: Any,
    *,
    target_assessment_id: str | None = None,
    dispatch_failed: bool = False,
) -> RunRecord:
    run_id = rt.ids.new("cbwr")
    record = RunRecord(
        workflow_run_id=run_id,
        org_id=org_id,
        workflow_name=definition.name,
        workflow_definition_id=definition.id,
        started_at=rt.clock.now(),
        input_json=dumps(run_input),
        sequence=rt.store.next_sequence(),
        packed_ids=allocate_ids(definition, rt.ids),
        dispatch_failed=dispatch_failed,
        target_assessment_id=target_assessment_id,
    )
    rt.store.put_run(record)
    if not dispatch_failed and rt.webhooks is not None:
        rt.webhooks.publish(
            org_id, "WorkflowRun.Created", {"workflow_run_id": run_id, "workflow_name": definition.name}
        )
    return record


def definition_of(rt: Runtime, run: RunRecord) -> WorkflowDefinition | None:
    return rt.fixtures.org(run.org_id).workflow_by_id(run.workflow_definition_id)


def cancel_runs_of_assessment(rt: Runtime, org_id: str, assessment_id: str) -> int:
    now = rt.clock.now()
    canceled = 0
    for run in rt.store.runs_for_assessment(org_id, assessment_id):
        if run.snapshot_json is None and is_in_flight(run, definition_of(rt, run), now):
            rt.store.put_run(dataclasses.replace(run, canceled_at=now))
            canceled += 1
    return canceled


def emit(
    rt: Runtime,
    org_id: str,
    event_type: str,
    data: dict[str, Any],
    *,
    attributes: dict[str, Any] | None = None,
    run_input: dict[str, Any] | None = None,
    target_assessment_id: str | None = None,
) -> list[str]:
    """Raise one event; returns the IDs of the runs its trigger bindings started."""
    started: list[str] = []
    if event_type in TRIGGER_EVENTS:
        org = rt.fixtures.org(org_id)
        for definition in org.workflows.values():
            bound = any(b.event == event_type and matches(b.when, attributes or {}) for b in definition.triggers)
            if definition.enabled and bound:
                run = start_run(
                    rt, org_id, definition, dict(run_input or {}), target_assessment_id=target_assessment_id
                )
                started.append(run.workflow_run_id)
    if rt.webhooks is not None:
        rt.webhooks.publish(org_id, event_type, data)
    return started
