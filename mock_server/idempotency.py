"""Idempotency-Key handling as the document's `x-idempotency` extension specifies it."""

from __future__ import annotations

import asyncio
import json
from typing import Any, Awaitable, Callable

from .clock import Clock
from .spec import IdempotencyPolicy
from .store import IdempotencyRecord, IdempotencyScope, Store

Outcome = tuple[int, dict[str, Any]]
PURGE_EVERY_SECONDS = 60


class IdempotencyGuard:
    """One execution per (org, method, path, key) within the window; replays get the stored outcome."""

    def __init__(self, policy: IdempotencyPolicy, store: Store, clock: Clock) -> None:
        self.policy = policy
        self._store = store
        self._clock = clock
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
        while True:
            replay = self.lookup(scope)
            if replay is not None:
                return replay
            pending = self._in_flight.get(scope)
            if pending is None:
                break
            # Same key in flight: wait, then replay its stored outcome or execute in turn.
            await pending.wait()
        done = asyncio.Event()
        self._in_flight[scope] = done
        try:
            first_used_at = self._clock.now()
            status, body = await execute()
            if self.policy.stores(status):
                self._store.idempotency_put(
                    scope, IdempotencyRecord(first_used_at, status, json.dumps(body, separators=(",", ":")))
                )
                self._purge_expired()
            return status, body
        finally:
            del self._in_flight[scope]
            done.set()

    def _purge_expired(self) -> None:
        now = self._clock.now()
        if self._last_purge is not None and now - self._last_purge < PURGE_EVERY_SECONDS:
            return
        self._last_purge = now
        # A record is live while now < first_used_at + window: purge those whose window closed.
        self._store.idempotency_purge(now - self.policy.window_seconds + (0 if self.policy.boundary_exclusive else -1) + 1)
