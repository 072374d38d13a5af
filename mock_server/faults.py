"""Planted faults (`coverbase-mock --fault NAME`), each breaking one documented behaviour.

A fault never lives in a product handler: it is a wrapper chosen when the runtime and the operation
table are built - a faulty store, guard, key ring, policy or error catalog, or a handler wrapper - so
the product path of an unfaulted mock holds no fault checks at all. Every fault is deterministic.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any, cast

from .auth import KeyRing
from .errors import ApiError
from .execution import Outcome
from .idempotency import IdempotencyGuard
from .records import IdempotencyRecord, IdempotencyScope, RunRecord, dumps
from .spec import CodedErrorSpec, IdempotencyPolicy

if TYPE_CHECKING:
    from .api.call import Call
    from .fixtures import Fixtures
    from .operations import Handler
    from .store import Store

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
    "created_run_sometimes_unreadable": "Every second run created (the first, third, ...) is not readable afterwards.",
    "delete_not_idempotent": "Archiving an already archived assessment answers 404.",
    "list_runs_oldest_first": "List runs is ordered oldest first.",
    "list_total_counts_page": "List runs' total counts only the returned page.",
    "vendor_list_ignores_external_id": "GET /v1/vendors ignores its external_id filter.",
    "webhook_events_case_insensitive": "A subscription's event types are matched without case (vendor.created passes).",
}

SHORT_WINDOW_SECONDS = 3600
NEVER_EXPIRES_SECONDS = 10**12
RACE_DELAY_SECONDS = 0.05
GUARD_FAULTS = frozenset(
    {
        "idempotency_ignored",
        "idempotency_global_scope",
        "idempotency_route_template_scope",
        "idempotency_replay_current_state",
        "idempotency_replay_status_200",
        "idempotency_concurrent_race",
        "idempotency_body_mismatch_executes",
        "idempotency_stores_errors",
    }
)
STORE_FAULTS = frozenset({"cross_org_run_readable", "created_run_sometimes_unreadable", "list_runs_oldest_first"})


def validate(names: Iterable[str]) -> frozenset[str]:
    """The requested faults, or ValueError naming the unknown ones and the catalogue."""
    wanted = frozenset(names)
    unknown = sorted(wanted - FAULTS.keys())
    if unknown:
        raise ValueError(f"unknown fault(s) {', '.join(unknown)}; known: {', '.join(sorted(FAULTS))}")
    return wanted


def catalogue() -> str:
    return "\n".join(f"  {name:36} {text}" for name, text in sorted(FAULTS.items()))


# --- wrappers chosen when the runtime is built ------------------------------------------------------


def policy(base: IdempotencyPolicy, faults: frozenset[str]) -> IdempotencyPolicy:
    if "idempotency_window_short" in faults:
        base = dataclasses.replace(base, window_seconds=SHORT_WINDOW_SECONDS)
    if "idempotency_window_forever" in faults:
        base = dataclasses.replace(base, window_seconds=NEVER_EXPIRES_SECONDS)
    if "idempotency_stores_errors" in faults:
        base = dataclasses.replace(base, stored_min=100, stored_max=599)
    return base


def catalog(base: dict[str, CodedErrorSpec], faults: frozenset[str]) -> dict[str, CodedErrorSpec]:
    if "error_code_renamed" in faults:
        base = dict(base)
        base["workflow_not_found"] = dataclasses.replace(base["workflow_not_found"], code="workflow_missing")
    return base


def store(base: Store, faults: frozenset[str]) -> Store:
    # FaultyStore passes every other method through (__getattr__), which a Protocol check cannot see.
    return cast("Store", FaultyStore(base, faults)) if faults & STORE_FAULTS else base


def guard(base: IdempotencyGuard, faults: frozenset[str]) -> IdempotencyGuard:
    return FaultyGuard(base, faults) if faults & GUARD_FAULTS else base


def keys(base: KeyRing, fixtures: Fixtures, faults: frozenset[str]) -> KeyRing:
    return UnenforcedKeys(fixtures) if "auth_not_enforced" in faults else base


def handlers(faults: frozenset[str]) -> Callable[[str, Handler], Handler] | None:
    """The table's handler wrapper for the faults that change one operation's answer."""
    wrapped = {
        "completed_at_on_started",
        "list_total_counts_page",
        "delete_not_idempotent",
        "vendor_list_ignores_external_id",
        "webhook_events_case_insensitive",
    }
    if not faults & wrapped:
        return None

    def wrap(operation_id: str, handler: Handler) -> Handler:
        if operation_id == "getWorkflowRun" and "completed_at_on_started" in faults:
            return _completed_at_on_started(handler)
        if operation_id == "listWorkflowRuns" and "list_total_counts_page" in faults:
            return _total_counts_page(handler)
        if operation_id == "deleteAssessment" and "delete_not_idempotent" in faults:
            return _delete_not_idempotent(handler)
        if operation_id == "listVendors" and "vendor_list_ignores_external_id" in faults:
            return _ignores_external_id(handler)
        if operation_id == "createWebhook" and "webhook_events_case_insensitive" in faults:
            return _events_case_insensitive(handler)
        return handler

    return wrap


def _completed_at_on_started(handler: Handler) -> Handler:
    def faulty(call: Call, **kwargs: Any) -> Outcome:
        status, body = handler(call, **kwargs)
        if status == 200 and body["status"] == "started":
            body = {**body, "completed_at": body["started_at"]}
        return status, body

    return faulty


def _total_counts_page(handler: Handler) -> Handler:
    def faulty(call: Call, **kwargs: Any) -> Outcome:
        status, body = handler(call, **kwargs)
        return status, {**body, "total": len(body["data"])}

    return faulty


def _delete_not_idempotent(handler: Handler) -> Handler:
    def faulty(call: Call, **kwargs: Any) -> Outcome:
        record = call.rt.store.get_assessment(call.org_id, kwargs["assessment_id"])
        if record is not None and record.archived_at is not None:
            raise call.rt.errors.coded("assessment_not_found")
        return handler(call, **kwargs)

    return faulty


def _ignores_external_id(handler: Handler) -> Handler:
    def faulty(call: Call, **kwargs: Any) -> Outcome:
        return handler(call, **{**kwargs, "external_id": None})

    return faulty


def _events_case_insensitive(handler: Handler) -> Handler:
    def faulty(call: Call, **kwargs: Any) -> Outcome:
        catalog = {name.lower(): name for name in call.rt.document["x-webhook-events"]["events"]}
        body = dict(kwargs["body"])
        events = body.get("events")
        if isinstance(events, list):
            body["events"] = [catalog.get(e.lower(), e) if isinstance(e, str) else e for e in events]
        return handler(call, **{**kwargs, "body": body})

    return faulty


class UnenforcedKeys(KeyRing):
    """auth_not_enforced: any bearer token is some organization's key (the first one's, if unknown)."""

    def __init__(self, fixtures: Fixtures) -> None:
        super().__init__(fixtures)
        self._fallback = fixtures.orgs[0].id

    def org_for(self, token: str) -> str | None:
        return super().org_for(token) or self._fallback


class FaultyStore:
    """Read faults: another org's runs readable, every second created run hidden, oldest-first listing."""

    def __init__(self, base: Store, faults: frozenset[str]) -> None:
        self._base = base
        self._faults = faults
        self._hidden: set[str] = set()
        self._created = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._base, name)

    def reset(self) -> None:
        self._base.reset()
        self._hidden.clear()
        self._created = 0

    def put_run(self, record: RunRecord) -> None:
        new = self._base.get_run(record.org_id, record.workflow_run_id) is None
        self._base.put_run(record)
        if new and record.snapshot_json is None and "created_run_sometimes_unreadable" in self._faults:
            self._created += 1
            if self._created % 2 == 1:  # the 1st, 3rd, 5th ... run created
                self._hidden.add(record.workflow_run_id)

    def get_run(self, org_id: str, run_id: str) -> RunRecord | None:
        if run_id in self._hidden:
            return None
        run = self._base.get_run(org_id, run_id)
        if run is None and "cross_org_run_readable" in self._faults:
            run = next((r for o in self._base.fixtures.orgs if (r := self._base.get_run(o.id, run_id))), None)
        return run

    def runs_newest_first(self, org_id: str) -> Iterator[RunRecord]:
        runs = self._base.runs_newest_first(org_id)
        return reversed(list(runs)) if "list_runs_oldest_first" in self._faults else runs


