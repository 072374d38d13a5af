"""Durable state (`--state PATH`): the store contract on an embedded SQLite database in WAL mode."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any

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
from .integrity import FINGERPRINT, fixtures_fingerprint

# Several worker processes open the same file; a writer waits this long for another's transaction.
BUSY_TIMEOUT_SECONDS = 30.0

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (ns TEXT NOT NULL, name TEXT NOT NULL, value INTEGER NOT NULL, PRIMARY KEY (ns, name));
CREATE TABLE IF NOT EXISTS assessments (
    ns TEXT NOT NULL, org_id TEXT NOT NULL, id TEXT NOT NULL, created_at INTEGER NOT NULL, seed INTEGER NOT NULL,
    data TEXT NOT NULL, PRIMARY KEY (ns, org_id, id));
CREATE INDEX IF NOT EXISTS assessments_age ON assessments (ns, seed, created_at);
CREATE TABLE IF NOT EXISTS runs (
    ns TEXT NOT NULL, org_id TEXT NOT NULL, id TEXT NOT NULL, started_at INTEGER NOT NULL, sequence INTEGER NOT NULL,
    target_assessment_id TEXT, seed INTEGER NOT NULL, data TEXT NOT NULL, PRIMARY KEY (ns, org_id, id));
CREATE INDEX IF NOT EXISTS runs_order ON runs (ns, org_id, started_at, sequence);
CREATE INDEX IF NOT EXISTS runs_target ON runs (ns, org_id, target_assessment_id, sequence);
CREATE TABLE IF NOT EXISTS idempotency (
    ns TEXT NOT NULL, org_id TEXT NOT NULL, method TEXT NOT NULL, path TEXT NOT NULL, key TEXT NOT NULL,
    pending INTEGER NOT NULL, claimed_at INTEGER NOT NULL,
    first_used_at INTEGER, status INTEGER, body TEXT,
    PRIMARY KEY (ns, org_id, method, path, key));
CREATE INDEX IF NOT EXISTS idempotency_age ON idempotency (ns, pending, first_used_at);
CREATE TABLE IF NOT EXISTS journal (id INTEGER PRIMARY KEY AUTOINCREMENT, ns TEXT NOT NULL, entry TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS journal_ns ON journal (ns, id);
CREATE TABLE IF NOT EXISTS vendors (
    ns TEXT NOT NULL, org_id TEXT NOT NULL, id TEXT NOT NULL, external_id TEXT NOT NULL, data TEXT NOT NULL,
    PRIMARY KEY (ns, org_id, id));
CREATE INDEX IF NOT EXISTS vendors_external ON vendors (ns, org_id, external_id);
CREATE TABLE IF NOT EXISTS rehearsals (
    ns TEXT NOT NULL, seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL, data TEXT NOT NULL,
    remaining INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS rehearsals_ns ON rehearsals (ns, seq);
CREATE TABLE IF NOT EXISTS namespaces (
    id TEXT PRIMARY KEY, created_at INTEGER NOT NULL, ttl_seconds INTEGER NOT NULL, last_used_at INTEGER NOT NULL,
    keys TEXT NOT NULL, fixtures TEXT);
CREATE TABLE IF NOT EXISTS namespace_keys (digest TEXT PRIMARY KEY, ns TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS assessment_index (
    ns TEXT NOT NULL, org_id TEXT NOT NULL, id TEXT NOT NULL, external_id TEXT, next_event_at INTEGER,
    PRIMARY KEY (ns, org_id, id));
CREATE INDEX IF NOT EXISTS assessment_events ON assessment_index (ns, next_event_at);
CREATE INDEX IF NOT EXISTS assessment_external ON assessment_index (ns, org_id, external_id);
CREATE TABLE IF NOT EXISTS services (
    ns TEXT NOT NULL, org_id TEXT NOT NULL, vendor_id TEXT NOT NULL, id TEXT NOT NULL, external_id TEXT,
    sequence INTEGER NOT NULL, data TEXT NOT NULL, PRIMARY KEY (ns, org_id, id));
CREATE INDEX IF NOT EXISTS services_vendor ON services (ns, org_id, vendor_id, sequence);
CREATE INDEX IF NOT EXISTS services_external ON services (ns, org_id, external_id);
CREATE TABLE IF NOT EXISTS webhooks (
    ns TEXT NOT NULL, org_id TEXT NOT NULL, id TEXT NOT NULL, sequence INTEGER NOT NULL, data TEXT NOT NULL,
    PRIMARY KEY (ns, org_id, id));
CREATE TABLE IF NOT EXISTS deliveries (
    ns TEXT NOT NULL, id TEXT NOT NULL, org_id TEXT NOT NULL, webhook_id TEXT NOT NULL, sequence INTEGER NOT NULL,
    status TEXT NOT NULL, due_at INTEGER NOT NULL, claimed_by TEXT, lease_until INTEGER, data TEXT NOT NULL,
    PRIMARY KEY (ns, id));
CREATE INDEX IF NOT EXISTS deliveries_open ON deliveries (ns, status, due_at);
CREATE INDEX IF NOT EXISTS deliveries_hook ON deliveries (ns, org_id, webhook_id, sequence);
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


def _scope_args(scope: IdempotencyScope) -> tuple[str, str, str, str]:
    return scope.org_id, scope.method, scope.path, scope.key


class SqliteDatabase:
    """One SQLite file opened once per process: shared by the stores of every namespace in it."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        # Used from whichever thread runs the event loop; the lock keeps transactions of different threads
        # (e.g. a test client's portal) from interleaving.
        self.lock = threading.RLock()
        self.connection = sqlite3.connect(
            str(self.path), timeout=BUSY_TIMEOUT_SECONDS, isolation_level=None, check_same_thread=False
        )
        # Set before the first table exists (no effect on an older file): freed pages can be given back.
        self.connection.execute("PRAGMA auto_vacuum=INCREMENTAL")
        self.connection.execute("PRAGMA journal_mode=WAL")
        # NORMAL in WAL mode: a commit survives the process being killed (the acknowledged-write promise);
        # only an OS crash or power cut could lose the last commits, which FULL would add an fsync for.
        self.connection.execute("PRAGMA synchronous=NORMAL")
        with self.transaction():
            for statement in SCHEMA.split(";"):
                if statement.strip():
                    self.connection.execute(statement)

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """BEGIN IMMEDIATE: take the write lock up front so read-then-write sequences are atomic."""
        with self.lock:
            if self.connection.in_transaction:
                yield
                return
            self.connection.execute("BEGIN IMMEDIATE")
            try:
                yield
            except BaseException:
                if self.connection.in_transaction:  # a failing write may have rolled it back already
                    self.connection.execute("ROLLBACK")
                raise
            try:
                self.connection.execute("COMMIT")
            except BaseException:
                # A failed COMMIT (disk full, I/O error) may leave the transaction open: end it, so nothing
                # of it is kept and the next transaction does not join it.
                if self.connection.in_transaction:
                    self.connection.execute("ROLLBACK")
                raise

    def open_store(self, fixtures: Fixtures, namespace: str) -> SqliteStore:
        return SqliteStore(self, fixtures, namespace)

    def catalog(self) -> SqliteCatalog:
        return SqliteCatalog(self)

    def close(self) -> None:
        with self.lock:
            self.connection.close()

    def reclaim(self, max_pages: int = 2000) -> int:
        """Give pages freed by deletions back to the file system (incremental auto-vacuum); returns how many."""
        with self.lock:
            free = int(self.connection.execute("PRAGMA freelist_count").fetchone()[0])
            if free and not self.connection.in_transaction:
                # executescript runs the pragma to completion (execute() would free one page per step).
                self.connection.executescript(f"PRAGMA incremental_vacuum({min(free, max_pages)});")
            return min(free, max_pages)


