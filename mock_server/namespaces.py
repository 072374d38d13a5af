"""Namespaces: private copies of the fixtures, each a world of its own, selected by API key or X-Mock-Namespace.

The default namespace is the mock as it always was (the fixtures' own keys). `POST /_mock/namespaces`
makes another world - a private copy of the fixtures (or of inline fixtures) with freshly minted API
keys, its own virtual clock, idempotency records, journal, rehearsals and webhook subscriptions. An
API request needs nothing new: its key selects the world. Idle namespaces expire after their TTL and
are dropped with everything in them. The catalog of namespaces lives with the state (memory, or the
`--state` database, where other worker processes and replicas find namespaces made by one of them).

Each process keeps the worlds it has loaded. A namespace deleted (or swept) by another process stops
working here within CHECK_EVERY_SECONDS: a loaded world is trusted for that long, then looked up again.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Iterator
from typing import Any

from .clock import Clock, RealClock
from .fixtures import Fixtures, OrgFixture, parse_fixtures
from .ids import IdFactory
from .namespace_catalog import MemoryCatalog, NamespaceCatalog, NamespaceRecord, key_digest
from .runtime import Runtime
from .store import Database, Store
from .store.memory import MemoryStore

DEFAULT_NAMESPACE = "default"
HEADER = "x-mock-namespace"
NAMESPACE_PREFIX = "mockns"
KEY_PREFIX = "ak_test"
# How often (real seconds) a namespace's last use is written back, and expired namespaces are swept.
TOUCH_EVERY_SECONDS = 30
SWEEP_EVERY_SECONDS = 30
# How long (real seconds) a loaded namespace is served without asking the catalog whether it still exists:
# the bound on how long a namespace deleted by another worker process or replica keeps working here.
CHECK_EVERY_SECONDS = 1


class NamespaceError(ValueError):
    """Inline fixtures that cannot be used (the message names the field)."""


class NamespaceLimit(LookupError):
    """As many namespaces are live as the mock allows."""


WorldFactory = Callable[[str, Fixtures], Runtime]


class Worlds:
    """The default world and every live namespace's world."""

    def __init__(
        self,
        default: Runtime,
        make_world: WorldFactory,
        catalog: NamespaceCatalog,
        ids: IdFactory,
        *,
        clock: Clock | None = None,
        default_ttl: int = 3600,
        limit: int = 10_000,
    ) -> None:
        self.default = default
        self._make_world = make_world
        self.catalog = catalog
        self._ids = ids
        # Namespaces age in real seconds: a namespace's virtual clock may be anywhere.
        self.clock = clock or RealClock()
        self.default_ttl = default_ttl
        self.limit = limit
        self._loaded: dict[str, Runtime] = {}
        self._by_digest: dict[str, str] = {}
        self._last_touch: dict[str, int] = {}
        self._last_check: dict[str, int] = {}
        self._last_sweep = 0
        default.worlds = self

    # --- selection --------------------------------------------------------------------------

    def for_token(self, token: str | None) -> Runtime:
        """The world whose keys include `token`; the default world for any other token (it answers 401)."""
        self._sweep_if_due()
        if not token or self.default.keys.org_for(token) is not None:
            return self.default  # most traffic is settled by one digest lookup
        digest = key_digest(token)
        namespace_id = self._by_digest.get(digest)
        if namespace_id is None:
            record = self.catalog.by_key_digest(digest)  # a namespace another worker process made
            if record is None:
                return self.default
            namespace_id = record.id
        return self.get(namespace_id) or self.default

    def get(self, namespace_id: str) -> Runtime | None:
        """A namespace's world (loaded from the catalog when another process made it), or None."""
        if namespace_id == DEFAULT_NAMESPACE:
            return self.default
        world = self._loaded.get(namespace_id)
        if world is not None and self.clock.now() - self._last_check.get(namespace_id, 0) >= CHECK_EVERY_SECONDS:
            world = self._recheck(namespace_id, world)
        if world is None:
            record = self.catalog.get(namespace_id)
            if record is None or record.expires_at <= self.clock.now():
                return None
            world = self._load(record)
        self._touch(namespace_id)
        return world

    def maintain(self) -> int:
        """Every world's maintenance (see Runtime.maintain), expired namespaces swept, freed pages reclaimed."""
        purged = self.sweep()
        for world in self.loaded():
            purged += world.maintain()
        database: Database | None = getattr(self.default.store, "database", None)
        if database is not None:
            database.reclaim()
        return purged

    def loaded(self) -> Iterator[Runtime]:
        yield self.default
        yield from list(self._loaded.values())

    # --- lifecycle ----------------------------------------------------------------------------

    def create(self, ttl_seconds: int | None = None, fixtures: Any = None) -> tuple[NamespaceRecord, Runtime]:
        """A new namespace; NamespaceError for unusable inline fixtures, NamespaceLimit at the limit."""
        self._sweep_if_due()
        if self.catalog.count() >= self.limit:
            raise NamespaceLimit(f"{self.limit} namespaces are live")
        if fixtures is None:
            base = self.default.fixtures
        else:
            try:
                base = parse_fixtures(fixtures, self.default.document, "fixtures")
            except ValueError as exc:
                raise NamespaceError(str(exc)) from exc
        keys = {org.id: self._ids.new(KEY_PREFIX) for org in base.orgs}
        now = self.clock.now()
        record = NamespaceRecord(
            id=self._ids.new(NAMESPACE_PREFIX),
            created_at=now,
            ttl_seconds=ttl_seconds or self.default_ttl,
            last_used_at=now,
            keys=keys,
            fixtures_json=None if fixtures is None else json.dumps(fixtures, separators=(",", ":")),
        )
        self.catalog.add(record)
        return record, self._load(record, base)

    def delete(self, namespace_id: str) -> bool:
        world = self.get(namespace_id) if namespace_id != DEFAULT_NAMESPACE else None
        if world is None:
            return False
        self._unload(namespace_id)
        # Out of the catalog first: no other process loads (and seeds) it again while its rows go.
        removed = self.catalog.remove(namespace_id)
        world.drop()
        return removed

    def records(self) -> list[NamespaceRecord]:
        self.sweep()
        return sorted(self.catalog.all(), key=lambda r: (r.created_at, r.id))

    def sweep(self) -> int:
        """Drop every namespace idle for longer than its TTL; returns how many."""
        now = self.clock.now()
        self._last_sweep = now
        expired = [r for r in self.catalog.all() if r.expires_at <= now]
        for record in expired:
            world = self._loaded.get(record.id) or self._load(record)
            self._unload(record.id)
            self.catalog.remove(record.id)
            world.drop()
        return len(expired)

    def _recheck(self, namespace_id: str, world: Runtime) -> Runtime | None:
        """The loaded world, unless another process deleted its namespace meanwhile (then None)."""
        self._last_check[namespace_id] = self.clock.now()
        if self.catalog.get(namespace_id) is not None:
            return world
        self._unload(namespace_id)
        # Rows this process wrote after the other one dropped the namespace would otherwise stay behind.
        world.drop()
        return None

    def _sweep_if_due(self) -> None:
        if self.clock.now() - self._last_sweep >= SWEEP_EVERY_SECONDS:
            self.sweep()

    def _touch(self, namespace_id: str) -> None:
        now = self.clock.now()
        if now - self._last_touch.get(namespace_id, 0) >= TOUCH_EVERY_SECONDS:
            self._last_touch[namespace_id] = now
            self.catalog.touch(namespace_id, now)

    def _load(self, record: NamespaceRecord, base: Fixtures | None = None) -> Runtime:
        if base is None:
            raw = json.loads(record.fixtures_json) if record.fixtures_json else None
            base = self.default.fixtures if raw is None else parse_fixtures(raw, self.default.document, "fixtures")
        world = self._make_world(record.id, with_keys(base, record.keys))
        world.worlds = self
        self._loaded[record.id] = world
        for key in record.keys.values():
            self._by_digest[key_digest(key)] = record.id
        self._last_touch[record.id] = self._last_check[record.id] = self.clock.now()
        return world

    def _unload(self, namespace_id: str) -> None:
        world = self._loaded.pop(namespace_id, None)
        self._last_touch.pop(namespace_id, None)
        self._last_check.pop(namespace_id, None)
        if world is not None:
            for key in world.keys.all_keys():
                self._by_digest.pop(key_digest(key), None)


def with_keys(fixtures: Fixtures, keys: dict[str, str]) -> Fixtures:
    """The fixtures with each organization's keys replaced by the one minted for it."""
    orgs: list[OrgFixture] = [dataclasses.replace(org, api_keys=(keys[org.id],)) for org in fixtures.orgs]
    return Fixtures(tuple(orgs), fixtures.source)


def worlds_for(default: Runtime, *, limit: int = 10_000, default_ttl: int = 3600) -> Worlds:
    """The namespaces of a mock whose default world is `default`: their state lives where the default's does
    (the same PostgreSQL or SQLite database, one partition each, or memory), on the same base clock and IDs."""
    database: Database | None = getattr(default.store, "database", None)
    catalog: NamespaceCatalog = database.catalog() if database is not None else MemoryCatalog()

    def make_world(namespace_id: str, fixtures: Fixtures) -> Runtime:
        store: Store = database.open_store(fixtures, namespace_id) if database is not None else MemoryStore(fixtures)
        return default.sibling(store, namespace_id)

    return Worlds(default, make_world, catalog, default.ids, default_ttl=default_ttl, limit=limit)
