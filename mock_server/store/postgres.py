"""Shared state (`--state postgresql://...`): the store contract on PostgreSQL, for several mock replicas at once.

One `PostgresDatabase` per process (a psycopg connection pool) is shared by the `PostgresStore` of every
namespace and by the `PostgresCatalog`. Every row carries its namespace `ns`, as in SQLite.

Transactions: the outermost `transaction()` takes a connection and holds it (in a context variable of the
database) until it commits or rolls back; every statement made meanwhile by any store of the same
database joins it. The mock never awaits inside a transaction, so a connection is held for milliseconds.
A statement outside a transaction runs in autocommit. Both use the database's home connection when it is
free (see `PostgresDatabase`), else a pooled one.

Across replicas: a claim on an idempotency key is one atomic statement (`INSERT ... ON CONFLICT DO
NOTHING`, or a conditional `UPDATE` of a stale claim), rehearsals are taken under `SELECT ... FOR
UPDATE`, seeding and dropping a namespace take a transaction-scoped advisory lock on it, and the schema
is created under an advisory lock too, so replicas may start together.

Adding a store method (as on SQLite): its table goes into SCHEMA with an `ns` column leading its primary
key, and into TABLES (reset and drop clear it); the method runs its SQL through `self._db.one/all/write`
with `self.namespace` as the first argument, and joins the caller's transaction by itself. Anything
several replicas may race for (a claim, a lease, a counter) is one statement - `INSERT ... ON CONFLICT`,
`UPDATE ... WHERE <condition> RETURNING`, or `SELECT ... FOR UPDATE SKIP LOCKED` inside an `UPDATE` -
and gets a test with eight stores on separate connections racing for it (test_store.py).
"""

from __future__ import annotations

import contextvars
import dataclasses
import json
import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg_pool import ConnectionPool

from ..fixtures import Fixtures
from ..namespace_catalog import NamespaceRecord, key_digest
from ..records import (
    PENDING,
    SENDING,
    AssessmentRecord,
    DeliveryRecord,
    IdempotencyRecord,
    IdempotencyScope,
    Rehearsal,
    RunRecord,
    ServiceRecord,
    VendorRecord,
    WebhookRecord,
    assessment_from_json,
    delivery_from_json,
    dumps,
    record_to_json,
    rehearsal_from_json,
    run_from_json,
    service_from_json,
    vendor_from_json,
    webhook_from_json,
)
from . import JOURNAL_LIMIT, NO_EXTERNAL_ID, ClaimResult, seed

URL_SCHEMES = ("postgresql", "postgres")
# A replica serves requests on one event-loop thread and never awaits inside a transaction, so it uses one
# connection at a time (the home connection); the others serve other threads (test clients, for one).
POOL_MIN_SIZE = 1
POOL_MAX_SIZE = 4
CONNECT_SECONDS = 15.0
# The journal is trimmed to JOURNAL_LIMIT entries every this many appends made by one process (reads only
# ever return the newest JOURNAL_LIMIT): with R replicas a namespace holds at most LIMIT + R * this rows.
JOURNAL_TRIM_EVERY = 50
# Runs listed newest first are read in batches of growing size (a page rarely needs more than the first).
RUN_BATCHES = (100, 1000, 10000)
# The mock never waits inside a transaction: one open this long (its replica hung, or its machine vanished
# without closing the connection) is ended by the server, so its row locks stop blocking other replicas.
IDLE_IN_TRANSACTION_SECONDS = 30
# A bound on the rounds of one claim: a round is lost only when another replica changed the key's row
# between the two statements of the round, so a claim that loses this many is a bug, not contention.
CLAIM_ROUNDS = 100

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (ns TEXT NOT NULL, name TEXT NOT NULL, value BIGINT NOT NULL, PRIMARY KEY (ns, name));
CREATE SEQUENCE IF NOT EXISTS run_sequence;
CREATE SEQUENCE IF NOT EXISTS write_order;
CREATE TABLE IF NOT EXISTS assessments (
    ns TEXT NOT NULL, org_id TEXT NOT NULL, id TEXT NOT NULL, created_at BIGINT NOT NULL, seed BOOLEAN NOT NULL,
    data TEXT NOT NULL, PRIMARY KEY (ns, org_id, id));
CREATE INDEX IF NOT EXISTS assessments_age ON assessments (ns, seed, created_at);
CREATE TABLE IF NOT EXISTS runs (
    ns TEXT NOT NULL, org_id TEXT NOT NULL, id TEXT NOT NULL, started_at BIGINT NOT NULL, sequence BIGINT NOT NULL,
    target_assessment_id TEXT, seed BOOLEAN NOT NULL, data TEXT NOT NULL, PRIMARY KEY (ns, org_id, id));
CREATE INDEX IF NOT EXISTS runs_order ON runs (ns, org_id, started_at, sequence);
CREATE INDEX IF NOT EXISTS runs_target ON runs (ns, org_id, target_assessment_id, sequence);
CREATE TABLE IF NOT EXISTS idempotency (
    ns TEXT NOT NULL, org_id TEXT NOT NULL, method TEXT NOT NULL, path TEXT NOT NULL, key TEXT NOT NULL,
    pending BOOLEAN NOT NULL, claimed_at BIGINT NOT NULL,
    first_used_at BIGINT, status INTEGER, body TEXT,
    PRIMARY KEY (ns, org_id, method, path, key));