class SqliteStore:
    """One namespace's state in a SQLite database (every row carries its namespace). Every write is
    committed before the handler answers, so an acknowledged write survives SIGKILL."""

    def __init__(self, database: SqliteDatabase | Path | str, fixtures: Fixtures, namespace: str = "default") -> None:
        self.fixtures = fixtures
        self.namespace = namespace
        self._owns_database = not isinstance(database, SqliteDatabase)
        self.database = database if isinstance(database, SqliteDatabase) else SqliteDatabase(database)
        self.path = self.database.path
        self._lock = self.database.lock
        self._db = self.database.connection
        with self.transaction():
            # Workers start together: the first to get here seeds, the others (and restarts) keep the state.
            if self._meta("seeded") is None:
                self._fill()

    def close(self) -> None:
        if self._owns_database:
            self.database.close()

    def transaction(self) -> AbstractContextManager[None]:
        return self.database.transaction()

    def request_scope(self) -> AbstractContextManager[None]:
        return contextlib.nullcontext()

    def drop(self) -> None:
        """Delete every row of this namespace."""
        with self.transaction():
            for table in TABLES:
                self._db.execute(f"DELETE FROM {table} WHERE ns = ?", (self.namespace,))

    def _meta(self, name: str) -> int | None:
        row = self._db.execute("SELECT value FROM meta WHERE ns = ? AND name = ?", (self.namespace, name)).fetchone()
        return None if row is None else int(row[0])

    def _set_meta(self, name: str, value: int) -> None:
        self._db.execute(
            "INSERT OR REPLACE INTO meta (ns, name, value) VALUES (?, ?, ?)", (self.namespace, name, value)
        )

    def _fill(self) -> None:
        for table in TABLES:
            self._db.execute(f"DELETE FROM {table} WHERE ns = ?", (self.namespace,))
        self._set_meta("sequence", 0)
        self._set_meta("clock_offset", 0)
        seed(self)
        self._set_meta("seeded", 1)
        self._set_meta(FINGERPRINT, fixtures_fingerprint(self.fixtures))  # checked at start-up (integrity.py)

    def _one(self, sql: str, args: tuple[Any, ...]) -> Any:
        with self._lock:
            return self._db.execute(sql, (self.namespace, *args)).fetchone()

    def _all(self, sql: str, args: tuple[Any, ...]) -> list[Any]:
        with self._lock:
            return self._db.execute(sql, (self.namespace, *args)).fetchall()

    def _write(self, sql: str, args: tuple[Any, ...]) -> sqlite3.Cursor:
        with self._lock:
            return self._db.execute(sql, (self.namespace, *args))

    def reset(self) -> None:
        with self.transaction():
            self._fill()

    def next_sequence(self) -> int:
        # An upsert: a namespace dropped by another process meanwhile still numbers its (doomed) runs.
        row = self._one(
            "INSERT INTO meta (ns, name, value) VALUES (?, 'sequence', 1)"
            " ON CONFLICT (ns, name) DO UPDATE SET value = value + 1 RETURNING value",
            (),
        )
        return int(row[0])

    def get_assessment(self, org_id: str, assessment_id: str) -> AssessmentRecord | None:
        row = self._one("SELECT data FROM assessments WHERE ns = ? AND org_id = ? AND id = ?", (org_id, assessment_id))
        return None if row is None else assessment_from_json(row[0])

    def put_assessment(self, record: AssessmentRecord) -> None:
        with self.transaction():
            self._write(
                "INSERT OR REPLACE INTO assessments (ns, org_id, id, created_at, seed, data) VALUES (?, ?, ?, ?, ?, ?)",
                (record.org_id, record.id, record.created_at, int(record.seed), record_to_json(record)),
            )
            self._write(
                "INSERT OR REPLACE INTO assessment_index (ns, org_id, id, external_id, next_event_at)"
                " VALUES (?, ?, ?, ?, ?)",
                (record.org_id, record.id, record.external_id, record.next_event_at),
            )

    def assessment_by_external_id(self, org_id: str, external_id: str) -> AssessmentRecord | None:
        row = self._one(
            "SELECT a.data FROM assessment_index i JOIN assessments a ON a.ns = i.ns AND a.org_id = i.org_id"
            " AND a.id = i.id WHERE i.ns = ? AND i.org_id = ? AND i.external_id = ?",
            (org_id, external_id),
        )
        return None if row is None else assessment_from_json(row[0])

    def assessments_with_events_due(self, now: int, limit: int) -> list[AssessmentRecord]:
        rows = self._all(
            "SELECT a.data FROM assessment_index i JOIN assessments a ON a.ns = i.ns AND a.org_id = i.org_id"
            " AND a.id = i.id WHERE i.ns = ? AND i.next_event_at IS NOT NULL AND i.next_event_at <= ?"
            " ORDER BY i.next_event_at, i.org_id, i.id LIMIT ?",
            (now, limit),
        )
        return [assessment_from_json(data) for (data,) in rows]

    def get_run(self, org_id: str, run_id: str) -> RunRecord | None:
        row = self._one("SELECT data FROM runs WHERE ns = ? AND org_id = ? AND id = ?", (org_id, run_id))
        return None if row is None else run_from_json(row[0])

    def put_run(self, record: RunRecord) -> None:
        self._write(
            "INSERT OR REPLACE INTO runs (ns, org_id, id, started_at, sequence, target_assessment_id, seed, data)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                record.org_id,
                record.workflow_run_id,
                record.started_at,
                record.sequence,
                record.target_assessment_id,
                int(record.snapshot_json is not None),
                record_to_json(record),
            ),
        )

    def runs_newest_first(self, org_id: str) -> Iterator[RunRecord]:
        rows = self._all(
            "SELECT data FROM runs WHERE ns = ? AND org_id = ? ORDER BY started_at DESC, sequence DESC", (org_id,)
        )
        for (data,) in rows:
            yield run_from_json(data)

    def run_count(self, org_id: str) -> int:
        return int(self._one("SELECT COUNT(*) FROM runs WHERE ns = ? AND org_id = ?", (org_id,))[0])

    def runs_for_assessment(self, org_id: str, assessment_id: str) -> list[RunRecord]:
        rows = self._all(
            "SELECT data FROM runs WHERE ns = ? AND org_id = ? AND target_assessment_id = ? ORDER BY sequence",
            (org_id, assessment_id),
        )
        return [run_from_json(data) for (data,) in rows]

    def purge_older_than(self, cutoff: int) -> int:
        with self.transaction():
            runs = self._write("DELETE FROM runs WHERE ns = ? AND seed = 0 AND started_at < ?", (cutoff,)).rowcount
            self._write(
                "DELETE FROM assessment_index WHERE ns = ? AND id IN"
                " (SELECT id FROM assessments WHERE ns = ? AND seed = 0 AND created_at < ?)",
                (self.namespace, cutoff),
            )
            assessments = self._write(
                "DELETE FROM assessments WHERE ns = ? AND seed = 0 AND created_at < ?", (cutoff,)
            ).rowcount
        return int(runs) + int(assessments)

    def get_vendor(self, org_id: str, vendor_id: str) -> VendorRecord | None:
        row = self._one("SELECT data FROM vendors WHERE ns = ? AND org_id = ? AND id = ?", (org_id, vendor_id))
        return None if row is None else vendor_from_json(row[0])

    def vendor_by_external_id(self, org_id: str, external_id: str) -> VendorRecord | None:
        if external_id == NO_EXTERNAL_ID:
            return None
        row = self._one(
            "SELECT data FROM vendors WHERE ns = ? AND org_id = ? AND external_id = ? ORDER BY rowid DESC LIMIT 1",
            (org_id, external_id),
        )
        return None if row is None else vendor_from_json(row[0])

    def put_vendor(self, record: VendorRecord) -> None:
        external = record.external_id if record.external_id is not None else NO_EXTERNAL_ID
        self._write(
            "INSERT OR REPLACE INTO vendors (ns, org_id, id, external_id, data) VALUES (?, ?, ?, ?, ?)",
            (record.org_id, record.id, external, record_to_json(record)),
        )

    def vendors_newest_first(self, org_id: str) -> list[VendorRecord]:
        rows = self._all("SELECT data FROM vendors WHERE ns = ? AND org_id = ?", (org_id,))
        vendors = [vendor_from_json(data) for (data,) in rows]
        return sorted(vendors, key=lambda v: (v.created_at, v.sequence), reverse=True)

    def put_service(self, record: ServiceRecord) -> None:
        self._write(
            "INSERT OR REPLACE INTO services (ns, org_id, vendor_id, id, external_id, sequence, data)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (record.org_id, record.vendor_id, record.id, record.external_id, record.sequence, record_to_json(record)),
        )

    def get_service(self, org_id: str, service_id: str) -> ServiceRecord | None:
        row = self._one("SELECT data FROM services WHERE ns = ? AND org_id = ? AND id = ?", (org_id, service_id))
        return None if row is None else service_from_json(row[0])

    def service_by_external_id(self, org_id: str, external_id: str) -> ServiceRecord | None:
        row = self._one(
            "SELECT data FROM services WHERE ns = ? AND org_id = ? AND external_id = ? ORDER BY sequence DESC LIMIT 1",
            (org_id, external_id),
        )
        return None if row is None else service_from_json(row[0])

    def services_of(self, org_id: str, vendor_id: str) -> list[ServiceRecord]:
        rows = self._all(
            "SELECT data FROM services WHERE ns = ? AND org_id = ? AND vendor_id = ? ORDER BY sequence",
            (org_id, vendor_id),
        )
        return [service_from_json(data) for (data,) in rows]

    def put_webhook(self, record: WebhookRecord) -> None:
        self._write(
            "INSERT OR REPLACE INTO webhooks (ns, org_id, id, sequence, data) VALUES (?, ?, ?, ?, ?)",
            (record.org_id, record.id, record.sequence, record_to_json(record)),
        )

    def get_webhook(self, org_id: str, webhook_id: str) -> WebhookRecord | None:
        row = self._one("SELECT data FROM webhooks WHERE ns = ? AND org_id = ? AND id = ?", (org_id, webhook_id))
        return None if row is None else webhook_from_json(row[0])

    def webhooks(self, org_id: str | None = None) -> list[WebhookRecord]:
        if org_id is None:
            rows = self._all("SELECT data FROM webhooks WHERE ns = ? ORDER BY sequence", ())
        else:
            rows = self._all("SELECT data FROM webhooks WHERE ns = ? AND org_id = ? ORDER BY sequence", (org_id,))
        return [webhook_from_json(data) for (data,) in rows]

    def _put_delivery(self, record: DeliveryRecord) -> None:
        self._write(
            "INSERT OR REPLACE INTO deliveries"
            " (ns, id, org_id, webhook_id, sequence, status, due_at, claimed_by, lease_until, data)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                record.id,
                record.org_id,
                record.webhook_id,
                record.sequence,
                record.status,
                record.due_at,
                record.claimed_by,
                record.lease_until,
                record_to_json(record),
            ),
        )

    def add_delivery(self, record: DeliveryRecord) -> None:
        self._put_delivery(record)

    def deliveries(self, org_id: str | None = None, webhook_id: str | None = None) -> list[DeliveryRecord]:
        sql, args = "SELECT data FROM deliveries WHERE ns = ?", list[str]()
        if org_id is not None:
            sql, args = sql + " AND org_id = ?", [*args, org_id]
        if webhook_id is not None:
            sql, args = sql + " AND webhook_id = ?", [*args, webhook_id]
        rows = self._all(sql + " ORDER BY sequence", tuple(args))
        return [delivery_from_json(data) for (data,) in rows]

    def claim_due_deliveries(
        self, due_by: int, claimer: str, held_until: int, stale_before: int, limit: int
    ) -> list[DeliveryRecord]:
        # BEGIN IMMEDIATE holds the write lock from the read to the claim: no other process claims the same rows.
        with self.transaction():
            rows = self._all(
                "SELECT data FROM deliveries WHERE ns = ? AND ((status = ? AND due_at <= ?)"
                " OR (status = ? AND lease_until < ?)) ORDER BY due_at, sequence LIMIT ?",
                (PENDING, due_by, SENDING, stale_before, limit),
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
        cursor = self._write(
            "DELETE FROM deliveries WHERE ns = ? AND status NOT IN (?, ?)"
            " AND CAST(json_extract(data, '$.created_at') AS INTEGER) < ?",
            (PENDING, SENDING, created_before),
        )
        return int(cursor.rowcount)

    def finish_delivery(self, record: DeliveryRecord, retry: DeliveryRecord | None) -> bool:
        with self.transaction():
            row = self._one("SELECT status, claimed_by FROM deliveries WHERE ns = ? AND id = ?", (record.id,))
            if row is None or row[0] != SENDING or row[1] != record.claimed_by:
                return False
            self._put_delivery(record)
            if retry is not None:
                self._put_delivery(retry)
        return True

    def idempotency_get(self, scope: IdempotencyScope) -> IdempotencyRecord | None:
        row = self._one(
            "SELECT first_used_at, status, body FROM idempotency"
            " WHERE ns = ? AND org_id = ? AND method = ? AND path = ? AND key = ? AND pending = 0",
            _scope_args(scope),
        )
        return None if row is None else IdempotencyRecord(int(row[0]), int(row[1]), str(row[2]))

    def idempotency_put(self, scope: IdempotencyScope, record: IdempotencyRecord) -> None:
        self._write(
            "INSERT OR REPLACE INTO idempotency"
            " (ns, org_id, method, path, key, pending, claimed_at, first_used_at, status, body)"
            " VALUES (?, ?, ?, ?, ?, 0, 0, ?, ?, ?)",
            (*_scope_args(scope), record.first_used_at, record.status, record.body),
        )

    def idempotency_claim(
        self, scope: IdempotencyScope, live_from: int, claimed_at: int, stale_before: int
    ) -> ClaimResult:
        # The write lock of BEGIN IMMEDIATE makes check-and-claim one step across every worker process.
        with self.transaction():
            row = self._one(
                "SELECT pending, claimed_at, first_used_at, status, body FROM idempotency"
                " WHERE ns = ? AND org_id = ? AND method = ? AND path = ? AND key = ?",
                _scope_args(scope),
            )
            if row is not None:
                pending, claimed, first_used_at, status, body = row
                if not pending and first_used_at >= live_from:
                    return IdempotencyRecord(int(first_used_at), int(status), str(body))
                if pending and claimed >= stale_before:
                    return "busy"
            self._write(
                "INSERT OR REPLACE INTO idempotency (ns, org_id, method, path, key, pending, claimed_at)"
                " VALUES (?, ?, ?, ?, ?, 1, ?)",
                (*_scope_args(scope), claimed_at),
            )
        return "claimed"

    def idempotency_release(self, scope: IdempotencyScope) -> None:
        self._write(
            "DELETE FROM idempotency"
            " WHERE ns = ? AND org_id = ? AND method = ? AND path = ? AND key = ? AND pending = 1",
            _scope_args(scope),
        )

    def idempotency_purge(self, expired_before: int) -> int:
        cursor = self._write(
            "DELETE FROM idempotency WHERE ns = ? AND pending = 0 AND first_used_at < ?", (expired_before,)
        )
        return int(cursor.rowcount)

    def idempotency_count(self) -> int:
        return int(self._one("SELECT COUNT(*) FROM idempotency WHERE ns = ? AND pending = 0", ())[0])

    def journal_append(self, entry: dict[str, Any]) -> None:
        with self.transaction():
            self._write("INSERT INTO journal (ns, entry) VALUES (?, ?)", (dumps(entry),))
            # Bounded per namespace: keep the newest JOURNAL_LIMIT entries.
            self._write(
                "DELETE FROM journal WHERE ns = ? AND id < (SELECT id FROM journal WHERE ns = ? ORDER BY id DESC"
                " LIMIT 1 OFFSET ?)",
                (self.namespace, JOURNAL_LIMIT - 1),
            )

    def journal(self) -> list[dict[str, Any]]:
        rows = self._all("SELECT entry FROM journal WHERE ns = ? ORDER BY id", ())
        return [json.loads(text) for (text,) in rows]

    def journal_clear(self) -> None:
        self._write("DELETE FROM journal WHERE ns = ?", ())

    def rehearsal_add(self, rehearsal: Rehearsal) -> None:
        self._write(
            "INSERT INTO rehearsals (ns, id, data, remaining) VALUES (?, ?, ?, ?)",
            (rehearsal.id, record_to_json(rehearsal), rehearsal.remaining),
        )

    def rehearsal_take(self, kind: str, operation_id: str | None, workflow_name: str | None) -> Rehearsal | None:
        with self.transaction():
            rows = self._all("SELECT seq, data, remaining FROM rehearsals WHERE ns = ? ORDER BY seq", ())
            for seq, data, remaining in rows:
                armed = rehearsal_from_json(data)
                if not armed.matches(kind, operation_id, workflow_name):
                    continue
                taken = dataclasses.replace(armed, remaining=int(remaining) - 1)
                if taken.remaining <= 0:
                    self._write("DELETE FROM rehearsals WHERE ns = ? AND seq = ?", (seq,))
                else:
                    self._db.execute(
                        "UPDATE rehearsals SET remaining = ?, data = ? WHERE seq = ?",
                        (taken.remaining, record_to_json(taken), seq),
                    )
                return taken
        return None

    def rehearsals(self) -> list[Rehearsal]:
        rows = self._all("SELECT data FROM rehearsals WHERE ns = ? ORDER BY seq", ())
        return [rehearsal_from_json(data) for (data,) in rows]

    def rehearsals_clear(self) -> None:
        self._write("DELETE FROM rehearsals WHERE ns = ?", ())

    def clock_offset(self) -> int:
        with self._lock:
            return self._meta("clock_offset") or 0

    def set_clock_offset(self, offset: int) -> None:
        with self._lock:
            self._set_meta("clock_offset", offset)


class SqliteCatalog:
    """The namespaces of a `--state` database: every worker process sees those another one made."""

    def __init__(self, database: SqliteDatabase) -> None:
        self.database = database

    def _record(self, row: Any) -> NamespaceRecord:
        namespace_id, created_at, ttl, last_used_at, keys, fixtures = row
        return NamespaceRecord(namespace_id, int(created_at), int(ttl), int(last_used_at), json.loads(keys), fixtures)

    def add(self, record: NamespaceRecord) -> None:
        with self.database.transaction():
            self.database.connection.execute(
                "INSERT INTO namespaces (id, created_at, ttl_seconds, last_used_at, keys, fixtures)"
                " VALUES (?, ?, ?, ?, ?, ?)",
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
                self.database.connection.execute(
                    "INSERT INTO namespace_keys (digest, ns) VALUES (?, ?)", (key_digest(key), record.id)
                )

    def get(self, namespace_id: str) -> NamespaceRecord | None:
        with self.database.lock:
            row = self.database.connection.execute(
                "SELECT id, created_at, ttl_seconds, last_used_at, keys, fixtures FROM namespaces WHERE id = ?",
                (namespace_id,),
            ).fetchone()
        return None if row is None else self._record(row)

    def by_key_digest(self, digest: str) -> NamespaceRecord | None:
        with self.database.lock:
            row = self.database.connection.execute(
                "SELECT n.id, n.created_at, n.ttl_seconds, n.last_used_at, n.keys, n.fixtures"
                " FROM namespace_keys k JOIN namespaces n ON n.id = k.ns WHERE k.digest = ?",
                (digest,),
            ).fetchone()
        return None if row is None else self._record(row)

    def remove(self, namespace_id: str) -> bool:
        with self.database.transaction():
            self.database.connection.execute("DELETE FROM namespace_keys WHERE ns = ?", (namespace_id,))
            cursor = self.database.connection.execute("DELETE FROM namespaces WHERE id = ?", (namespace_id,))
        return bool(cursor.rowcount)

    def all(self) -> list[NamespaceRecord]:
        with self.database.lock:
            rows = self.database.connection.execute(
                "SELECT id, created_at, ttl_seconds, last_used_at, keys, fixtures FROM namespaces"
            ).fetchall()
        return [self._record(row) for row in rows]

    def count(self) -> int:
        with self.database.lock:
            return int(self.database.connection.execute("SELECT COUNT(*) FROM namespaces").fetchone()[0])

    def touch(self, namespace_id: str, at: int) -> None:
        with self.database.lock:
            self.database.connection.execute(
                "UPDATE namespaces SET last_used_at = MAX(last_used_at, ?) WHERE id = ?", (at, namespace_id)
            )
