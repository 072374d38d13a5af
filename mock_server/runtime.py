"""One mock world and how it is built: document facts, store, clock, IDs, keys, idempotency, rehearsals, webhooks."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import httpx

from . import faults, spec
from .auth import KeyRing
from .clock import Clock, VirtualClock
from .errors import ErrorFactory
from .fixtures import Fixtures, load_fixtures
from .idempotency import IdempotencyGuard
from .ids import IdFactory, RandomIds
from .rehearsals import Rehearsals
from .settings import Settings
from .spec import IdempotencyPolicy
from .store import Store
from .store.memory import MemoryStore
from .store.sqlite import SqliteStore
from .webhooks import DeliveryPolicy, WebhookDispatcher


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
    keys: KeyRing
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

    def close(self) -> None:
        self.store.close()


def build_runtime(
    settings: Settings | None = None,
    *,
    fixtures: Fixtures | None = None,
    clock: Clock | None = None,
    ids: IdFactory | None = None,
    store: Store | None = None,
    webhook_transport: httpx.AsyncBaseTransport | None = None,
) -> Runtime:
    """A world from its settings; fixtures, clock, IDs and store may be injected (tests, benchmarks)."""
    settings = settings or Settings()
    document = spec.load_document()
    if store is None:
        fixtures = fixtures or load_fixtures(settings.fixtures_path, document)
        store = SqliteStore(settings.state_path, fixtures) if settings.state_path else MemoryStore(fixtures)
    store = faults.store(store, settings.faults)
    policy = faults.policy(spec.idempotency_policy(document), settings.faults)
    the_ids = ids or RandomIds()
    virtual = VirtualClock(clock, offsets=store)
    return Runtime(
        document=document,
        store=store,
        clock=virtual,
        ids=the_ids,
        errors=ErrorFactory(
            faults.catalog(spec.error_catalog(document), settings.faults),
            spec.plain_errors(document),
            spec.fixed_response_headers(document, "Unauthorized"),
        ),
        policy=policy,
        guard=faults.guard(IdempotencyGuard(policy, store, virtual), settings.faults),
        rehearsals=Rehearsals(the_ids),
        keys=faults.keys(KeyRing(store.fixtures), store.fixtures, settings.faults),
        settings=settings,
        webhooks=WebhookDispatcher(
            DeliveryPolicy.from_document(spec.load_control_document()),
            virtual,
            the_ids,
            store,
            transport=webhook_transport,
        ),
    )
