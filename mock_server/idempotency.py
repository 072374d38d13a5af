"""Idempotency-Key handling as the document's `x-idempotency` extension specifies it.

An execution and its stored outcome commit in one transaction (`execution.atomically`): a crash or a
storage failure between them leaves neither, so a retry with the same key executes exactly once. A claim
that could not be released because storage failed is this process's own: a retry takes it over at once.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

from .clock import Clock, SystemClock
from .execution import Outcome, atomically
from .records import IdempotencyRecord, IdempotencyScope, dumps
from .spec import IdempotencyPolicy
from .store import Store
from .store.integrity import is_storage_failure

PURGE_EVERY_SECONDS = 60
# A claim older than this (real seconds) belongs to a worker that died mid-execution; executions take ms.
CLAIM_LEASE_SECONDS = 10
# A waiter gives up after this long; longer than the lease, so a dead worker's claim is taken over first.
WAIT_LIMIT_SECONDS = 3 * CLAIM_LEASE_SECONDS
POLL_SECONDS = 0.005


class IdempotencyTimeout(RuntimeError):
    """The key stayed claimed by a live execution for longer than any execution takes."""


class IdempotencyGuard:
    """One execution per (org, method, path, key) within the window; replays get the stored outcome."""

    def __init__(self, policy: IdempotencyPolicy, store: Store, clock: Clock, lease_clock: Clock | None = None) -> None:
        self.policy = policy
        self._store = store
        self._clock = clock
        # Claims age in real seconds: moving the virtual clock must not expire an execution in flight.
        self._lease_clock = lease_clock or SystemClock()
        self._in_flight: dict[IdempotencyScope, asyncio.Event] = {}
        # Pending claims of this process that storage failed to release: no execution holds them.
        self._orphaned: set[IdempotencyScope] = set()
        self._last_purge: int | None = None

    def reset(self) -> None:
        self._last_purge = None
        self._orphaned.clear()

    def scope_for(self, org_id: str, method: str, path: str, template: str, key: str, body: Any) -> IdempotencyScope:
        """The scope a key is remembered in: org, method and concrete path (see x-idempotency.scope)."""
        return IdempotencyScope(org_id, method, path, key)

    def lookup(self, scope: IdempotencyScope) -> Outcome | None:
        record = self._store.idempotency_get(scope)
        if record is None or self.policy.expired(record.first_used_at, self._clock.now()):
            return None
        return record.status, json.loads(record.body)

    async def run(self, scope: IdempotencyScope, execute: Callable[[], Outcome]) -> Outcome:
        replay = await self.claim(scope)
        if replay is not None:
            return replay
        done = asyncio.Event()
        self._in_flight[scope] = done
        stored = False
        try:
            first_used_at = self._clock.now()

            def store_outcome(outcome: Outcome) -> None:
                status, body = outcome
                if self.policy.stores(status):
                    self._store.idempotency_put(scope, IdempotencyRecord(first_used_at, status, dumps(body)))

            outcome = atomically(self._store, execute, store_outcome)
            # Only once the transaction has committed is the outcome stored (and the claim gone with it).
            stored = self.policy.stores(outcome[0])
            if stored:
                self._purge_expired()
            return outcome
        finally:
            if not stored:
                self._release(scope)
            del self._in_flight[scope]
            done.set()

    def _release(self, scope: IdempotencyScope) -> None:
        try:
            self._store.idempotency_release(scope)
        except Exception as exc:
            if not is_storage_failure(exc):
                raise
            self._orphaned.add(scope)  # the retry takes it over (see claim)

    async def claim(self, scope: IdempotencyScope) -> Outcome | None:
        """Take the key (None), or the stored outcome to replay; waits while another execution holds it."""
        deadline = asyncio.get_running_loop().time() + WAIT_LIMIT_SECONDS
        while True:
            lease_now = self._lease_clock.now()
            # An orphaned claim of this process is held by no execution: it is stale at once.
            orphaned = scope in self._orphaned and scope not in self._in_flight
            stale_before = lease_now + 1 if orphaned else lease_now - CLAIM_LEASE_SECONDS
            claim = self._store.idempotency_claim(scope, self._live_from(self._clock.now()), lease_now, stale_before)
            self._orphaned.discard(scope)
            if isinstance(claim, IdempotencyRecord):
                return claim.status, json.loads(claim.body)
            if claim == "claimed":
                return None
            # Same key in flight: here, wait for it; in another worker, poll the store until it finishes
            # (or its claim goes stale because that worker died), then replay or execute in turn.
            pending = self._in_flight.get(scope)
            if pending is not None:
                await pending.wait()
                continue
            if asyncio.get_running_loop().time() > deadline:
                raise IdempotencyTimeout(f"key still claimed by another worker after {WAIT_LIMIT_SECONDS}s")
            await asyncio.sleep(POLL_SECONDS)

    def _live_from(self, now: int) -> int:
        """The oldest first_used_at whose window is still open at `now`."""
        return now - self.policy.window_seconds + (1 if self.policy.boundary_exclusive else 0)

    def _purge_expired(self) -> None:
        now = self._clock.now()
        if self._last_purge is not None and now - self._last_purge < PURGE_EVERY_SECONDS:
            return
        self.purge()

    def purge(self) -> int:
        """Delete the records whose window has closed; returns how many."""
        now = self._clock.now()
        self._last_purge = now
        # A record is live while now < first_used_at + window: purge those whose window closed. The outcome
        # is already stored: a storage failure here must not turn it into an error answer.
        try:
            return self._store.idempotency_purge(self._live_from(now))
        except Exception as exc:
            if not is_storage_failure(exc):
                raise
            self._last_purge = None
            return 0
