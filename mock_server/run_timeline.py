"""Workflow runs over time: the plan a run gets at creation, and its state computed from the clock.

Nothing runs in the background. A run record holds its start, its allocated IDs and whether it was
canceled; the definition (fixtures) gives each step's duration, names and outcome; `view(run, now)`
is what `GET /v1/workflows/runs/{id}` shows at virtual time `now`.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from .fixtures import WorkflowDefinition, looks_like_id
from .ids import IdFactory
from .records import HEX_ID_LENGTH, RunRecord

# Input keys whose values name the record a workflow acts on (api-reference/workflows).
TRIGGER_KEYS = {
    "vendor_id": "vendor",
    "service_id": "service",
    "assessment_id": "assessment",
    "vendor_document_id": "vendor_document",
    "questionnaire_response_id": "questionnaire_response",
    "finding_id": "finding",
}
RESULT_PREFIXES = {
    "assessment": "cbqsrw",
    "questionnaire_response": "cbqsrw",
    "vendor_document": "cbvdoc",
    "finding": "cbtask",
}
STEP_PREFIX = "cbwrs"
TERMINAL = frozenset({"completed", "failed", "canceled"})
CANCELED_STEP_MESSAGE = "Run canceled before this step finished."


@dataclass(frozen=True, slots=True)
class PlannedStep:
    step_id: str
    component_id: str
    component_name: str
    action_type: str
    starts_at: int
    ends_at: int
    outcome: str
    message: str | None
    result_id: str | None


def allocate_ids(definition: WorkflowDefinition, ids: IdFactory) -> str:
    """The IDs a new run's plan needs, allocated now (result ID before step ID, step by step), packed."""
    packed: list[str] = []
    for step in definition.steps:
        if step.produces:
            packed.append(_hex(ids.new(RESULT_PREFIXES[step.produces])))
        packed.append(_hex(ids.new(STEP_PREFIX)))
    return "".join(packed)


def _hex(identifier: str) -> str:
    prefix, _, hex_part = identifier.partition("_")
    if len(hex_part) != HEX_ID_LENGTH or not prefix:
        raise ValueError(f"IDs must be <prefix>_<{HEX_ID_LENGTH} hex>, got {identifier!r}")
    return hex_part


def plan(run: RunRecord, definition: WorkflowDefinition) -> list[PlannedStep]:
    """Every step of the run laid out on the timeline from its start."""
    steps: list[PlannedStep] = []
    at = run.started_at
    cursor = 0
    last = len(definition.steps) - 1

    def take(prefix: str) -> str:
        nonlocal cursor
        hex_part = run.packed_ids[cursor : cursor + HEX_ID_LENGTH]
        cursor += HEX_ID_LENGTH
        return f"{prefix}_{hex_part}"

    for index, step in enumerate(definition.steps):
        result_id = take(RESULT_PREFIXES[step.produces]) if step.produces else None
        failed_here = definition.outcome == "failed" and index == last
        steps.append(
            PlannedStep(
                step_id=take(STEP_PREFIX),
                component_id=step.component_id,
                component_name=step.component_name,
                action_type=step.action_type,
                starts_at=at,
                ends_at=at + step.duration_seconds,
                outcome="failed" if failed_here else "success",
                message=definition.failure_message if failed_here else None,
                result_id=result_id,
            )
        )
        at += step.duration_seconds
    return steps


def finishes_at(run: RunRecord, definition: WorkflowDefinition | None) -> int:
    if definition is None or run.dispatch_failed:
        return run.started_at
    return run.started_at + definition.duration_seconds


def status_at(run: RunRecord, definition: WorkflowDefinition | None, now: int) -> tuple[str, int | None]:
    """(status, completed_at) of a run at time `now`."""
    if run.snapshot_json is not None:
        snap = json.loads(run.snapshot_json)
        return snap["status"], snap["completed_at"]
    if run.dispatch_failed or definition is None:
        return "failed", run.started_at
    end = finishes_at(run, definition)
    if run.canceled_at is not None and run.canceled_at < end and now >= run.canceled_at:
        return "canceled", run.canceled_at
    if now >= end:
        return definition.outcome, end
    return "started", None


