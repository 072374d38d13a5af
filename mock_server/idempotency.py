"""Idempotency-Key handling as the document's `x-idempotency` extension specifies it."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any

from .clock import Clock, SystemClock
from .spec import IdempotencyPolicy
from .store import IdempotencyRecord, IdempotencyScope, Store

Outcome = tuple[int, dict[str, Any]]
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
        self._last_purge: int | None = None

    def reset(self) -> None:
        self._last_purge = None

    def lookup(self, scope: IdempotencyScope) -> Outcome | None:
        record = self._store.idempotency_get(scope)
        if record is None or self.policy.expired(record.first_used_at, self._clock.now()):
            return None
        return record.status, json.loads(record.body)

    async def run(self, scope: IdempotencyScope, execute: Callable[[], Awaitable[Outcome]]) -> Outcome:
        deadline = asyncio.get_running_loop().time() + WAIT_LIMIT_SECONDS
        while True:
            lease_now = self._lease_clock.now()
            claim = self._store.idempotency_claim(
                scope, self._live_from(self._clock.now()), lease_now, lease_now - CLAIM_LEASE_SECONDS
            )
            if isinstance(claim, IdempotencyRecord):
                return claim.status, json.loads(claim.body)
            if claim == "claimed":
                break
            # Same key in flight: here, wait for it; in another worker, poll the store until it finishes
            # (or its claim goes stale because that worker died), then replay or execute in turn.
            pending = self._in_flight.get(scope)
            if pending is not None:
                await pending.wait()
                continue
            if asyncio.get_running_loop().time() > deadline:
                raise IdempotencyTimeout(f"key still claimed by another worker after {WAIT_LIMIT_SECONDS}s")
            await asyncio.sleep(POLL_SECONDS)
        done = asyncio.Event()
        self._in_flight[scope] = done
        stored = False
        try:
            first_used_at = self._clock.now()
            status, body = await execute()
            if self.policy.stores(status):
                self._store.idempotency_put(
                    scope, IdempotencyRecord(first_used_at, status, json.dumps(body, separators=(",", ":")))
                )
                stored = True
                self._purge_expired()
            return status, body
        finally:
            if not stored:
                self._store.idempotency_release(scope)
            del self._in_flight[scope]
            done.set()

    def _live_from(self, now: int) -> int:
        """The oldest first_used_at whose window is still open at `now`."""
        return now - self.policy.window_seconds + (1 if self.policy.boundary_exclusive else 0)

    def _purge_expired(self) -> None:
        now = self._clock.now()
        if self._last_purge is not None and now - self._last_purge < PURGE_EVERY_SECONDS:
            return
        self._last_purge = now
        # A record is live while now < first_used_at + window: purge those whose window closed.
        self._store.idempotency_purge(self._live_from(now))
