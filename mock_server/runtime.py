"""One mock world and how it is built: document facts, store, clock, IDs, keys, idempotency, rehearsals, webhooks."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import httpx

from . import faults, spec
from .auth import KeyRing
from .clock import Clock, SystemClock, VirtualClock
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
    namespace: str = "default"
    worlds: Any = None  # the namespaces.Worlds this world belongs to (None for a world of its own)
    shared: Any = None  # the _Shared parts it was built from, to build sibling worlds (namespaces)

    def sibling(self, store: Store, namespace: str) -> Runtime:
        """Another world of the same mock (a namespace): its own state, clock offset, keys and rehearsals."""
        built: Runtime = self.shared.world(store, namespace)
        return built

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

    def maintain(self) -> int:
        """Keep the world bounded: closed idempotency windows and objects past retention go; returns how many."""
        purged = self.guard.purge()
        days = self.retention_days
        if days:
            purged += self.store.purge_older_than(self.clock.now() - days * 86400)
        return purged

    @property
    def retention_days(self) -> int:
        if self.settings.retention_days is not None:
            return self.settings.retention_days
        return int(spec.load_control_document()["x-retention"]["default_days"])

    def drop(self) -> None:
        """Delete everything of this world (an expired or deleted namespace)."""
        self.store.drop()


def open_store(settings: Settings, fixtures: Fixtures) -> Store:
    """The default world's store: PostgreSQL (shared by replicas), a SQLite file (shared by workers) or memory."""
    if settings.state_url:
        from .store.postgres import PostgresStore  # psycopg is imported only by a mock that uses it

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
) -> Runtime:
    """The default world from its settings; fixtures, clock, IDs and store may be injected (tests, benchmarks)."""
    settings = settings or Settings()
    document = spec.load_document()
    control = spec.load_control_document()
    if store is None:
        fixtures = fixtures or load_fixtures(settings.fixtures_path, document)
        store = open_store(settings, fixtures)
    shared = _Shared(
        document=document,
        settings=settings,
        ids=ids or RandomIds(),
        base_clock=clock or SystemClock(),
        errors=ErrorFactory(
            faults.catalog(spec.error_catalog(document), settings.faults),
            {**spec.plain_errors(document), **spec.plain_errors(control)},
            spec.fixed_response_headers(document, "Unauthorized"),
        ),
        policy=faults.policy(spec.idempotency_policy(document), settings.faults),
        delivery=DeliveryPolicy.from_document(control),
        webhook_transport=webhook_transport,
    )
    return shared.world(store, "default")


@dataclass(frozen=True)
class _Shared:
    """What every world of one mock shares: the documents' facts, settings, IDs and the base clock."""

    document: dict[str, Any]
    settings: Settings
    ids: IdFactory
    base_clock: Clock
    errors: ErrorFactory
    policy: IdempotencyPolicy
    delivery: DeliveryPolicy
    webhook_transport: httpx.AsyncBaseTransport | None

    def world(self, store: Store, namespace: str) -> Runtime:
        faulted = self.settings.faults
        store = faults.store(store, faulted)
        virtual = VirtualClock(self.base_clock, offsets=store)
        world = Runtime(
            document=self.document,
            store=store,
            clock=virtual,
            ids=self.ids,
            errors=self.errors,
            policy=self.policy,
            guard=faults.guard(IdempotencyGuard(self.policy, store, virtual), faulted),
            rehearsals=Rehearsals(self.ids, store),
            keys=faults.keys(KeyRing(store.fixtures), store.fixtures, faulted),
            settings=self.settings,
            webhooks=WebhookDispatcher(
                self.delivery,
                virtual,
                self.ids,
                store,
                transport=self.webhook_transport,
            ),
            namespace=namespace,
        )
        world.shared = self
        return world