def is_in_flight(run: RunRecord, definition: WorkflowDefinition | None, now: int) -> bool:
    return status_at(run, definition, now)[0] not in TERMINAL


def _trigger_artifacts(run: RunRecord) -> list[dict[str, str]]:
    run_input = run.input
    if not isinstance(run_input, dict):
        return []
    return [
        {"artifact_type": kind, "id": run_input[key], "role": "trigger"}
        for key, kind in TRIGGER_KEYS.items()
        if looks_like_id(run_input.get(key))
    ]


def _visible(
    run: RunRecord, definition: WorkflowDefinition, now: int, status: str, completed_at: int | None
) -> Iterator[tuple[int, PlannedStep, str | None, str | None, int]]:
    """(index, step, status, message, updated_at) of every step shown at `now`."""
    if run.dispatch_failed:
        return
    horizon = now if completed_at is None else min(now, completed_at)
    cancel = run.canceled_at if status == "canceled" else None
    for index, step in enumerate(plan(run, definition)):
        if step.starts_at > horizon:
            break
        step_status: str | None = None
        message: str | None = None
        updated_at = step.starts_at
        if now >= step.ends_at and (cancel is None or cancel >= step.ends_at):
            step_status, message, updated_at = step.outcome, step.message, step.ends_at
        elif cancel is not None and now >= cancel:
            step_status, message, updated_at = "skipped", CANCELED_STEP_MESSAGE, cancel
        if cancel is not None and not (step.starts_at < cancel or step_status is not None):
            continue
        yield index, step, step_status, message, updated_at


def view(run: RunRecord, definition: WorkflowDefinition | None, now: int) -> dict[str, Any]:
    """The GET /v1/workflows/runs/{id} body at time `now`."""
    if run.snapshot_json is not None:
        snapshot: dict[str, Any] = json.loads(run.snapshot_json)
        return snapshot
    status, completed_at = status_at(run, definition, now)
    steps: list[dict[str, Any]] = []
    if definition is not None:
        triggers = _trigger_artifacts(run)
        for index, step, step_status, message, updated_at in _visible(run, definition, now, status, completed_at):
            artifacts = [dict(a) for a in triggers] if index == 0 else []
            if step.result_id is not None:
                produces = definition.steps[index].produces
                artifacts.append({"artifact_type": str(produces), "id": step.result_id, "role": "result"})
            steps.append(
                {
                    "step_id": step.step_id,
                    "component_id": step.component_id,
                    "component_name": step.component_name,
                    "action_type": step.action_type,
                    "status": step_status,
                    "message": message,
                    "artifacts": artifacts,
                    "created_at": step.starts_at,
                    "updated_at": updated_at,
                }
            )
    return {
        "workflow_run_id": run.workflow_run_id,
        "workflow_name": run.workflow_name,
        "workflow_definition_id": run.workflow_definition_id,
        "status": status,
        "started_at": run.started_at,
        "completed_at": completed_at,
        "steps": steps,
    }


def summary(run: RunRecord, definition: WorkflowDefinition | None, now: int) -> dict[str, Any]:
    """A list entry: the read shape minus `steps`, plus `step_count`."""
    if run.snapshot_json is not None:
        full = view(run, definition, now)
        full["step_count"] = len(full.pop("steps"))
        return full
    status, completed_at = status_at(run, definition, now)
    count = 0
    if definition is not None:
        count = sum(1 for _ in _visible(run, definition, now, status, completed_at))
    return {
        "workflow_run_id": run.workflow_run_id,
        "workflow_name": run.workflow_name,
        "workflow_definition_id": run.workflow_definition_id,
        "status": status,
        "started_at": run.started_at,
        "completed_at": completed_at,
        "step_count": count,
    }


def created_body(run: RunRecord) -> dict[str, Any]:
    """The 201 body of POST /v1/workflows/{workflow_name}/run for a run just started."""
    return {
        "workflow_run_id": run.workflow_run_id,
        "workflow_name": run.workflow_name,
        "status": "started",
        "started_at": run.started_at,
        "input": run.input,
    }
