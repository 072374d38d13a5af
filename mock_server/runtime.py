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
from .store.postgres import PostgresStore
from .store.sqlite import SqliteStore
from .webhooks import DeliveryPolicy, Subscription, WebhookDispatcher


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
    namespace: str = "default"
    worlds: Any = None  # the namespaces.Worlds this world belongs to (None for a world of its own)

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

    def close(self) -> None:
        self.store.close()

    def drop(self) -> None:
        """Delete everything of this world (an expired or deleted namespace)."""
        self.store.drop()
        self.rehearsals.clear()
        if self.webhooks is not None:
            self.webhooks.reset()


def fixture_subscriptions(fixtures: Fixtures) -> list[Subscription]:
    return [
        Subscription(w.id, org.id, w.url, list(w.events), w.secret, w.enabled, w.description)
        for org in fixtures.orgs
        for w in org.webhooks
    ]


def open_store(settings: Settings, fixtures: Fixtures) -> Store:
    """The default world's store: PostgreSQL (shared by replicas), a SQLite file (shared by workers) or memory."""
    if settings.state_url:
        return PostgresStore(settings.state_url, fixtures)
    if settings.state_path:
        return SqliteStore(settings.state_path, fixtures)
    return MemoryStore(fixtures)


def build_runtime(
    settings: Settings | None = None,
    *,
    fixtures: Fixtures | None = None,
    clock: Clock | None = None,
    ids: IdFactory | None = None,
    store: Store | None = None,
    webhook_transport: httpx.AsyncBaseTransport | None = None,
    namespace: str = "default",
) -> Runtime:
    """A world from its settings; fixtures, clock, IDs and store may be injected (tests, benchmarks)."""
    settings = settings or Settings()
    document = spec.load_document()
    if store is None:
        fixtures = fixtures or load_fixtures(settings.fixtures_path, document)
        store = open_store(settings, fixtures)
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
            {**spec.plain_errors(document), **spec.plain_errors(spec.load_control_document())},
            spec.fixed_response_headers(document, "Unauthorized"),
        ),
        policy=policy,
        guard=faults.guard(IdempotencyGuard(policy, store, virtual), settings.faults),
        rehearsals=Rehearsals(the_ids, store),
        keys=faults.keys(KeyRing(store.fixtures), store.fixtures, settings.faults),
        settings=settings,
        webhooks=WebhookDispatcher(
            DeliveryPolicy.from_document(spec.load_control_document()),
            virtual,
            the_ids,
            fixture_subscriptions(store.fixtures),
            transport=webhook_transport,
        ),
        namespace=namespace,
    )
