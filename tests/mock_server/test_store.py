"""One store behaviour suite, run against every Store implementation (in-memory, SQLite and PostgreSQL)."""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from mock_server import spec
from mock_server.fixtures import load_fixtures
from mock_server.records import (
    AssessmentRecord,
    DeliveryRecord,
    IdempotencyRecord,
    IdempotencyScope,
    Rehearsal,
    RunRecord,
    ServiceRecord,
    VendorRecord,
    WebhookRecord,
)
from mock_server.store import JOURNAL_LIMIT, Database, Store
from mock_server.store.memory import MemoryStore
from mock_server.store.postgres import PostgresDatabase, PostgresStore
from mock_server.store.sqlite import SqliteDatabase, SqliteStore

ORG1 = "cborg_5f0c3a7e9b1d4f6a8c2e0b4d6f8a1c3e"
ORG2 = "cborg_9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b"
SCOPE = IdempotencyScope(ORG1, "POST", "/v1/workflows/x/run", "k1")
KINDS = ["memory", "sqlite", "postgres"]
DURABLE = ["sqlite", "postgres"]


def make_store(kind: str, where: Path | str) -> Store:
    fixtures = load_fixtures(None, spec.load_document())
    if kind == "memory":
        return MemoryStore(fixtures)
    if kind == "postgres":
        return PostgresStore(str(where), fixtures)
    return SqliteStore(where, fixtures)


def _where(kind: str, request: pytest.FixtureRequest, tmp_path: Path) -> Path | str:
    """A SQLite file, or a fresh PostgreSQL schema (the real server of the session)."""
    return str(request.getfixturevalue("postgres_url")) if kind == "postgres" else tmp_path / "state.db"


