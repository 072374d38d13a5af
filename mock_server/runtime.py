"""The runtime bundle handed to every request: document facts, store, clock, IDs, errors."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, cast

from starlette.types import Scope

from .clock import VirtualClock
from .errors import ErrorFactory
from .fixtures import Fixtures
from .idempotency import IdempotencyGuard
from .ids import IdFactory
from .rehearsals import Rehearsals
from .spec import IdempotencyPolicy
from .store import Store
from .webhooks import WebhookDispatcher

SCOPE_KEY = "coverbase.runtime"


@dataclass
class Settings:
    control_plane: bool = True
    control_token: str | None = None
    faults: frozenset[str] = frozenset()
    # The fast lane (fastpath.py) for hot operations; off under planted faults, which hook the slow path.
    fast_path: bool = True


@dataclass
class Runtime:
    document: dict[str, Any]
    store: Store
    clock: VirtualClock
    ids: IdFactory
    errors: ErrorFactory
    policy: IdempotencyPolicy
    guard: IdempotencyGuard
    rehearsals: Rehearsals
    settings: Settings = field(default_factory=Settings)
    webhooks: WebhookDispatcher | None = None

    @property
    def fixtures(self) -> Fixtures:
        return self.store.fixtures

    def reset(self) -> None:
        """Back to the fixtures: state, clock offset, idempotency records, journal, rehearsals."""
        self.store.reset()
        self.clock.reset()
        self.guard.reset()
        self.rehearsals.clear()
        if self.webhooks is not None:
            self.webhooks.reset()


def from_scope(scope: Scope) -> Runtime:
    return cast(Runtime, scope[SCOPE_KEY])
