"""Workflow runs over time: the plan a run gets at creation, and its state computed from the clock.

Nothing runs in the background. A run record holds its start, its allocated IDs and whether it was
canceled; the definition (fixtures) gives each step's duration, names and outcome; `view(run, now)`
is what `GET /v1/workflows/runs/{id}` shows at virtual time `now`.
"""

from __future__ import annotations

import bisect
import json
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


def _step_ids(run: RunRecord, definition: WorkflowDefinition) -> list[tuple[str, str | None]]:
    """(step_id, result_id) of each step, unpacked in allocation order (see allocate_ids)."""
    ids: list[tuple[str, str | None]] = []
    cursor = 0
    packed = run.packed_ids
    for step in definition.steps:
        result_id = None
        if step.produces:
            result_id = f"{RESULT_PREFIXES[step.produces]}_{packed[cursor : cursor + HEX_ID_LENGTH]}"
            cursor += HEX_ID_LENGTH
        ids.append((f"{STEP_PREFIX}_{packed[cursor : cursor + HEX_ID_LENGTH]}", result_id))
        cursor += HEX_ID_LENGTH
    return ids


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
        if key in run_input and looks_like_id(run_input[key])
    ]


def _visible_count(run: RunRecord, definition: WorkflowDefinition, now: int, completed_at: int | None) -> int:
    """How many steps have started by `now` (or by the end of a finished run)."""
    if run.dispatch_failed:
        return 0
    horizon = (now if completed_at is None else min(now, completed_at)) - run.started_at
    return bisect.bisect_right(definition.step_offsets, horizon)


def view(run: RunRecord, definition: WorkflowDefinition | None, now: int) -> dict[str, Any]:
    """The GET /v1/workflows/runs/{id} body at time `now`."""
    if run.snapshot_json is not None:
        snapshot: dict[str, Any] = json.loads(run.snapshot_json)
        return snapshot
    status, completed_at = status_at(run, definition, now)
    steps: list[dict[str, Any]] = []
    if definition is not None:
        shown = _visible_count(run, definition, now, completed_at)
        # A canceled run's unfinished steps are skipped at the moment it was canceled.
        cancel = run.canceled_at if status == "canceled" else None
        triggers = _trigger_artifacts(run) if shown else []
        last = len(definition.steps) - 1
        ids = _step_ids(run, definition)
        for index in range(shown):
            step = definition.steps[index]
            starts = run.started_at + definition.step_offsets[index]
            ends = starts + step.duration_seconds
            step_status: str | None = None
            message: str | None = None
            updated_at = starts
            if now >= ends and (cancel is None or cancel >= ends):
                failed_here = definition.outcome == "failed" and index == last
                step_status = "failed" if failed_here else "success"
                message = definition.failure_message if failed_here else None
                updated_at = ends
            elif cancel is not None and now >= cancel:
                step_status, message, updated_at = "skipped", CANCELED_STEP_MESSAGE, cancel
            step_id, result_id = ids[index]
            artifacts = [dict(a) for a in triggers] if index == 0 else []
            if result_id is not None:
                artifacts.append({"artifact_type": str(step.produces), "id": result_id, "role": "result"})
            steps.append(
                {
                    "step_id": step_id,
                    "component_id": step.component_id,
                    "component_name": step.component_name,
                    "action_type": step.action_type,
                    "status": step_status,
                    "message": message,
                    "artifacts": artifacts,
                    "created_at": starts,
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
    return {
        "workflow_run_id": run.workflow_run_id,
        "workflow_name": run.workflow_name,
        "workflow_definition_id": run.workflow_definition_id,
        "status": status,
        "started_at": run.started_at,
        "completed_at": completed_at,
        "step_count": _visible_count(run, definition, now, completed_at) if definition is not None else 0,
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
