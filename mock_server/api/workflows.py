"""Handlers of the `workflows` tag: run a workflow, read a run, list runs."""

from __future__ import annotations

import itertools
import sys
from typing import Any

from ..engine import definition_of, find_workflow, start_run
from ..execution import Outcome
from ..run_timeline import created_body, status_at, summary, view
from .call import Call


def run_workflow(call: Call, workflow_name: str, body: dict[str, Any] | None) -> Outcome:
    rt = call.rt
    run_input: Any = (body or {}).get("input", {})
    definition = find_workflow(rt, call.org, workflow_name, must_be_enabled=True)
    if _rehearse_dispatch_failure(call, definition.name):
        failed = start_run(rt, call.org_id, definition, run_input, dispatch_failed=True)
        raise rt.errors.committed("workflow_dispatch_failed", workflow_run_id=failed.workflow_run_id)
    run = start_run(rt, call.org_id, definition, run_input)
    return 201, created_body(run)


def get_workflow_run(call: Call, workflow_run_id: str) -> Outcome:
    rt = call.rt
    run = rt.store.get_run(call.org_id, workflow_run_id)
    if run is None:
        raise rt.errors.coded("workflow_run_not_found")
    return 200, view(run, definition_of(rt, run), rt.clock.now())


def list_workflow_runs(
    call: Call,
    limit: int,
    offset: int,
    workflow_name: str | None = None,
    status: list[str] | None = None,
    created_at_after: int | None = None,
    created_at_before: int | None = None,
) -> Outcome:
    rt = call.rt
    if workflow_name is not None:
        find_workflow(rt, call.org, workflow_name, must_be_enabled=False)
    wanted = set(status) if status else None
    now = rt.clock.now()
    page: list[dict[str, Any]] = []
    total = 0
    runs = rt.store.runs_newest_first(call.org_id)
    if workflow_name is None and wanted is None and created_at_after is None and created_at_before is None:
        # Without filters the total is the store's count: only the page's runs are read (flat at 1M runs).
        total = rt.store.run_count(call.org_id)
        # islice takes no index past sys.maxsize: an offset beyond every run is an empty page, never a 500.
        window = itertools.islice(runs, min(offset, sys.maxsize), min(offset + limit, sys.maxsize))
        page = [summary(run, definition_of(rt, run), now) for run in window]
    else:
        for run in runs:
            if workflow_name is not None and run.workflow_name != workflow_name:
                continue
            if created_at_after is not None and run.started_at < created_at_after:
                continue
            if created_at_before is not None and run.started_at > created_at_before:
                continue
            definition = definition_of(rt, run)
            if wanted is not None and status_at(run, definition, now)[0] not in wanted:
                continue
            if offset <= total < offset + limit:
                page.append(summary(run, definition, now))
            total += 1
    return 200, {"data": page, "total": total, "limit": limit, "offset": offset}


def _rehearse_dispatch_failure(call: Call, workflow_name: str) -> bool:
    """Asked for by the request's rehearsal header, or armed through the control plane."""
    slot = call.rehearsal
    if slot is not None and slot.current is not None:
        return slot.current.kind == "dispatch_failure"
    armed = call.rt.rehearsals.take("dispatch_failure", workflow_name, operation_id="runWorkflow")
    if armed is not None and slot is not None:
        slot.current = armed
    return armed is not None
