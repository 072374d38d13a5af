"""Domain events: start the workflows bound to them and queue their webhook deliveries."""

from __future__ import annotations

from typing import Any

from .runs import start_run
from .runtime import Runtime
from .triggers import TRIGGER_EVENTS, matches


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
        org = rt.store.org(org_id)
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