@pytest.fixture(params=KINDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    made = make_store(request.param, _where(request.param, request, tmp_path))
    yield made
    made.close()


def _run(run_id: str, started_at: int, sequence: int, target: str | None = None, org: str = ORG1) -> RunRecord:
    return RunRecord(
        workflow_run_id=run_id,
        org_id=org,
        workflow_name="quarterly-privacy-sweep",
        workflow_definition_id="cbwd_" + "3" * 32,
        started_at=started_at,
        input_json='{"nested":{"a":[1,2,{"b":null}]},"text":"ünïcode"}',
        sequence=sequence,
        packed_ids="1" * 32 + "2" * 32,
        target_assessment_id=target,
    )


def _seeded_run_ids(store: Store, org: str) -> list[str]:
    return [r.workflow_run_id for r in store.runs_newest_first(org)]


class Boom(Exception):
    pass


def test_fixture_seed_is_loaded(store: Store) -> None:
    assert store.get_assessment(ORG1, "cbqsrw_2d5e8f1a4b7c0d3e6f9a2b5c8d1e4f7a") is not None
    assert store.get_run(ORG1, "cbwr_a8f2c19e3d4b5e6f7a8b9c0d1e2f3a4b") is not None
    assert store.run_count(ORG1) == len(store.fixtures.org(ORG1).runs)


def test_runs_round_trip_and_order(store: Store) -> None:
    before = store.run_count(ORG1)
    a = _run("cbwr_" + "a" * 32, 2_000_000_000, store.next_sequence(), target="cbqsrw_" + "9" * 32)
    b = _run("cbwr_" + "b" * 32, 2_000_000_000, store.next_sequence())
    store.put_run(a)
    store.put_run(b)
    assert store.get_run(ORG1, a.workflow_run_id) == a
    assert store.run_count(ORG1) == before + 2
    # Same started_at: the later sequence is newer.
    assert _seeded_run_ids(store, ORG1)[:2] == [b.workflow_run_id, a.workflow_run_id]
    assert [r.workflow_run_id for r in store.runs_for_assessment(ORG1, "cbqsrw_" + "9" * 32)] == [a.workflow_run_id]
    store.put_run(dataclasses.replace(a, canceled_at=2_000_000_003))
    saved = store.get_run(ORG1, a.workflow_run_id)
    assert saved is not None and saved.canceled_at == 2_000_000_003
    assert store.run_count(ORG1) == before + 2, "replacing a run adds nothing"
    assert _seeded_run_ids(store, ORG1).count(a.workflow_run_id) == 1


def test_records_are_copies_a_read_never_exposes_state(store: Store) -> None:
    """Copy semantics: what a read hands out cannot change the store; only put_* does."""
    record = AssessmentRecord.new(ORG1, {"id": "cbqsrw_" + "e" * 32, "status": "created"})
    store.put_assessment(record)
    got = store.get_assessment(ORG1, record.id)
    assert got is not None
    fields = got.fields
    fields["status"] = "canceled"
    with pytest.raises(dataclasses.FrozenInstanceError):
        got.archived_at = 5  # type: ignore[misc]
    again = store.get_assessment(ORG1, record.id)
    assert again is not None and again.fields["status"] == "created"
    store.put_assessment(dataclasses.replace(got.with_fields(fields), archived_at=5))
    saved = store.get_assessment(ORG1, record.id)
    assert saved is not None and saved.fields["status"] == "canceled" and saved.archived_at == 5


def test_org_scoping(store: Store) -> None:
    store.put_run(_run("cbwr_" + "c" * 32, 2_000_000_000, store.next_sequence()))
    assert store.get_run(ORG2, "cbwr_" + "c" * 32) is None
    assert store.get_assessment(ORG2, "cbqsrw_2d5e8f1a4b7c0d3e6f9a2b5c8d1e4f7a") is None
    assert "cbwr_" + "c" * 32 not in _seeded_run_ids(store, ORG2)


def test_vendors_by_id_and_external_id(store: Store) -> None:
    vendor = VendorRecord(ORG1, "cbvndr_" + "1" * 32, "ext-1", '{"name":"V"}', 10, 10)
    store.put_vendor(vendor)
    assert store.get_vendor(ORG1, vendor.id) == vendor
    assert store.vendor_by_external_id(ORG1, "ext-1") == vendor
    assert store.vendor_by_external_id(ORG2, "ext-1") is None
    store.put_vendor(dataclasses.replace(vendor, attributes_json='{"name":"W"}', updated_at=11))
    updated = store.vendor_by_external_id(ORG1, "ext-1")
    assert updated is not None and updated.name == "W" and updated.updated_at == 11


def test_sequence_is_monotonic(store: Store) -> None:
    values = [store.next_sequence() for _ in range(5)]
    assert values == sorted(values) and len(set(values)) == 5


def test_idempotency_claim_put_release(store: Store) -> None:
    assert store.idempotency_claim(SCOPE, live_from=0, claimed_at=100, stale_before=90) == "claimed"
    assert store.idempotency_claim(SCOPE, live_from=0, claimed_at=101, stale_before=91) == "busy"
    assert store.idempotency_get(SCOPE) is None, "a pending claim is not a replayable record"
    record = IdempotencyRecord(1000, 201, '{"a":1}')
    store.idempotency_put(SCOPE, record)
    assert store.idempotency_get(SCOPE) == record
    assert store.idempotency_claim(SCOPE, live_from=1000, claimed_at=102, stale_before=92) == record
    # Outside the window the record no longer replays: the key can be claimed again.
    assert store.idempotency_claim(SCOPE, live_from=1001, claimed_at=103, stale_before=93) == "claimed"
    store.idempotency_release(SCOPE)
    assert store.idempotency_claim(SCOPE, live_from=1001, claimed_at=104, stale_before=94) == "claimed"


def test_pending_claims_are_not_counted_as_records(store: Store) -> None:
    assert store.idempotency_count() == 0
    assert store.idempotency_claim(SCOPE, live_from=0, claimed_at=100, stale_before=90) == "claimed"
    assert store.idempotency_count() == 0, "a pending claim is not a stored outcome"
    store.idempotency_put(SCOPE, IdempotencyRecord(100, 201, "{}"))
    assert store.idempotency_count() == 1


def test_stale_claim_is_taken_over(store: Store) -> None:
    assert store.idempotency_claim(SCOPE, live_from=0, claimed_at=100, stale_before=0) == "claimed"
    # The claimant died: once its claim is older than the lease, another worker may take the key.
    assert store.idempotency_claim(SCOPE, live_from=0, claimed_at=200, stale_before=101) == "claimed"
    assert store.idempotency_claim(SCOPE, live_from=0, claimed_at=201, stale_before=150) == "busy"


def test_idempotency_purge_and_count(store: Store) -> None:
    for i in range(10):
        scope = IdempotencyScope(ORG1, "POST", "/v1/assessments", f"k{i}")
        store.idempotency_put(scope, IdempotencyRecord(100 + i, 201, "{}"))
    assert store.idempotency_count() == 10
    assert store.idempotency_purge(105) == 5
    assert store.idempotency_count() == 5
    assert store.idempotency_get(IdempotencyScope(ORG1, "POST", "/v1/assessments", "k4")) is None
    assert store.idempotency_get(IdempotencyScope(ORG1, "POST", "/v1/assessments", "k5")) is not None


def test_a_transaction_commits_everything_or_nothing(store: Store) -> None:
    before = store.run_count(ORG1)
    with pytest.raises(Boom), store.transaction():
        store.put_run(_run("cbwr_" + "d" * 32, 2_000_000_000, store.next_sequence(), target="cbqsrw_" + "8" * 32))
        store.put_assessment(AssessmentRecord.new(ORG1, {"id": "cbqsrw_" + "8" * 32}))
        store.put_vendor(VendorRecord(ORG1, "cbvndr_" + "2" * 32, "ext-2", "{}", 1, 1))
        store.idempotency_put(SCOPE, IdempotencyRecord(1, 201, "{}"))
        store.set_clock_offset(99)
        raise Boom
    assert store.run_count(ORG1) == before
    assert store.get_run(ORG1, "cbwr_" + "d" * 32) is None
    assert store.runs_for_assessment(ORG1, "cbqsrw_" + "8" * 32) == []
    assert "cbwr_" + "d" * 32 not in _seeded_run_ids(store, ORG1)
    assert store.get_assessment(ORG1, "cbqsrw_" + "8" * 32) is None
    assert store.vendor_by_external_id(ORG1, "ext-2") is None
    assert store.idempotency_get(SCOPE) is None
    assert store.clock_offset() == 0
    with store.transaction():
        store.put_run(_run("cbwr_" + "d" * 32, 2_000_000_000, store.next_sequence()))
        with store.transaction():  # nested: part of the outer one
            store.idempotency_put(SCOPE, IdempotencyRecord(1, 201, "{}"))
    assert store.get_run(ORG1, "cbwr_" + "d" * 32) is not None
    assert store.idempotency_get(SCOPE) is not None


def test_a_rolled_back_replacement_restores_the_old_record(store: Store) -> None:
    run = _run("cbwr_" + "f" * 32, 2_000_000_000, store.next_sequence())
    store.put_run(run)
    with pytest.raises(Boom), store.transaction():
        store.put_run(dataclasses.replace(run, canceled_at=5))
        raise Boom
    assert store.get_run(ORG1, run.workflow_run_id) == run


def test_journal_is_bounded(store: Store) -> None:
    for i in range(JOURNAL_LIMIT + 5):
        store.journal_append({"i": i})
    entries = store.journal()
    assert len(entries) == JOURNAL_LIMIT
    assert entries[0] == {"i": 5} and entries[-1] == {"i": JOURNAL_LIMIT + 4}
    store.journal_clear()
    assert store.journal() == []


def test_clock_offset(store: Store) -> None:
    assert store.clock_offset() == 0
    store.set_clock_offset(3600)
    assert store.clock_offset() == 3600


def test_reset_restores_fixtures(store: Store) -> None:
    seeded = _seeded_run_ids(store, ORG1)
    store.put_run(_run("cbwr_" + "d" * 32, 2_000_000_000, store.next_sequence()))
    store.idempotency_put(SCOPE, IdempotencyRecord(1, 201, "{}"))
    store.journal_append({"x": 1})
    store.set_clock_offset(60)
    store.reset()
    assert _seeded_run_ids(store, ORG1) == seeded
    assert store.idempotency_count() == 0
    assert store.journal() == []
    assert store.clock_offset() == 0


@pytest.mark.parametrize("kind", KINDS)
def test_close_releases_the_store(kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    made = make_store(kind, _where(kind, request, tmp_path))
    made.close()
    with pytest.raises(Exception):  # noqa: B017 - each store fails in its own way once closed
        made.put_run(_run("cbwr_" + "e" * 32, 2_000_000_000, 1))


@pytest.mark.parametrize("kind", DURABLE)
def test_state_survives_reopen(kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    where = _where(kind, request, tmp_path)
    first = make_store(kind, where)
    run = _run("cbwr_" + "f" * 32, 2_000_000_000, first.next_sequence())
    first.put_run(run)
    first.idempotency_put(SCOPE, IdempotencyRecord(7, 201, '{"k":"v"}'))
    first.journal_append({"j": 1})
    first.set_clock_offset(42)
    first.close()
    second = make_store(kind, where)
    assert second.get_run(ORG1, run.workflow_run_id) == run
    assert second.idempotency_get(SCOPE) == IdempotencyRecord(7, 201, '{"k":"v"}')
    assert second.journal() == [{"j": 1}]
    assert second.clock_offset() == 42
    assert second.next_sequence() > run.sequence
    second.close()


@pytest.mark.parametrize("kind", DURABLE)
def test_two_connections_share_state(kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    """Two stores opened on one file or database act as two worker processes (or replicas)."""
    where = _where(kind, request, tmp_path)
    a, b = make_store(kind, where), make_store(kind, where)
    a.put_run(_run("cbwr_" + "0" * 31 + "1", 2_000_000_000, a.next_sequence()))
    assert b.get_run(ORG1, "cbwr_" + "0" * 31 + "1") is not None
    assert a.idempotency_claim(SCOPE, 0, 100, 90) == "claimed"
    assert b.idempotency_claim(SCOPE, 0, 100, 90) == "busy"
    b.idempotency_put(SCOPE, IdempotencyRecord(100, 201, '{"r":1}'))
    assert a.idempotency_claim(SCOPE, 0, 101, 91) == IdempotencyRecord(100, 201, '{"r":1}')
    b.set_clock_offset(5)
    assert a.clock_offset() == 5
    a.rehearsal_add(Rehearsal("mockreh_x", "delay", None, None, 5, 1))
    assert [r.id for r in b.rehearsals()] == ["mockreh_x"]
    taken = b.rehearsal_take("delay", None, None)
    assert taken is not None and taken.remaining == 0
    assert a.rehearsal_take("delay", None, None) is None, "a use taken by one is gone for the other"
    a.close()
    b.close()


def _database(kind: str, where: Path | str) -> SqliteDatabase | PostgresDatabase:
    return PostgresDatabase(str(where)) if kind == "postgres" else SqliteDatabase(where)


def _namespaced(kind: str, database: SqliteDatabase | PostgresDatabase, namespace: str) -> Store:
    fixtures = load_fixtures(None, spec.load_document())
    if isinstance(database, PostgresDatabase):
        return PostgresStore(database, fixtures, namespace)
    return SqliteStore(database, fixtures, namespace)


@pytest.mark.parametrize("kind", DURABLE)
def test_namespaces_share_a_database_and_nothing_else(
    kind: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    database = _database(kind, _where(kind, request, tmp_path))
    a, b = _namespaced(kind, database, "ns-a"), _namespaced(kind, database, "ns-b")
    a.put_run(_run("cbwr_" + "a" * 32, 2_000_000_000, a.next_sequence()))
    a.idempotency_put(SCOPE, IdempotencyRecord(1, 201, "{}"))
    a.journal_append({"a": 1})
    a.set_clock_offset(7)
    a.rehearsal_add(Rehearsal("mockreh_a", "delay", None, None, 5, 1))
    assert b.get_run(ORG1, "cbwr_" + "a" * 32) is None
    assert b.idempotency_get(SCOPE) is None and b.journal() == [] and b.clock_offset() == 0
    assert b.rehearsals() == [] and b.rehearsal_take("delay", None, None) is None
    assert b.run_count(ORG1) == a.run_count(ORG1) - 1
    a.reset()
    b.put_run(_run("cbwr_" + "b" * 32, 2_000_000_000, b.next_sequence()))
    a.drop()
    assert b.get_run(ORG1, "cbwr_" + "b" * 32) is not None
    assert a.get_run(ORG1, "cbwr_a8f2c19e3d4b5e6f7a8b9c0d1e2f3a4b") is None, "a dropped namespace has no rows"
    database.close()


def test_rehearsals_are_taken_oldest_first_and_used_up(store: Store) -> None:
    store.rehearsal_add(Rehearsal("mockreh_1", "dispatch_failure", "runWorkflow", "wf-a", None, 2))
    store.rehearsal_add(Rehearsal("mockreh_2", "dispatch_failure", None, None, None, 1))
    assert store.rehearsal_take("delay", "runWorkflow", "wf-a") is None
    first = store.rehearsal_take("dispatch_failure", "runWorkflow", "wf-b")
    assert first is not None and first.id == "mockreh_2", "wf-b does not match the first one"
    taken = store.rehearsal_take("dispatch_failure", "runWorkflow", "wf-a")
    assert taken is not None and taken.id == "mockreh_1" and taken.remaining == 1
    assert [r.remaining for r in store.rehearsals()] == [1]
    assert store.rehearsal_take("dispatch_failure", "runWorkflow", "wf-a") is not None
    assert store.rehearsals() == []
    store.rehearsal_add(Rehearsal("mockreh_3", "delay", None, None, 5, 1))
    with pytest.raises(Boom), store.transaction():
        store.rehearsal_take("delay", None, None)
        raise Boom
    assert len(store.rehearsals()) == 1, "a rolled-back take gives the use back"
    store.rehearsals_clear()
    assert store.rehearsals() == []


def test_retention_deletes_old_runs_and_assessments_but_never_seeds(store: Store) -> None:
    seeded_runs = _seeded_run_ids(store, ORG1)
    old = _run("cbwr_" + "1" * 32, 1_000, store.next_sequence(), target="cbqsrw_" + "7" * 32)
    new = _run("cbwr_" + "2" * 32, 5_000, store.next_sequence())
    store.put_run(old)
    store.put_run(new)
    store.put_assessment(AssessmentRecord.new(ORG1, {"id": "cbqsrw_" + "7" * 32, "created_at": 1_000}))
    store.put_assessment(AssessmentRecord.new(ORG1, {"id": "cbqsrw_" + "8" * 32, "created_at": 5_000}))
    assert store.purge_older_than(2_000) == 2
    assert store.get_run(ORG1, old.workflow_run_id) is None and store.get_run(ORG1, new.workflow_run_id) is not None
    assert store.runs_for_assessment(ORG1, "cbqsrw_" + "7" * 32) == []
    assert store.get_assessment(ORG1, "cbqsrw_" + "7" * 32) is None
    assert store.get_assessment(ORG1, "cbqsrw_" + "8" * 32) is not None
    # Fixture objects are far older than any cutoff and stay.
    assert store.purge_older_than(10**10) == 2
    assert _seeded_run_ids(store, ORG1) == seeded_runs
    assert store.get_assessment(ORG1, "cbqsrw_2d5e8f1a4b7c0d3e6f9a2b5c8d1e4f7a") is not None


@pytest.mark.parametrize("kind", DURABLE)
def test_concurrent_claims_on_separate_connections_take_a_key_once(
    kind: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """Eight stores (eight processes, or replicas) claim one key at the same instant: exactly one gets it;
    the same again for a stale claim that all of them try to take over."""
    where = _where(kind, request, tmp_path)
    stores = [make_store(kind, where) for _ in range(8)]
    barrier = threading.Barrier(len(stores))

    def claim(index: int, claimed_at: int, stale_before: int) -> object:
        barrier.wait()
        return stores[index].idempotency_claim(SCOPE, live_from=0, claimed_at=claimed_at, stale_before=stale_before)

    try:
        with ThreadPoolExecutor(len(stores)) as pool:
            fresh = list(pool.map(lambda i: claim(i, 100, 90), range(len(stores))))
            assert sorted(map(str, fresh)) == ["busy"] * 7 + ["claimed"]
            # The claimant died: its claim (made at 100) is stale for everyone at 200.
            takeover = list(pool.map(lambda i: claim(i, 200, 150), range(len(stores))))
            assert sorted(map(str, takeover)) == ["busy"] * 7 + ["claimed"]
    finally:
        for made in stores:
            made.close()


@pytest.mark.parametrize("kind", DURABLE)
def test_another_connection_sees_a_transaction_only_once_it_commits(
    kind: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    where = _where(kind, request, tmp_path)
    writer, reader = make_store(kind, where), make_store(kind, where)
    run = _run("cbwr_" + "7" * 32, 2_000_000_000, writer.next_sequence())
    with writer.transaction():
        writer.put_run(run)
        writer.idempotency_put(SCOPE, IdempotencyRecord(1, 201, "{}"))
        assert writer.get_run(ORG1, run.workflow_run_id) == run, "the transaction reads its own writes"
        with ThreadPoolExecutor(1) as other:
            seen = other.submit(lambda: (reader.get_run(ORG1, run.workflow_run_id), reader.idempotency_get(SCOPE)))
            assert seen.result(timeout=30) == (None, None)
    assert reader.get_run(ORG1, run.workflow_run_id) == run
    assert reader.idempotency_get(SCOPE) == IdempotencyRecord(1, 201, "{}")
    writer.close()
    reader.close()


def test_a_request_scope_sees_its_own_writes_at_once(store: Store) -> None:
    with store.request_scope():
        assert store.clock_offset() == 0
        store.set_clock_offset(60)
        assert store.clock_offset() == 60
        assert store.rehearsal_take("delay", None, None) is None
        store.rehearsal_add(Rehearsal("mockreh_s", "delay", None, None, 5, 1))
        taken = store.rehearsal_take("delay", None, None)
        assert taken is not None and taken.id == "mockreh_s"
        with pytest.raises(Boom), store.transaction():
            store.set_clock_offset(120)
            store.rehearsal_add(Rehearsal("mockreh_t", "delay", None, None, 5, 1))
            raise Boom
        assert store.clock_offset() == 60, "a rolled-back write is not seen, even inside the scope"
        assert store.rehearsal_take("delay", None, None) is None
        store.reset()
        assert store.clock_offset() == 0
    assert store.clock_offset() == 0


@pytest.mark.parametrize("kind", DURABLE)
def test_another_replicas_change_is_seen_once_the_request_scope_ends(
    kind: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    where = _where(kind, request, tmp_path)
    mine, other = make_store(kind, where), make_store(kind, where)
    with mine.request_scope():
        assert mine.clock_offset() == 0
        other.set_clock_offset(3600)
        other.rehearsal_add(Rehearsal("mockreh_o", "dispatch_failure", None, None, None, 1))
        # Within the scope either answer is right: the change is ordered before or after the request.
        assert mine.clock_offset() in (0, 3600)
    assert mine.clock_offset() == 3600
    with mine.request_scope():
        taken = mine.rehearsal_take("dispatch_failure", "runWorkflow", "wf")
        assert taken is not None and taken.id == "mockreh_o"
    assert other.rehearsal_take("dispatch_failure", "runWorkflow", "wf") is None
    mine.close()
    other.close()


def test_postgres_ends_transactions_left_open_by_a_vanished_replica(postgres_url: str) -> None:
    """A replica whose machine vanishes mid-transaction leaves no lock behind for long: the server ends it."""
    from mock_server.store.postgres import IDLE_IN_TRANSACTION_SECONDS

    database = PostgresDatabase(postgres_url)
    assert database.one("SHOW idle_in_transaction_session_timeout") == (f"{IDLE_IN_TRANSACTION_SECONDS}s",)
    with database.transaction():
        assert database.one("SHOW idle_in_transaction_session_timeout") == (f"{IDLE_IN_TRANSACTION_SECONDS}s",)
    database.close()


def test_postgres_replaces_a_connection_the_server_ended(postgres_url: str) -> None:
    """After a database restart (here: the server ends the store's connection), one statement fails, the
    broken connection is dropped, and the next statement works on a new one - nothing needs restarting."""
    import psycopg

    fixtures = load_fixtures(None, spec.load_document())
    store = PostgresStore(postgres_url, fixtures)
    assert store.run_count(ORG1) > 0
    pid = store.database.one("SELECT pg_backend_pid()")[0]
    with psycopg.connect(postgres_url, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
    with pytest.raises(psycopg.OperationalError):
        store.run_count(ORG1)
    assert store.run_count(ORG1) > 0
    assert store.database.one("SELECT pg_backend_pid()")[0] != pid
    store.close()


@pytest.mark.parametrize("kind", DURABLE)
def test_a_database_opens_the_store_and_catalog_of_its_namespaces(
    kind: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """Namespaces live where the default world does: `Database.open_store` and `catalog` of the same database."""
    where = _where(kind, request, tmp_path)
    default = make_store(kind, where)
    database: Database = default.database  # type: ignore[attr-defined]
    other = database.open_store(default.fixtures, "ns_other")
    other.set_clock_offset(60)
    assert other.clock_offset() == 60 and default.clock_offset() == 0
    assert database.catalog().count() == 0
    assert database.reclaim() >= 0
    default.close()


def _delivery(store: Store, delivery_id: str, due_at: int, hook: str = "cbwh_" + "1" * 32) -> DeliveryRecord:
    return DeliveryRecord(
        id=delivery_id,
        org_id=ORG1,
        webhook_id=hook,
        event_id="cbevt_" + "2" * 32,
        event_type="Vendor.Created",
        attempt=1,
        max_attempts=6,
        due_at=due_at,
        payload_json='{"vendor_id":"x"}',
        created_at=due_at,
        sequence=store.next_sequence(),
    )


def test_fixture_vendors_services_and_webhooks_are_seeded(store: Store) -> None:
    vendors = store.vendors_newest_first(ORG1)
    assert {v.id for v in vendors} == set(store.fixtures.org(ORG1).vendors)
    acme = store.get_vendor(ORG1, "cbvndr_e448ba62882143f3ba0c140bb2e30162")
    assert acme is not None and acme.name == "Acme Corporation" and acme.external_id is None
    assert [s.id for s in store.services_of(ORG1, acme.id)] == ["cbsvc_3c2b1a098f7e6d5c4b3a2918374655ab"]
    assert [w.id for w in store.webhooks(ORG1)] == [w.id for w in store.fixtures.org(ORG1).webhooks]
    assert store.webhooks(ORG2) == [] and len(store.webhooks()) == len(store.webhooks(ORG1))


def test_vendors_newest_first_and_without_external_id(store: Store) -> None:
    older = VendorRecord(ORG1, "cbvndr_" + "3" * 32, None, '{"name":"A"}', 2_000_000_000, 2_000_000_000, 1000)
    newer = VendorRecord(ORG1, "cbvndr_" + "4" * 32, None, '{"name":"B"}', 2_000_000_000, 2_000_000_000, 1001)
    store.put_vendor(newer)
    store.put_vendor(older)
    assert [v.id for v in store.vendors_newest_first(ORG1)][:2] == [newer.id, older.id]
    assert store.get_vendor(ORG1, older.id) == older
    assert store.vendor_by_external_id(ORG1, "") is None, "a vendor without external_id is found by none"


def test_services_by_vendor_and_external_id(store: Store) -> None:
    vendor = "cbvndr_e448ba62882143f3ba0c140bb2e30162"
    first = ServiceRecord(ORG1, vendor, "cbsvc_" + "5" * 32, "svc-1", '{"name":"S"}', 10, 10, store.next_sequence())
    second = ServiceRecord(ORG1, vendor, "cbsvc_" + "6" * 32, "svc-1", '{"name":"T"}', 10, 10, store.next_sequence())
    store.put_service(first)
    store.put_service(second)
    assert [s.id for s in store.services_of(ORG1, vendor)][-2:] == [first.id, second.id]
    assert store.get_service(ORG1, first.id) == first and store.get_service(ORG2, first.id) is None
    found = store.service_by_external_id(ORG1, "svc-1")
    assert found is not None and found.id == second.id, "the latest service of a repeated external_id"
    store.put_service(dataclasses.replace(first, attributes_json='{"name":"S2"}', updated_at=11))
    again = store.get_service(ORG1, first.id)
    assert again is not None and again.name == "S2" and len(store.services_of(ORG1, vendor)) == 3


def test_webhooks_round_trip_and_archive(store: Store) -> None:
    hook = WebhookRecord(ORG2, "cbwh_" + "7" * 32, "http://127.0.0.1:1/x", ("A.B",), "s" * 16, None, True, 5, 999)
    store.put_webhook(hook)
    assert store.get_webhook(ORG2, hook.id) == hook and store.get_webhook(ORG1, hook.id) is None
    store.put_webhook(dataclasses.replace(hook, archived_at=6))
    assert [w.archived_at for w in store.webhooks(ORG2)] == [6]


def test_assessments_by_external_id_and_events_due(store: Store) -> None:
    due = dataclasses.replace(
        AssessmentRecord.new(ORG1, {"id": "cbqsrw_" + "a" * 32}), next_event_at=100, external_id="imp-1"
    )
    later = dataclasses.replace(AssessmentRecord.new(ORG2, {"id": "cbqsrw_" + "b" * 32}), next_event_at=200)
    store.put_assessment(later)
    store.put_assessment(due)
    assert [a.id for a in store.assessments_with_events_due(150, 10)] == [due.id]
    assert [a.id for a in store.assessments_with_events_due(200, 10)] == [due.id, later.id]
    assert [a.id for a in store.assessments_with_events_due(200, 1)] == [due.id]
    found = store.assessment_by_external_id(ORG1, "imp-1")
    assert found == due and store.assessment_by_external_id(ORG2, "imp-1") is None
    store.put_assessment(dataclasses.replace(due, next_event_at=None))
    assert [a.id for a in store.assessments_with_events_due(10**9, 10)] == [later.id]


def test_deliveries_are_claimed_once_and_finished_by_their_claimant(store: Store) -> None:
    early, late = _delivery(store, "cbwhd_" + "1" * 32, 100), _delivery(store, "cbwhd_" + "2" * 32, 300)
    store.add_delivery(late)
    store.add_delivery(early)
    assert [d.id for d in store.deliveries(ORG1)] == [early.id, late.id], "oldest first by sequence"
    assert store.claim_due_deliveries(50, "w1", held_until=1030, stale_before=1000, limit=10) == []
    [claimed] = store.claim_due_deliveries(200, "w1", held_until=1030, stale_before=1000, limit=10)
    assert claimed.id == early.id and claimed.status == "sending" and claimed.claimed_by == "w1"
    assert store.claim_due_deliveries(200, "w2", held_until=1031, stale_before=1001, limit=10) == []
    finished = dataclasses.replace(claimed, status="error", attempted_at=150)
    retry = _delivery(store, "cbwhd_" + "3" * 32, 154)
    assert store.finish_delivery(dataclasses.replace(finished, claimed_by="w2"), None) is False, "not w2's claim"
    assert store.finish_delivery(finished, retry) is True
    assert store.finish_delivery(finished, None) is False, "finished once"
    statuses = {d.id: d.status for d in store.deliveries(ORG1, "cbwh_" + "1" * 32)}
    assert statuses == {late.id: "pending", early.id: "error", retry.id: "pending"}
    assert [d.id for d in store.claim_due_deliveries(400, "w2", 1100, 1070, limit=1)] == [retry.id], "earliest due"


def test_a_lapsed_claim_is_taken_over(store: Store) -> None:
    store.add_delivery(_delivery(store, "cbwhd_" + "4" * 32, 100))
    [first] = store.claim_due_deliveries(100, "dead", held_until=1030, stale_before=1000, limit=10)
    assert store.claim_due_deliveries(100, "alive", held_until=1060, stale_before=1030, limit=10) == []
    [taken] = store.claim_due_deliveries(100, "alive", held_until=1061, stale_before=1031, limit=10)
    assert taken.id == first.id and taken.claimed_by == "alive"
    assert store.finish_delivery(dataclasses.replace(first, status="delivered"), None) is False


def test_deliveries_roll_back_with_the_transaction(store: Store) -> None:
    with pytest.raises(Boom), store.transaction():
        store.add_delivery(_delivery(store, "cbwhd_" + "5" * 32, 100))
        store.put_service(
            ServiceRecord(ORG1, "cbvndr_" + "1" * 32, "cbsvc_" + "9" * 32, None, "{}", 1, 1, store.next_sequence())
        )
        store.put_webhook(WebhookRecord(ORG1, "cbwh_" + "9" * 32, "u", (), "s", None, True, 1))
        raise Boom
    assert store.deliveries() == []
    assert store.get_service(ORG1, "cbsvc_" + "9" * 32) is None and store.get_webhook(ORG1, "cbwh_" + "9" * 32) is None
    assert store.claim_due_deliveries(10**9, "w", 10, 0, 10) == []


def test_reset_clears_deliveries_and_reseeds_webhooks(store: Store) -> None:
    store.add_delivery(_delivery(store, "cbwhd_" + "6" * 32, 100))
    store.put_webhook(WebhookRecord(ORG1, "cbwh_" + "8" * 32, "u", (), "s", None, True, 1))
    store.reset()
    assert store.deliveries() == []
    assert [w.id for w in store.webhooks(ORG1)] == [w.id for w in store.fixtures.org(ORG1).webhooks]


def test_finished_deliveries_are_purged_after_retention(store: Store) -> None:
    old = dataclasses.replace(_delivery(store, "cbwhd_" + "7" * 32, 100), status="delivered")
    queued = _delivery(store, "cbwhd_" + "8" * 32, 100)
    recent = dataclasses.replace(_delivery(store, "cbwhd_" + "9" * 32, 500), status="error")
    for delivery in (old, queued, recent):
        store.add_delivery(delivery)
    assert store.purge_deliveries(200) == 1
    assert [d.id for d in store.deliveries()] == [queued.id, recent.id], "queued attempts are never purged"


@pytest.mark.parametrize("kind", DURABLE)
def test_concurrent_delivery_claims_on_separate_connections_take_each_attempt_once(
    kind: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """Eight processes (or replicas) claim due attempts at the same instant, a few at a time: every attempt is
    claimed by exactly one of them."""
    where = _where(kind, request, tmp_path)
    stores = [make_store(kind, where) for _ in range(8)]
    due = [_delivery(stores[0], f"mockdlv_{n:032x}", 100 + n) for n in range(40)]
    for record in due:
        stores[0].add_delivery(record)
    barrier = threading.Barrier(len(stores))

    def claim(index: int) -> list[str]:
        barrier.wait()
        taken: list[str] = []
        while batch := stores[index].claim_due_deliveries(
            1_000, f"w{index}", held_until=2_000, stale_before=0, limit=3
        ):
            taken += [d.id for d in batch]
        return taken

    try:
        with ThreadPoolExecutor(len(stores)) as pool:
            claimed = [d for taken in pool.map(claim, range(len(stores))) for d in taken]
        assert sorted(claimed) == sorted(d.id for d in due), "each attempt claimed exactly once"
    finally:
        for made in stores:
            made.close()
