"""Workflow runs as a function of time: a plan fixed at creation, a view computed from the clock."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from .fixtures import WorkflowDefinition, looks_like_id
from .ids import IdFactory

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
TERMINAL = frozenset({"completed", "failed", "canceled"})
CANCELED_STEP_MESSAGE = "Run canceled before this step finished."


@dataclass
class PlannedStep:
    step_id: str
    component_id: str
    component_name: str
    action_type: str
    starts_at: int
    ends_at: int
    outcome: str
    message: str | None
    artifacts: list[dict[str, str]]


@dataclass
class RunRecord:
    """A stored run. Seed runs carry a literal `snapshot`; live runs carry a `plan`."""

    workflow_run_id: str
    org_id: str
    workflow_name: str | None
    workflow_definition_id: str | None
    started_at: int
    input: dict[str, Any]
    sequence: int
    plan: list[PlannedStep] = field(default_factory=list)
    outcome: str = "completed"
    canceled_at: int | None = None
    dispatch_failed: bool = False
    target_assessment_id: str | None = None
    snapshot: dict[str, Any] | None = None

    @property
    def finishes_at(self) -> int:
        return self.plan[-1].ends_at if self.plan else self.started_at


def plan_run(
    definition: WorkflowDefinition,
    run_input: dict[str, Any],
    started_at: int,
    ids: IdFactory,
) -> tuple[list[PlannedStep], str]:
    """Lay out every step of a new run on the timeline, allocating step and result IDs now."""
    triggers = [
        {"artifact_type": kind, "id": run_input[key], "role": "trigger"}
        for key, kind in TRIGGER_KEYS.items()
        if looks_like_id(run_input.get(key))
    ]
    plan: list[PlannedStep] = []
    at = started_at
    last = len(definition.steps) - 1
    for index, step in enumerate(definition.steps):
        artifacts = list(triggers) if index == 0 else []
        if step.produces:
            artifacts.append(
                {"artifact_type": step.produces, "id": ids.new(RESULT_PREFIXES[step.produces]), "role": "result"}
            )
        failed_here = definition.outcome == "failed" and index == last
        plan.append(
            PlannedStep(
                step_id=ids.new("cbwrs"),
                component_id=step.component_id,
                component_name=step.component_name,
                action_type=step.action_type,
                starts_at=at,
                ends_at=at + step.duration_seconds,
                outcome="failed" if failed_here else "success",
                message=definition.failure_message if failed_here else None,
                artifacts=artifacts,
            )
        )
        at += step.duration_seconds
    return plan, definition.outcome


def _step_view(step: PlannedStep, now: int, canceled_at: int | None) -> dict[str, Any]:
    status: str | None = None
    message: str | None = None
    updated_at = step.starts_at
    if now >= step.ends_at and (canceled_at is None or canceled_at >= step.ends_at):
        status, message, updated_at = step.outcome, step.message, step.ends_at
    elif canceled_at is not None and now >= canceled_at:
        status, message, updated_at = "skipped", CANCELED_STEP_MESSAGE, canceled_at
    return {
        "step_id": step.step_id,
        "component_id": step.component_id,
        "component_name": step.component_name,
        "action_type": step.action_type,
        "status": status,
        "message": message,
        # Artifacts are flat str -> str dicts: copying each dict isolates the view as deepcopy did, ~10x cheaper.
        "artifacts": [dict(artifact) for artifact in step.artifacts],
        "created_at": step.starts_at,
        "updated_at": updated_at,
    }


def status_at(run: RunRecord, now: int) -> tuple[str, int | None]:
    """(status, completed_at) of a run at time `now`."""
    if run.snapshot is not None:
        return run.snapshot["status"], run.snapshot["completed_at"]
    if run.dispatch_failed:
        return "failed", run.started_at
    if run.canceled_at is not None and run.canceled_at < run.finishes_at and now >= run.canceled_at:
        return "canceled", run.canceled_at
    if now >= run.finishes_at:
        return run.outcome, run.finishes_at
    return "started", None


def view(run: RunRecord, now: int) -> dict[str, Any]:
    """The GET /v1/workflows/runs/{id} body at time `now`."""
    if run.snapshot is not None:
        return copy.deepcopy(run.snapshot)
    status, completed_at = status_at(run, now)
    horizon = now if completed_at is None else min(now, completed_at)
    cancel = run.canceled_at if status == "canceled" else None
    steps = [_step_view(s, now, cancel) for s in run.plan if s.starts_at <= horizon and not run.dispatch_failed]
    if cancel is not None:
        steps = [s for s in steps if s["created_at"] < cancel or s["status"] is not None]
    return {
        "workflow_run_id": run.workflow_run_id,
        "workflow_name": run.workflow_name,
        "workflow_definition_id": run.workflow_definition_id,
        "status": status,
        "started_at": run.started_at,
        "completed_at": completed_at,
        "steps": steps,
    }


def summary(run: RunRecord, now: int) -> dict[str, Any]:
    """A list entry: the read shape minus `steps`, plus `step_count`."""
    full = view(run, now)
    full["step_count"] = len(full.pop("steps"))
    return full


def is_in_flight(run: RunRecord, now: int) -> bool:
    return status_at(run, now)[0] not in TERMINAL
