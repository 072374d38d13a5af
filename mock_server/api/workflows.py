"""Handlers of the `workflows` tag: run a workflow, read a run, list runs."""

from __future__ import annotations

import itertools
from typing import Any

from connexion.context import scope

from .. import faults
from ..lifecycle import status_at, summary, view
from ..rehearsals import SCOPE_KEY as REHEARSAL_KEY
from ..rehearsals import RehearsalSlot
from ..runs import created_body, find_workflow, start_run
from ..runtime import Runtime
from ..spec import query_parameter
from .context import org_id, runtime
from .idempotent import idempotent


async def run_workflow(workflow_name: str, body: dict[str, Any] | None = None) -> tuple[dict[str, Any], int]:
    rt = runtime()
    org = rt.store.org(org_id())
    run_input: dict[str, Any] = (body or {}).get("input", {})

    async def execute() -> tuple[int, dict[str, Any]]:
        definition = find_workflow(rt, org, workflow_name, must_be_enabled=True)
        if _rehearse_dispatch_failure(rt, definition.name):
            failed = start_run(rt, org.id, definition, run_input, dispatch_failed=True)
            raise rt.errors.coded("workflow_dispatch_failed", workflow_run_id=failed.workflow_run_id)
        run = start_run(rt, org.id, definition, run_input)
        return 201, created_body(run)

    return await idempotent(execute, body)


async def get_workflow_run(workflow_run_id: str) -> tuple[dict[str, Any], int]:
    rt = runtime()
    org = org_id()
    run = faults.find_run(rt, org, workflow_run_id) if rt.settings.faults else rt.store.get_run(org, workflow_run_id)
    if run is None:
        raise rt.errors.coded("workflow_run_not_found")
    return faults.adjust_run_view(rt, view(run, rt.clock.now())), 200


async def list_workflow_runs(
    workflow_name: str | None = None,
    status: list[str] | None = None,
    created_at_after: int | None = None,
    created_at_before: int | None = None,
    limit: int | None = None,
    offset: int | None = None,
) -> tuple[dict[str, Any], int]:
    rt = runtime()
    org = rt.store.org(org_id())
    if limit is None:
        limit = int(query_parameter(rt.document, "listWorkflowRuns", "limit")["schema"]["default"])
    if offset is None:
        offset = int(query_parameter(rt.document, "listWorkflowRuns", "offset")["schema"]["default"])
    if workflow_name is not None:
        find_workflow(rt, org, workflow_name, must_be_enabled=False)
    wanted = set(status) if status else None
    now = rt.clock.now()
    page: list[dict[str, Any]] = []
    total = 0
    runs = rt.store.runs_newest_first(org.id)
    if "list_runs_oldest_first" in rt.settings.faults:
        runs = reversed(list(runs))
    unfiltered = workflow_name is None and wanted is None and created_at_after is None and created_at_before is None
    if unfiltered:
        # Without filters the total is the store's count: only the page's runs are read (flat at 1M runs).
        total = rt.store.run_count(org.id)
        page = [summary(run, now) for run in itertools.islice(runs, offset, offset + limit)]
    else:
        for run in runs:
            if workflow_name is not None and run.workflow_name != workflow_name:
                continue
            if created_at_after is not None and run.started_at < created_at_after:
                continue
            if created_at_before is not None and run.started_at > created_at_before:
                continue
            if wanted is not None and status_at(run, now)[0] not in wanted:
                continue
            if offset <= total < offset + limit:
                page.append(summary(run, now))
            total += 1
    if "list_total_counts_page" in rt.settings.faults:
        total = len(page)
    return {"data": page, "total": total, "limit": limit, "offset": offset}, 200


def _rehearse_dispatch_failure(rt: Runtime, workflow_name: str) -> bool:
    """Asked for by the request's rehearsal header, or armed through the control plane."""
    slot = scope.get(REHEARSAL_KEY)
    if isinstance(slot, RehearsalSlot) and slot.current is not None:
        return slot.current.kind == "dispatch_failure"
    armed = rt.rehearsals.take("dispatch_failure", workflow_name, operation_id="runWorkflow")
    if armed is not None and isinstance(slot, RehearsalSlot):
        slot.current = armed
    return armed is not None