class FaultyGuard(IdempotencyGuard):
    """The idempotency faults, around the real guard."""

    def __init__(self, base: IdempotencyGuard, faults: frozenset[str]) -> None:
        super().__init__(base.policy, base._store, base._clock, base._lease_clock)
        self._faults = faults

    def scope_for(self, org_id: str, method: str, path: str, template: str, key: str, body: Any) -> IdempotencyScope:
        where = super().scope_for(org_id, method, path, template, key, body)
        if "idempotency_global_scope" in self._faults:
            where = dataclasses.replace(where, org_id="*")
        if "idempotency_route_template_scope" in self._faults:
            where = dataclasses.replace(where, path=template)
        if "idempotency_body_mismatch_executes" in self._faults:
            where = dataclasses.replace(where, key=where.key + "|" + json.dumps(body, sort_keys=True))
        return where

    async def run(self, scope: IdempotencyScope, execute: Callable[[], Outcome]) -> Outcome:
        if "idempotency_ignored" in self._faults:
            with self._store.transaction():
                return execute()
        if "idempotency_stores_errors" in self._faults:
            execute = _errors_as_outcomes(execute)
        replayed = self.lookup(scope) is not None
        if "idempotency_concurrent_race" in self._faults:
            status, body = await self._racy_run(scope, execute)
        else:
            status, body = await super().run(scope, execute)
        if replayed and "idempotency_replay_status_200" in self._faults:
            status = 200
        if "idempotency_replay_current_state" in self._faults:
            body = self._current_state(body)
        return status, body

    async def _racy_run(self, scope: IdempotencyScope, execute: Callable[[], Outcome]) -> Outcome:
        """Look up, then execute after a pause without claiming the key."""
        replay = self.lookup(scope)
        if replay is not None:
            return replay
        first_used_at = self._clock.now()
        await asyncio.sleep(RACE_DELAY_SECONDS)
        with self._store.transaction():
            status, body = execute()
        if self.policy.stores(status):
            self._store.idempotency_put(scope, IdempotencyRecord(first_used_at, status, dumps(body)))
        return status, body

    def _current_state(self, body: Any) -> Any:
        from .run_timeline import status_at

        if (
            not isinstance(body, dict)
            or not isinstance(body.get("workflow_run_id"), str)
            or "workflow_name" not in body
        ):
            return body
        for org in self._store.fixtures.orgs:
            run = self._store.get_run(org.id, body["workflow_run_id"])
            if run is not None:
                definition = org.workflow_by_id(run.workflow_definition_id)
                return {**body, "status": status_at(run, definition, self._clock.now())[0]}
        return body


def _errors_as_outcomes(execute: Callable[[], Outcome]) -> Callable[[], Outcome]:
    """For idempotency_stores_errors: error answers become outcomes the guard stores."""

    def wrapped() -> Outcome:
        try:
            return execute()
        except ApiError as exc:
            return exc.status, exc.body

    return wrapped
