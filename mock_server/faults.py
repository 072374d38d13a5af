"""Planted faults (`coverbase-mock --fault NAME`), each breaking one documented behaviour."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import Awaitable, Callable, Iterable
from typing import TYPE_CHECKING, Any

from .errors import ApiError
from .spec import CodedErrorSpec, IdempotencyPolicy, operations

if TYPE_CHECKING:
    from .idempotency import Outcome
    from .lifecycle import RunRecord
    from .runtime import Runtime
    from .store import IdempotencyScope

FAULTS: dict[str, str] = {
    "idempotency_ignored": "Idempotency-Key is ignored: every request executes again.",
    "idempotency_global_scope": "Keys are scoped globally instead of per organization.",
    "idempotency_route_template_scope": "Keys are scoped per route template instead of the concrete path.",
    "idempotency_window_short": "Keys expire after one hour instead of the documented window.",
    "idempotency_window_forever": "Keys never expire.",
    "idempotency_replay_current_state": "A replay reports the run's current status instead of the original snapshot.",
    "idempotency_replay_status_200": "A replay answers 200 instead of the original status.",
    "idempotency_concurrent_race": "Concurrent same-key requests race: each one executes.",
    "idempotency_body_mismatch_executes": "A replay with a different body executes again.",
    "idempotency_stores_errors": "Non-2xx outcomes are stored and replayed, so they cannot be retried.",
    "error_code_renamed": "workflow_not_found is answered with the undocumented code workflow_missing.",
    "auth_not_enforced": "An unknown bearer token is accepted as the first organization's key.",
    "cross_org_run_readable": "A run of another organization is readable.",
    "completed_at_on_started": "completed_at is set while a run is still started.",
    "created_run_sometimes_unreadable": "Every second run created is not readable afterwards.",
    "delete_not_idempotent": "Archiving an already archived assessment answers 404.",
    "list_runs_oldest_first": "List runs is ordered oldest first.",
    "list_total_counts_page": "List runs' total counts only the returned page.",
}

SHORT_WINDOW_SECONDS = 3600
NEVER_EXPIRES_SECONDS = 10**12
RACE_DELAY_SECONDS = 0.05


def validate(names: Iterable[str]) -> frozenset[str]:
    """The requested faults, or ValueError naming the unknown ones and the catalogue."""
    wanted = frozenset(names)
    unknown = sorted(wanted - FAULTS.keys())
    if unknown:
        raise ValueError(f"unknown fault(s) {', '.join(unknown)}; known: {', '.join(sorted(FAULTS))}")
    return wanted


def catalogue() -> str:
    return "\n".join(f"  {name:36} {text}" for name, text in sorted(FAULTS.items()))


def adjust_policy(policy: IdempotencyPolicy, faults: frozenset[str]) -> IdempotencyPolicy:
    if "idempotency_window_short" in faults:
        policy = dataclasses.replace(policy, window_seconds=SHORT_WINDOW_SECONDS)
    if "idempotency_window_forever" in faults:
        policy = dataclasses.replace(policy, window_seconds=NEVER_EXPIRES_SECONDS)
    if "idempotency_stores_errors" in faults:
        policy = dataclasses.replace(policy, stored_min=100, stored_max=599)
    return policy


def adjust_catalog(catalog: dict[str, CodedErrorSpec], faults: frozenset[str]) -> dict[str, CodedErrorSpec]:
    if "error_code_renamed" in faults:
        catalog = dict(catalog)
        catalog["workflow_not_found"] = dataclasses.replace(catalog["workflow_not_found"], code="workflow_missing")
    return catalog


def adjust_scope(rt: Runtime, where: IdempotencyScope, request_body: Any) -> IdempotencyScope:
    faults = rt.settings.faults
    if "idempotency_global_scope" in faults:
        where = dataclasses.replace(where, org_id="*")
    if "idempotency_route_template_scope" in faults:
        ops = operations(rt.document)
        matching = (op.path for op in ops if op.method == where.method and op.path_regex.match(where.path))
        template = next(matching, where.path)
        where = dataclasses.replace(where, path=template)
    if "idempotency_body_mismatch_executes" in faults:
        where = dataclasses.replace(where, key=where.key + "|" + json.dumps(request_body, sort_keys=True))
    return where


def errors_as_outcomes(execute: Callable[[], Awaitable[Outcome]]) -> Callable[[], Awaitable[Outcome]]:
    """For idempotency_stores_errors: error answers become outcomes the guard stores."""

    async def wrapped() -> Outcome:
        try:
            return await execute()
        except ApiError as exc:
            return exc.status, exc.body

    return wrapped


async def racy_run(rt: Runtime, where: IdempotencyScope, execute: Callable[[], Awaitable[Outcome]]) -> Outcome:
    """For idempotency_concurrent_race: look up, then execute after a pause without claiming the key."""
    from .store import IdempotencyRecord

    replay = rt.guard.lookup(where)
    if replay is not None:
        return replay
    first_used_at = rt.clock.now()
    await asyncio.sleep(RACE_DELAY_SECONDS)
    status, body = await execute()
    if rt.policy.stores(status):
        rt.store.idempotency_put(where, IdempotencyRecord(first_used_at, status, json.dumps(body)))
    return status, body


def replay_outcome(rt: Runtime, status: int, body: dict[str, Any], replayed: bool) -> tuple[int, dict[str, Any]]:
    """For the replay faults: the replay's status, or the run's current status in the body."""
    faults = rt.settings.faults
    if replayed and "idempotency_replay_status_200" in faults:
        status = 200
    if "idempotency_replay_current_state" in faults and isinstance(body.get("workflow_run_id"), str):
        from .lifecycle import status_at

        for org in rt.fixtures.orgs:
            run = rt.store.get_run(org.id, body["workflow_run_id"])
            if run is not None and "workflow_name" in body:
                body = {**body, "status": status_at(run, rt.clock.now())[0]}
    return status, body


def find_run(rt: Runtime, org_id: str, run_id: str) -> RunRecord | None:
    """Run lookup with the read faults applied."""
    run = rt.store.get_run(org_id, run_id)
    faults = rt.settings.faults
    if run is None and "cross_org_run_readable" in faults:
        run = next((r for o in rt.fixtures.orgs if (r := rt.store.get_run(o.id, run_id)) is not None), None)
    if run is not None and "created_run_sometimes_unreadable" in faults and run.snapshot is None and run.sequence % 2:
        return None
    return run


def adjust_run_view(rt: Runtime, body: dict[str, Any]) -> dict[str, Any]:
    if "completed_at_on_started" in rt.settings.faults and body["status"] == "started":
        body["completed_at"] = body["started_at"]
    return body