CREATE INDEX IF NOT EXISTS idempotency_age ON idempotency (ns, pending, first_used_at);
CREATE TABLE IF NOT EXISTS journal (id BIGSERIAL PRIMARY KEY, ns TEXT NOT NULL, entry TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS journal_ns ON journal (ns, id);
CREATE TABLE IF NOT EXISTS vendors (
    ns TEXT NOT NULL, org_id TEXT NOT NULL, id TEXT NOT NULL, external_id TEXT NOT NULL, data TEXT NOT NULL,
    written BIGINT NOT NULL DEFAULT nextval('write_order'), PRIMARY KEY (ns, org_id, id));
CREATE INDEX IF NOT EXISTS vendors_external ON vendors (ns, org_id, external_id, written);
CREATE TABLE IF NOT EXISTS assessment_index (
    ns TEXT NOT NULL, org_id TEXT NOT NULL, id TEXT NOT NULL, external_id TEXT, next_event_at BIGINT,
    PRIMARY KEY (ns, org_id, id));
CREATE INDEX IF NOT EXISTS assessment_events ON assessment_index (ns, next_event_at);
CREATE INDEX IF NOT EXISTS assessment_external ON assessment_index (ns, org_id, external_id);
CREATE TABLE IF NOT EXISTS services (
    ns TEXT NOT NULL, org_id TEXT NOT NULL, vendor_id TEXT NOT NULL, id TEXT NOT NULL, external_id TEXT,
    sequence BIGINT NOT NULL, data TEXT NOT NULL, PRIMARY KEY (ns, org_id, id));
CREATE INDEX IF NOT EXISTS services_vendor ON services (ns, org_id, vendor_id, sequence);
CREATE INDEX IF NOT EXISTS services_external ON services (ns, org_id, external_id);
CREATE TABLE IF NOT EXISTS webhooks (
    ns TEXT NOT NULL, org_id TEXT NOT NULL, id TEXT NOT NULL, sequence BIGINT NOT NULL, data TEXT NOT NULL,
    PRIMARY KEY (ns, org_id, id));
CREATE TABLE IF NOT EXISTS deliveries (
    ns TEXT NOT NULL, id TEXT NOT NULL, org_id TEXT NOT NULL, webhook_id TEXT NOT NULL, sequence BIGINT NOT NULL,
    status TEXT NOT NULL, due_at BIGINT NOT NULL, claimed_by TEXT, lease_until BIGINT, created_at BIGINT NOT NULL,
    data TEXT NOT NULL, PRIMARY KEY (ns, id));
CREATE INDEX IF NOT EXISTS deliveries_open ON deliveries (ns, status, due_at);
CREATE INDEX IF NOT EXISTS deliveries_hook ON deliveries (ns, org_id, webhook_id, sequence);
CREATE TABLE IF NOT EXISTS rehearsals (
    seq BIGSERIAL PRIMARY KEY, ns TEXT NOT NULL, id TEXT NOT NULL, data TEXT NOT NULL, remaining INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS rehearsals_ns ON rehearsals (ns, seq);
CREATE TABLE IF NOT EXISTS namespaces (
    id TEXT PRIMARY KEY, created_at BIGINT NOT NULL, ttl_seconds BIGINT NOT NULL, last_used_at BIGINT NOT NULL,
    keys TEXT NOT NULL, fixtures TEXT);
CREATE TABLE IF NOT EXISTS namespace_keys (digest TEXT PRIMARY KEY, ns TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS namespace_keys_ns ON namespace_keys (ns)
"""
TABLES = (
    "meta",
    "assessments",
    "assessment_index",
    "runs",
    "idempotency",
    "journal",
    "vendors",
    "services",
    "webhooks",
    "deliveries",
    "rehearsals",
)
SCOPE_WHERE = "ns = %s AND org_id = %s AND method = %s AND path = %s AND key = %s"


class DatabaseUnavailable(RuntimeError):
    """The database cannot be reached or used at start-up (the message names it, without its password)."""


def is_url(state: str) -> bool:
    """Whether a `--state` value names a PostgreSQL database rather than a SQLite file."""
    return urlsplit(state).scheme in URL_SCHEMES


def redacted(url: str) -> str:
    """The URL without its password, for banners and logs."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    user = f"{parts.username}:***@" if parts.username else ":***@"
    return urlunsplit(parts._replace(netloc=user + host))


def _configure(connection: psycopg.Connection[Any]) -> None:
    """Every pooled connection, once: see IDLE_IN_TRANSACTION_SECONDS."""
    connection.execute(f"SET idle_in_transaction_session_timeout = '{IDLE_IN_TRANSACTION_SECONDS}s'")


class _Lease:
    """A connection and a cursor kept with it (a new cursor per statement costs about as much as the statement)."""

    __slots__ = ("connection", "cursor")

    def __init__(self, connection: psycopg.Connection[Any]) -> None:
        self.connection = connection
        self.cursor = connection.cursor()


class PostgresDatabase:
    """One connection pool per process: shared by the stores of every namespace and by the catalog.

    One connection, the home connection, is kept out of the pool while it works: whichever thread finds it
    free uses it (in a replica, the event loop's thread, which runs one statement or transaction at a time);
    a thread that finds it busy takes one from the pool. A broken home connection is handed back (the pool
    discards it) and replaced at its next use.
    """

    def __init__(self, url: str, *, max_size: int = POOL_MAX_SIZE, connect_seconds: float = CONNECT_SECONDS) -> None:
        self.url = url
        try:
            # One plain connection first: its error (refused, unknown database, authentication) is the clear one.
            psycopg.connect(url, connect_timeout=max(1, round(connect_seconds))).close()
        except psycopg.Error as exc:
            raise DatabaseUnavailable(f"cannot use the PostgreSQL database {redacted(url)}: {exc}") from exc
        # The connection of the transaction in progress in this thread / task (None outside one).
        self._held: contextvars.ContextVar[_Lease | None] = contextvars.ContextVar(
            f"coverbase_mock_pg_{id(self)}", default=None
        )
        # Values read once per request or transaction (see `pinned`); None outside both.
        self._pins: contextvars.ContextVar[dict[tuple[str, str], Any] | None] = contextvars.ContextVar(
            f"coverbase_mock_pg_pins_{id(self)}", default=None
        )
        self.pool: ConnectionPool[psycopg.Connection[Any]] = ConnectionPool(
            url,
            min_size=POOL_MIN_SIZE,
            max_size=max(max_size, POOL_MIN_SIZE),
            kwargs={"autocommit": True},
            configure=_configure,
            open=False,
            name="coverbase-mock",
            timeout=connect_seconds,
        )
        self._home: _Lease | None = None
        self._home_lock = threading.Lock()
        self.pool.open(wait=True, timeout=connect_seconds)
        try:
            with self.transaction() as db:
                # Replicas starting together: one creates the tables, the others wait and find them.
                db.execute(
                    "SELECT pg_advisory_xact_lock(hashtextextended('coverbase-mock schema/' || current_schema(), 0))"
                )
                for statement in SCHEMA.split(";"):
                    if statement.strip():
                        db.execute(statement)
        except BaseException:
            self.pool.close()
            raise

    @contextmanager
    def _lease(self) -> Iterator[_Lease]:
        """The home connection if it is free, else a pooled one: for one statement or one transaction."""
        if not self._home_lock.acquire(blocking=False):
            with self.pool.connection() as connection:
                yield _Lease(connection)
            return
        try:
            home = self._home
            if home is None or home.connection.closed or home.connection.broken:
                if home is not None:
                    self.pool.putconn(home.connection)
                home = self._home = _Lease(self.pool.getconn())
            yield home
        finally:
            self._home_lock.release()

    @contextmanager
    def transaction(self) -> Iterator[psycopg.Connection[Any]]:
        """The outermost call holds one connection in a transaction; nested calls join it."""
        held = self._held.get()
        if held is not None:
            yield held.connection
            return
        with self.pinned() as pins, self._lease() as lease:
            token = self._held.set(lease)
            try:
                with lease.connection.transaction():
                    yield lease.connection
            except BaseException:
                pins.clear()  # they may hold values written by the rolled-back transaction
                raise
            finally:
                self._held.reset(token)

    @contextmanager
    def _cursor(self) -> Iterator[psycopg.Cursor[Any]]:
        """For one statement: the transaction's cursor, else the home or a pooled connection's, in autocommit."""
        held = self._held.get()
        if held is not None:
            yield held.cursor
            return
        with self._lease() as lease:
            yield lease.cursor

    @contextmanager
    def pinned(self) -> Iterator[dict[tuple[str, str], Any]]:
        """A scope (one request, or one transaction) in which values read on almost every call - the clock
        offset, whether rehearsals are armed - are read once. A change made meanwhile by another replica is
        then ordered after the scope; a change made inside it is seen at once (`remember`)."""
        pins = self._pins.get()
        if pins is not None:
            yield pins
            return
        pins = {}
        token = self._pins.set(pins)
        try:
            yield pins
        finally:
            self._pins.reset(token)

    def cached(self, key: tuple[str, str]) -> Any:
        """The value pinned for `key` in this scope (None outside one, or not read yet)."""
        pins = self._pins.get()
        return None if pins is None else pins.get(key)

    def remember(self, key: tuple[str, str], value: Any) -> None:
        """Inside a scope, what `cached` answers for `key` from now on (None: read it again)."""
        pins = self._pins.get()
        if pins is not None:
            if value is None:
                pins.pop(key, None)
            else:
                pins[key] = value

    def one(self, sql: str, args: tuple[Any, ...] = ()) -> Any:
        with self._cursor() as cursor:
            return cursor.execute(sql, args).fetchone()

    def all(self, sql: str, args: tuple[Any, ...] = ()) -> list[Any]:
        with self._cursor() as cursor:
            return cursor.execute(sql, args).fetchall()

    def write(self, sql: str, args: tuple[Any, ...] = ()) -> int:
        """Runs a statement; returns the number of rows it changed."""
        with self._cursor() as cursor:
            return cursor.execute(sql, args).rowcount

    def lock_namespace(self, namespace: str) -> None:
        """Inside a transaction: wait for, then hold until commit, the lock of one namespace (seed, reset, drop)."""
        self.one(
            "SELECT pg_advisory_xact_lock(hashtextextended('coverbase-mock ns/' || current_schema() || '/' || %s, 0))",
            (namespace,),
        )

    def open_store(self, fixtures: Fixtures, namespace: str) -> PostgresStore:
        return PostgresStore(self, fixtures, namespace)

    def catalog(self) -> PostgresCatalog:
        return PostgresCatalog(self)

    def reclaim(self) -> int:
        """Nothing to do: PostgreSQL's autovacuum reuses the space of deleted rows."""
        return 0

    def close(self) -> None:
        with self._home_lock:
            if self._home is not None:
                self.pool.putconn(self._home.connection)
                self._home = None
        self.pool.close()


def _scope_args(namespace: str, scope: IdempotencyScope) -> tuple[str, str, str, str, str]:
    return namespace, scope.org_id, scope.method, scope.path, scope.key


class PostgresStore:
    """One namespace's state in a PostgreSQL database shared by every replica. Every write is committed
    before the handler answers, so an acknowledged write survives the replica that made it."""

    def __init__(self, database: PostgresDatabase | str, fixtures: Fixtures, namespace: str = "default") -> None:
        self.fixtures = fixtures
        self.namespace = namespace
        self._owns_database = not isinstance(database, PostgresDatabase)
        self.database = database if isinstance(database, PostgresDatabase) else PostgresDatabase(database)
        self._db = self.database
        self._appends = 0
        with self.transaction():
            # Replicas start together: the first to get the namespace's lock seeds, the others keep the state.
            self._db.lock_namespace(namespace)
            if self._meta("seeded") is None:
                self._fill()

    def close(self) -> None:
        if self._owns_database:
            self.database.close()

    def transaction(self) -> AbstractContextManager[Any]:
        return self.database.transaction()

    def request_scope(self) -> AbstractContextManager[Any]:
        return self.database.pinned()

    def _pin_world(self) -> tuple[int, bool]:
        """The clock offset and whether any rehearsal is armed, in one round trip, pinned for the scope."""
        offset, armed = self._db.one(
            "SELECT (SELECT value FROM meta WHERE ns = %s AND name = 'clock_offset'),"
            " EXISTS (SELECT 1 FROM rehearsals WHERE ns = %s)",
            (self.namespace, self.namespace),
        )
        self._db.remember((self.namespace, "clock_offset"), int(offset or 0))
        self._db.remember((self.namespace, "armed"), bool(armed))
        return int(offset or 0), bool(armed)

    def drop(self) -> None:
        """Delete every row of this namespace."""
        with self.transaction():
            self._db.lock_namespace(self.namespace)
            for table in TABLES:
                self._db.write(f"DELETE FROM {table} WHERE ns = %s", (self.namespace,))
            self._forget()

    def _forget(self) -> None:
        for name in ("clock_offset", "armed"):
            self._db.remember((self.namespace, name), None)

    def _meta(self, name: str) -> int | None:
        row = self._db.one("SELECT value FROM meta WHERE ns = %s AND name = %s", (self.namespace, name))
        return None if row is None else int(row[0])

    def _set_meta(self, name: str, value: int) -> None:
        self._db.write(
            "INSERT INTO meta (ns, name, value) VALUES (%s, %s, %s)"
            " ON CONFLICT (ns, name) DO UPDATE SET value = EXCLUDED.value",
            (self.namespace, name, value),
        )
        self._db.remember((self.namespace, name), value)

    def _fill(self) -> None:
        for table in TABLES:
            self._db.write(f"DELETE FROM {table} WHERE ns = %s", (self.namespace,))
        self._forget()
        self._set_meta("clock_offset", 0)
        seed(self)
        self._set_meta("seeded", 1)

    def reset(self) -> None:
        with self.transaction():
            self._db.lock_namespace(self.namespace)
            self._fill()

    def next_sequence(self) -> int:
        # A database sequence: never blocks another replica's transaction, and (like the in-memory counter)
        # a rolled-back transaction does not give its number back.
        return int(self._db.one("SELECT nextval('run_sequence')")[0])

    def get_assessment(self, org_id: str, assessment_id: str) -> AssessmentRecord | None:
        row = self._db.one(
            "SELECT data FROM assessments WHERE ns = %s AND org_id = %s AND id = %s",
            (self.namespace, org_id, assessment_id),
        )
        return None if row is None else assessment_from_json(row[0])

    def put_assessment(self, record: AssessmentRecord) -> None:
        with self.transaction():
            self._db.write(
                "INSERT INTO assessments (ns, org_id, id, created_at, seed, data) VALUES (%s, %s, %s, %s, %s, %s)"
                " ON CONFLICT (ns, org_id, id) DO UPDATE SET data = EXCLUDED.data",
                (self.namespace, record.org_id, record.id, record.created_at, record.seed, record_to_json(record)),
            )
            self._db.write(
                "INSERT INTO assessment_index (ns, org_id, id, external_id, next_event_at) VALUES (%s, %s, %s, %s, %s)"
                " ON CONFLICT (ns, org_id, id) DO UPDATE SET external_id = EXCLUDED.external_id,"
                " next_event_at = EXCLUDED.next_event_at",
                (self.namespace, record.org_id, record.id, record.external_id, record.next_event_at),
            )

    def get_run(self, org_id: str, run_id: str) -> RunRecord | None:
        row = self._db.one(
            "SELECT data FROM runs WHERE ns = %s AND org_id = %s AND id = %s", (self.namespace, org_id, run_id)
        )
        return None if row is None else run_from_json(row[0])

    def put_run(self, record: RunRecord) -> None:
        self._db.write(
            "INSERT INTO runs (ns, org_id, id, started_at, sequence, target_assessment_id, seed, data)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s, %s)"
            " ON CONFLICT (ns, org_id, id) DO UPDATE SET started_at = EXCLUDED.started_at,"
            " sequence = EXCLUDED.sequence, target_assessment_id = EXCLUDED.target_assessment_id, data = EXCLUDED.data",
            (
                self.namespace,
                record.org_id,
                record.workflow_run_id,
                record.started_at,
                record.sequence,
                record.target_assessment_id,
                record.snapshot_json is not None,  # a fixture run: kept by the retention policy
                record_to_json(record),
            ),
        )

    def purge_older_than(self, cutoff: int) -> int:
        with self.transaction():
            runs = self._db.write(
                "DELETE FROM runs WHERE ns = %s AND NOT seed AND started_at < %s", (self.namespace, cutoff)
            )
            self._db.write(
                "DELETE FROM assessment_index WHERE ns = %s AND id IN"
                " (SELECT id FROM assessments WHERE ns = %s AND NOT seed AND created_at < %s)",
                (self.namespace, self.namespace, cutoff),
            )
            assessments = self._db.write(
                "DELETE FROM assessments WHERE ns = %s AND NOT seed AND created_at < %s", (self.namespace, cutoff)
            )
        return runs + assessments

    def runs_newest_first(self, org_id: str) -> Iterator[RunRecord]:
        rows = self._db.all(
            "SELECT started_at, sequence, data FROM runs WHERE ns = %s AND org_id = %s"
            " ORDER BY started_at DESC, sequence DESC LIMIT %s",
            (self.namespace, org_id, RUN_BATCHES[0]),
        )
        batch = 0
        while True:
            for _, _, data in rows:
                yield run_from_json(data)
            if len(rows) < RUN_BATCHES[batch]:
                return
            batch = min(batch + 1, len(RUN_BATCHES) - 1)
            started_at, sequence, _ = rows[-1]
            # Keyset: the next batch starts strictly after the last run handed out.
            rows = self._db.all(
                "SELECT started_at, sequence, data FROM runs WHERE ns = %s AND org_id = %s"
                " AND (started_at, sequence) < (%s, %s) ORDER BY started_at DESC, sequence DESC LIMIT %s",
                (self.namespace, org_id, started_at, sequence, RUN_BATCHES[batch]),
            )

    def run_count(self, org_id: str) -> int:
        return int(self._db.one("SELECT COUNT(*) FROM runs WHERE ns = %s AND org_id = %s", (self.namespace, org_id))[0])

    def runs_for_assessment(self, org_id: str, assessment_id: str) -> list[RunRecord]:
        rows = self._db.all(
            "SELECT data FROM runs WHERE ns = %s AND org_id = %s AND target_assessment_id = %s ORDER BY sequence",
            (self.namespace, org_id, assessment_id),
        )
        return [run_from_json(data) for (data,) in rows]

    def get_vendor(self, org_id: str, vendor_id: str) -> VendorRecord | None:
        row = self._db.one(
            "SELECT data FROM vendors WHERE ns = %s AND org_id = %s AND id = %s", (self.namespace, org_id, vendor_id)
        )
        return None if row is None else vendor_from_json(row[0])

    def vendor_by_external_id(self, org_id: str, external_id: str) -> VendorRecord | None:
        if external_id == NO_EXTERNAL_ID:
            return None
        row = self._db.one(
            "SELECT data FROM vendors WHERE ns = %s AND org_id = %s AND external_id = %s ORDER BY written DESC LIMIT 1",
            (self.namespace, org_id, external_id),
        )
        return None if row is None else vendor_from_json(row[0])

    def put_vendor(self, record: VendorRecord) -> None:
        self._db.write(
            "INSERT INTO vendors (ns, org_id, id, external_id, data) VALUES (%s, %s, %s, %s, %s)"
            " ON CONFLICT (ns, org_id, id) DO UPDATE SET external_id = EXCLUDED.external_id, data = EXCLUDED.data,"
            " written = nextval('write_order')",
            (
                self.namespace,
                record.org_id,
                record.id,
                record.external_id if record.external_id is not None else NO_EXTERNAL_ID,
                record_to_json(record),
            ),
        )

    def assessment_by_external_id(self, org_id: str, external_id: str) -> AssessmentRecord | None:
        row = self._db.one(
            "SELECT a.data FROM assessment_index i JOIN assessments a ON a.ns = i.ns AND a.org_id = i.org_id"
            " AND a.id = i.id WHERE i.ns = %s AND i.org_id = %s AND i.external_id = %s",
            (self.namespace, org_id, external_id),
        )
        return None if row is None else assessment_from_json(row[0])

    def assessments_with_events_due(self, now: int, limit: int) -> list[AssessmentRecord]:
        rows = self._db.all(
            "SELECT a.data FROM assessment_index i JOIN assessments a ON a.ns = i.ns AND a.org_id = i.org_id"
            " AND a.id = i.id WHERE i.ns = %s AND i.next_event_at IS NOT NULL AND i.next_event_at <= %s"
            # Replicas publishing at once each take other assessments (see publish_status_changes): a change is
            # published once.
            " ORDER BY i.next_event_at, i.org_id, i.id LIMIT %s FOR UPDATE OF i SKIP LOCKED",
            (self.namespace, now, limit),
        )
        return [assessment_from_json(data) for (data,) in rows]

    def vendors_newest_first(self, org_id: str) -> list[VendorRecord]:
        rows = self._db.all("SELECT data FROM vendors WHERE ns = %s AND org_id = %s", (self.namespace, org_id))
        vendors = [vendor_from_json(data) for (data,) in rows]
        return sorted(vendors, key=lambda v: (v.created_at, v.sequence), reverse=True)

    def put_service(self, record: ServiceRecord) -> None:
        self._db.write(
            "INSERT INTO services (ns, org_id, vendor_id, id, external_id, sequence, data)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s) ON CONFLICT (ns, org_id, id) DO UPDATE SET"
            " vendor_id = EXCLUDED.vendor_id, external_id = EXCLUDED.external_id, sequence = EXCLUDED.sequence,"
            " data = EXCLUDED.data",
            (
                self.namespace,
                record.org_id,
                record.vendor_id,
                record.id,
                record.external_id,
                record.sequence,
                record_to_json(record),
            ),
        )

    def get_service(self, org_id: str, service_id: str) -> ServiceRecord | None:
        row = self._db.one(
            "SELECT data FROM services WHERE ns = %s AND org_id = %s AND id = %s", (self.namespace, org_id, service_id)
        )
        return None if row is None else service_from_json(row[0])

    def service_by_external_id(self, org_id: str, external_id: str) -> ServiceRecord | None:
        row = self._db.one(
            "SELECT data FROM services WHERE ns = %s AND org_id = %s AND external_id = %s"
            " ORDER BY sequence DESC LIMIT 1",
            (self.namespace, org_id, external_id),
        )
        return None if row is None else service_from_json(row[0])

    def services_of(self, org_id: str, vendor_id: str) -> list[ServiceRecord]:
        rows = self._db.all(
            "SELECT data FROM services WHERE ns = %s AND org_id = %s AND vendor_id = %s ORDER BY sequence",
            (self.namespace, org_id, vendor_id),
        )
        return [service_from_json(data) for (data,) in rows]

    def put_webhook(self, record: WebhookRecord) -> None:
        self._db.write(
            "INSERT INTO webhooks (ns, org_id, id, sequence, data) VALUES (%s, %s, %s, %s, %s)"
            " ON CONFLICT (ns, org_id, id) DO UPDATE SET sequence = EXCLUDED.sequence, data = EXCLUDED.data",
            (self.namespace, record.org_id, record.id, record.sequence, record_to_json(record)),
        )

    def get_webhook(self, org_id: str, webhook_id: str) -> WebhookRecord | None:
        row = self._db.one(
            "SELECT data FROM webhooks WHERE ns = %s AND org_id = %s AND id = %s", (self.namespace, org_id, webhook_id)
        )
        return None if row is None else webhook_from_json(row[0])

    def webhooks(self, org_id: str | None = None) -> list[WebhookRecord]:
        if org_id is None:
            rows = self._db.all("SELECT data FROM webhooks WHERE ns = %s ORDER BY sequence", (self.namespace,))
        else:
            rows = self._db.all(
                "SELECT data FROM webhooks WHERE ns = %s AND org_id = %s ORDER BY sequence", (self.namespace, org_id)
            )
        return [webhook_from_json(data) for (data,) in rows]

    def _put_delivery(self, record: DeliveryRecord) -> None:
        self._db.write(
            "INSERT INTO deliveries"
            " (ns, id, org_id, webhook_id, sequence, status, due_at, claimed_by, lease_until, created_at, data)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT (ns, id) DO UPDATE SET"
            " status = EXCLUDED.status, due_at = EXCLUDED.due_at, claimed_by = EXCLUDED.claimed_by,"
            " lease_until = EXCLUDED.lease_until, data = EXCLUDED.data",
            (
                self.namespace,
                record.id,
                record.org_id,
                record.webhook_id,
                record.sequence,
                record.status,
                record.due_at,
                record.claimed_by,
                record.lease_until,
                record.created_at,
                record_to_json(record),
            ),
        )

    def add_delivery(self, record: DeliveryRecord) -> None:
        self._put_delivery(record)

    def deliveries(self, org_id: str | None = None, webhook_id: str | None = None) -> list[DeliveryRecord]:
        sql, args = "SELECT data FROM deliveries WHERE ns = %s", [self.namespace]
        if org_id is not None:
            sql, args = sql + " AND org_id = %s", [*args, org_id]
        if webhook_id is not None:
            sql, args = sql + " AND webhook_id = %s", [*args, webhook_id]
        rows = self._db.all(sql + " ORDER BY sequence", tuple(args))
        return [delivery_from_json(data) for (data,) in rows]

    def claim_due_deliveries(
        self, due_by: int, claimer: str, held_until: int, stale_before: int, limit: int
    ) -> list[DeliveryRecord]:
        # FOR UPDATE SKIP LOCKED: replicas claiming at once each take other rows; a row another replica claimed
        # and committed meanwhile is re-checked against the condition (READ COMMITTED) and left out.
        with self.transaction():
            rows = self._db.all(
                "SELECT data FROM deliveries WHERE ns = %s AND ((status = %s AND due_at <= %s)"
                " OR (status = %s AND lease_until < %s)) ORDER BY due_at, sequence LIMIT %s FOR UPDATE SKIP LOCKED",
                (self.namespace, PENDING, due_by, SENDING, stale_before, limit),
            )
            claimed = []
            for (data,) in rows:
                taken = dataclasses.replace(
                    delivery_from_json(data), status=SENDING, claimed_by=claimer, lease_until=held_until
                )
                self._put_delivery(taken)
                claimed.append(taken)
        return claimed

    def purge_deliveries(self, created_before: int) -> int:
        return self._db.write(
            "DELETE FROM deliveries WHERE ns = %s AND status NOT IN (%s, %s) AND created_at < %s",
            (self.namespace, PENDING, SENDING, created_before),
        )

    def finish_delivery(self, record: DeliveryRecord, retry: DeliveryRecord | None) -> bool:
        with self.transaction():
            row = self._db.one(
                "SELECT status, claimed_by FROM deliveries WHERE ns = %s AND id = %s FOR UPDATE",
                (self.namespace, record.id),
            )
            if row is None or row[0] != SENDING or row[1] != record.claimed_by:
                return False
            self._put_delivery(record)
            if retry is not None:
                self._put_delivery(retry)
        return True

    def idempotency_get(self, scope: IdempotencyScope) -> IdempotencyRecord | None:
        row = self._db.one(
            f"SELECT first_used_at, status, body FROM idempotency WHERE {SCOPE_WHERE} AND NOT pending",
            _scope_args(self.namespace, scope),
        )
        return None if row is None else IdempotencyRecord(int(row[0]), int(row[1]), str(row[2]))

    def idempotency_put(self, scope: IdempotencyScope, record: IdempotencyRecord) -> None:
        self._db.write(
            "INSERT INTO idempotency (ns, org_id, method, path, key, pending, claimed_at, first_used_at, status, body)"
            " VALUES (%s, %s, %s, %s, %s, false, 0, %s, %s, %s)"
            " ON CONFLICT (ns, org_id, method, path, key) DO UPDATE SET pending = false, claimed_at = 0,"
            " first_used_at = EXCLUDED.first_used_at, status = EXCLUDED.status, body = EXCLUDED.body",
            (*_scope_args(self.namespace, scope), record.first_used_at, record.status, record.body),
        )

    def idempotency_claim(
        self, scope: IdempotencyScope, live_from: int, claimed_at: int, stale_before: int
    ) -> ClaimResult:
        """Each step is one atomic statement, so no replica can take a key another one holds: a new key is
        taken by an insert that conflicts for everybody else; a stale claim or an expired outcome is taken by
        an update whose condition a concurrent taker re-checks (and fails) after the first one commits."""
        where = _scope_args(self.namespace, scope)
        for _ in range(CLAIM_ROUNDS):
            # The insert and a look at the existing row in one round trip. The look uses the statement's
            # snapshot: a row committed by a concurrent claim while the insert waited is not seen (None):
            # the next round sees it.
            taken, pending, claimed, first_used_at, status, body = self._db.one(
                "WITH taken AS (INSERT INTO idempotency (ns, org_id, method, path, key, pending, claimed_at)"
                " VALUES (%s, %s, %s, %s, %s, true, %s) ON CONFLICT DO NOTHING RETURNING 1)"
                " SELECT EXISTS (SELECT 1 FROM taken), i.pending, i.claimed_at, i.first_used_at, i.status, i.body"
                " FROM (SELECT 1) AS one LEFT JOIN idempotency AS i ON i.ns = %s AND i.org_id = %s AND i.method = %s"
                " AND i.path = %s AND i.key = %s",
                (*where, claimed_at, *where),
            )
            if taken:
                return "claimed"
            if pending is None:
                continue  # released or committed concurrently: look again
            if not pending and first_used_at >= live_from:
                return IdempotencyRecord(int(first_used_at), int(status), str(body))
            if pending and claimed >= stale_before:
                return "busy"
            changed = self._db.write(
                "UPDATE idempotency SET pending = true, claimed_at = %s, first_used_at = NULL, status = NULL,"
                f" body = NULL WHERE {SCOPE_WHERE}"
                " AND ((pending AND claimed_at < %s) OR (NOT pending AND first_used_at < %s))",
                (claimed_at, *where, stale_before, live_from),
            )
            if changed:
                return "claimed"
        raise RuntimeError(f"idempotency key still contended after {CLAIM_ROUNDS} rounds")

    def idempotency_release(self, scope: IdempotencyScope) -> None:
        self._db.write(f"DELETE FROM idempotency WHERE {SCOPE_WHERE} AND pending", _scope_args(self.namespace, scope))

    def idempotency_purge(self, expired_before: int) -> int:
        return self._db.write(
            "DELETE FROM idempotency WHERE ns = %s AND NOT pending AND first_used_at < %s",
            (self.namespace, expired_before),
        )

    def idempotency_count(self) -> int:
        return int(self._db.one("SELECT COUNT(*) FROM idempotency WHERE ns = %s AND NOT pending", (self.namespace,))[0])

    def journal_append(self, entry: dict[str, Any]) -> None:
        self._db.write("INSERT INTO journal (ns, entry) VALUES (%s, %s)", (self.namespace, dumps(entry)))
        if self._appends % JOURNAL_TRIM_EVERY == 0:
            self._db.write(
                "DELETE FROM journal WHERE ns = %s AND id < (SELECT id FROM journal WHERE ns = %s ORDER BY id DESC"
                " OFFSET %s LIMIT 1)",
                (self.namespace, self.namespace, JOURNAL_LIMIT - 1),
            )
        self._appends += 1

    def journal(self) -> list[dict[str, Any]]:
        rows = self._db.all(
            "SELECT entry FROM (SELECT id, entry FROM journal WHERE ns = %s ORDER BY id DESC LIMIT %s) AS newest"
            " ORDER BY id",
            (self.namespace, JOURNAL_LIMIT),
        )
        return [json.loads(text) for (text,) in rows]

    def journal_clear(self) -> None:
        self._db.write("DELETE FROM journal WHERE ns = %s", (self.namespace,))

    def rehearsal_add(self, rehearsal: Rehearsal) -> None:
        self._db.write(
            "INSERT INTO rehearsals (ns, id, data, remaining) VALUES (%s, %s, %s, %s)",
            (self.namespace, rehearsal.id, record_to_json(rehearsal), rehearsal.remaining),
        )
        self._db.remember((self.namespace, "armed"), True)

    def _armed(self, lock: bool) -> list[tuple[int, Rehearsal]]:
        rows = self._db.all(
            "SELECT seq, data, remaining FROM rehearsals WHERE ns = %s ORDER BY seq" + (" FOR UPDATE" if lock else ""),
            (self.namespace,),
        )
        return [
            (int(seq), dataclasses.replace(rehearsal_from_json(data), remaining=int(left))) for seq, data, left in rows
        ]

    def rehearsal_take(self, kind: str, operation_id: str | None, workflow_name: str | None) -> Rehearsal | None:
        # Asked two or three times on every API request, and almost always nothing is armed: the scope's
        # pinned answer, else a plain read, settles that.
        armed = self._db.cached((self.namespace, "armed"))
        if armed is None:
            armed = self._pin_world()[1]
        if not armed:
            return None
        if not any(r.matches(kind, operation_id, workflow_name) for _, r in self._armed(lock=False)):
            return None
        with self.transaction():
            # Locked: a replica taking the same rehearsal waits, then sees the use gone.
            for seq, armed in self._armed(lock=True):
                if not armed.matches(kind, operation_id, workflow_name):
                    continue
                taken = dataclasses.replace(armed, remaining=armed.remaining - 1)
                if taken.remaining <= 0:
                    self._db.write("DELETE FROM rehearsals WHERE seq = %s", (seq,))
                else:
                    self._db.write(
                        "UPDATE rehearsals SET remaining = %s, data = %s WHERE seq = %s",
                        (taken.remaining, record_to_json(taken), seq),
                    )
                return taken
        return None

    def rehearsals(self) -> list[Rehearsal]:
        return [rehearsal for _, rehearsal in self._armed(lock=False)]

    def rehearsals_clear(self) -> None:
        self._db.write("DELETE FROM rehearsals WHERE ns = %s", (self.namespace,))
        self._db.remember((self.namespace, "armed"), False)

    def clock_offset(self) -> int:
        # Read on every `now()`: once per request or transaction (`pinned`); outside both, every time.
        cached = self._db.cached((self.namespace, "clock_offset"))
        return int(cached) if cached is not None else self._pin_world()[0]

    def set_clock_offset(self, offset: int) -> None:
        self._set_meta("clock_offset", offset)


class PostgresCatalog:
    """The namespaces of a PostgreSQL database: every replica sees those another one made."""

    def __init__(self, database: PostgresDatabase) -> None:
        self.database = database

    def _record(self, row: Any) -> NamespaceRecord:
        namespace_id, created_at, ttl, last_used_at, keys, fixtures = row
        return NamespaceRecord(namespace_id, int(created_at), int(ttl), int(last_used_at), json.loads(keys), fixtures)

    def add(self, record: NamespaceRecord) -> None:
        with self.database.transaction():
            self.database.write(
                "INSERT INTO namespaces (id, created_at, ttl_seconds, last_used_at, keys, fixtures)"
                " VALUES (%s, %s, %s, %s, %s, %s)",
                (
                    record.id,
                    record.created_at,
                    record.ttl_seconds,
                    record.last_used_at,
                    dumps(record.keys),
                    record.fixtures_json,
                ),
            )
            for key in record.keys.values():
                self.database.write(
                    "INSERT INTO namespace_keys (digest, ns) VALUES (%s, %s)", (key_digest(key), record.id)
                )

    def get(self, namespace_id: str) -> NamespaceRecord | None:
        row = self.database.one(
            "SELECT id, created_at, ttl_seconds, last_used_at, keys, fixtures FROM namespaces WHERE id = %s",
            (namespace_id,),
        )
        return None if row is None else self._record(row)

    def by_key_digest(self, digest: str) -> NamespaceRecord | None:
        row = self.database.one(
            "SELECT n.id, n.created_at, n.ttl_seconds, n.last_used_at, n.keys, n.fixtures"
            " FROM namespace_keys AS k JOIN namespaces AS n ON n.id = k.ns WHERE k.digest = %s",
            (digest,),
        )
        return None if row is None else self._record(row)

    def remove(self, namespace_id: str) -> bool:
        with self.database.transaction():
            self.database.write("DELETE FROM namespace_keys WHERE ns = %s", (namespace_id,))
            removed = self.database.write("DELETE FROM namespaces WHERE id = %s", (namespace_id,))
        return bool(removed)

    def all(self) -> list[NamespaceRecord]:
        rows = self.database.all("SELECT id, created_at, ttl_seconds, last_used_at, keys, fixtures FROM namespaces")
        return [self._record(row) for row in rows]

    def count(self) -> int:
        return int(self.database.one("SELECT COUNT(*) FROM namespaces")[0])

    def touch(self, namespace_id: str, at: int) -> None:
        self.database.write(
            "UPDATE namespaces SET last_used_at = GREATEST(last_used_at, %s) WHERE id = %s", (at, namespace_id)
        )
