"""The workflow engine as the mock plays it: starting and canceling runs, raising domain events, and
publishing the status changes of assessments as virtual time passes them.

An event starts the enabled workflows bound to it (trigger bindings in the fixtures) and queues its
webhook deliveries. Everything here runs inside the calling request's transaction, or (for status
changes) in one transaction of its own.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from . import assessment_timeline
from .fixtures import OrgFixture, WorkflowDefinition
from .records import AssessmentRecord, RunRecord, dumps
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
    already_started: str | None = None,
    due_at: int | None = None,
) -> list[str]:
    """Raise one event; returns the IDs of the runs its trigger bindings started. `already_started`: a workflow
    the call that raised the event started itself (trigger_workflow), which its binding does not start again.
    `due_at`: when the event happened, if before now (see webhooks.publish)."""
    started: list[str] = []
    if event_type in TRIGGER_EVENTS:
        org = rt.fixtures.org(org_id)
        for definition in org.workflows.values():
            bound = any(b.event == event_type and matches(b.when, attributes or {}) for b in definition.triggers)
            if definition.enabled and bound and definition.name != already_started:
                run = start_run(
                    rt, org_id, definition, dict(run_input or {}), target_assessment_id=target_assessment_id
                )
                started.append(run.workflow_run_id)
    if rt.webhooks is not None:
        rt.webhooks.publish(org_id, event_type, data, due_at=due_at)
    return started


STATUS_CHANGED = "Assessment.StatusChanged"
PUBLISH_BATCH = 100


def publish_due_of(rt: Runtime, record: AssessmentRecord, now: int) -> AssessmentRecord:
    """Publish the status changes of one assessment that virtual time has passed (in the caller's transaction);
    returns the record as stored afterwards."""
    happened, following = assessment_timeline.due(record, now)
    if not happened and following == record.next_event_at:
        return record
    for change in happened:
        emit(
            rt,
            record.org_id,
            STATUS_CHANGED,
            {"assessment_id": record.id, "old_status": change.old, "new_status": change.new},
            due_at=change.at,
        )
    updated = dataclasses.replace(record, next_event_at=following)
    rt.store.put_assessment(updated)
    return updated


def publish_status_changes(rt: Runtime) -> int:
    """Publish every assessment status change virtual time has passed, each in its own order and at its own
    time: called by the delivery worker, `POST /_mock/clock` and `POST /_mock/webhooks/deliver`. Several
    processes sharing one state publish each change once: the transaction holds the store's write lock."""
    published = 0
    while True:
        now = rt.clock.now()
        with rt.store.transaction():
            batch = rt.store.assessments_with_events_due(now, PUBLISH_BATCH)
            for record in batch:
                published += len(assessment_timeline.due(record, now)[0])
                publish_due_of(rt, record, now)
        if len(batch) < PUBLISH_BATCH:
            return published
