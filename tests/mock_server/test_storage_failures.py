"""A failing disk is a documented 503 that stores nothing, and the mock recovers by itself when space returns.

The failing storage double (`tests/support/failing_storage.py`) raises SQLite's "database or disk is full" at
chosen points, around the in-memory and the SQLite store alike; `tests/e2e/test_full_disk.py` fills a real
filesystem.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mock_server import spec
from mock_server.app import create_app
from mock_server.clock import Clock
from mock_server.fixtures import load_fixtures
from mock_server.idempotency import IdempotencyGuard
from mock_server.records import IdempotencyScope
from mock_server.runtime import Runtime, build_runtime
from mock_server.settings import Settings
from mock_server.store.memory import MemoryStore
from mock_server.store.sqlite import SqliteDatabase, SqliteStore
from tests.support.api import ORG1_CONTROL_SET, ORG1_VENDOR, Api, auth
from tests.support.failing_storage import COMMIT, FailingStorage

DOC = spec.load_document()
CATALOG = DOC["x-error-catalog"]["codes"]["storage_unavailable"]
RUN = "/v1/workflows/quarterly-privacy-sweep/run"
ORG1 = "cborg_5f0c3a7e9b1d4f6a8c2e0b4d6f8a1c3e"


class FixedClock:
    """A lease clock that never moves: a claim held by nobody could only be waited for, never outlived."""

    def now(self) -> int:
        return 1_000_000


@pytest.fixture(params=["memory", "sqlite"])
def storage(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[FailingStorage]:
    fixtures = load_fixtures(None, DOC)
    inner = MemoryStore(fixtures) if request.param == "memory" else SqliteStore(tmp_path / "state.db", fixtures)
    yield FailingStorage(inner)
    inner.close()


def world(storage: FailingStorage, *, fast_lane: bool = True, lease_clock: Clock | None = None) -> Runtime:
    rt = build_runtime(Settings(fast_lane=fast_lane), store=storage)  # type: ignore[arg-type]
    if lease_clock is not None:
        rt.guard = IdempotencyGuard(rt.policy, rt.store, rt.clock, lease_clock=lease_clock)
    return rt


@pytest.fixture
def api_of(storage: FailingStorage) -> Iterator[Any]:
    made: list[Api] = []

    def make(**options: Any) -> Api:
        made.append(Api(create_app(world(storage, **options))))
        return made[-1]

    yield make
    for client in made:
        client.close()


def assert_unavailable(response: Any) -> None:
    assert response.status_code == 503, response.text
    assert response.json() == {"detail": {"code": "storage_unavailable", "message": CATALOG["message"]}}
    assert response.headers["retry-after"] == "1"
    assert response.headers["content-type"] == "application/json"


def run_total(api: Api) -> int:
    total: int = api.get("/v1/workflows/runs", headers=auth()).json()["total"]
    return total


@pytest.mark.parametrize("fast_lane", [True, False], ids=["fast-lane", "connexion-lane"])
def test_a_failed_commit_is_503_stores_nothing_and_the_same_key_then_executes_once(
    storage: FailingStorage, api_of: Any, fast_lane: bool
) -> None:
    api = api_of(fast_lane=fast_lane)
    before = run_total(api)
    storage.fail(COMMIT)
    for _ in range(3):
        assert_unavailable(api.post(RUN, headers=auth(**{"Idempotency-Key": "k-full"}), json={"input": {"a": 1}}))
    assert_unavailable(api.post(RUN, headers=auth(), json={"input": {}}))  # without a key too
    assert storage.fired.count(COMMIT) == 4
    storage.recover()
    assert run_total(api) == before, "nothing of a failed commit is left"
    assert storage.inner.idempotency_count() == 0
    first = api.post(RUN, headers=auth(**{"Idempotency-Key": "k-full"}), json={"input": {"a": 1}})
    again = api.post(RUN, headers=auth(**{"Idempotency-Key": "k-full"}), json={"input": {"a": 1}})
    assert first.status_code == 201 and again.content == first.content
    assert run_total(api) == before + 1
    assert api.get(f"/v1/workflows/runs/{first.json()['workflow_run_id']}", headers=auth()).status_code == 200


def test_every_writing_operation_answers_503_and_changes_nothing(storage: FailingStorage, api_of: Any) -> None:
    api = api_of()
    assessment = api.post(
        "/v1/assessments", headers=auth(), json={"vendor_id": ORG1_VENDOR, "control_set_ids": [ORG1_CONTROL_SET]}
    ).json()["id"]
    storage.fail(COMMIT)
    new = {"vendor_id": ORG1_VENDOR, "control_set_ids": [ORG1_CONTROL_SET], "trigger_workflow": "privacy-review"}
    assert_unavailable(api.post("/v1/assessments", headers=auth(), json=new))
    assert_unavailable(api.delete(f"/v1/assessments/{assessment}", headers=auth()))
    record = {"Name": "Disk Full Inc", "External Id": "full-1", "Data Types": ["customer_pii"]}
    assert_unavailable(api.post("/v1/import/vendor-intake", headers=auth(), json={"data": [record]}))
    assert_unavailable(api.post(RUN, headers=auth(**{"X-Coverbase-Mock-Rehearse": "dispatch_failure"}), json={}))
    storage.recover()
    assert api.get(f"/v1/assessments/{assessment}", headers=auth()).json()["status"] == "created"
    assert storage.inner.vendor_by_external_id(ORG1, "full-1") is None
    listed = api.get("/v1/workflows/runs?workflow_name=onboard-vendor", headers=auth()).json()
    assert listed["total"] == 0, "no import, no Vendor.Created run"


def test_a_claim_that_could_not_be_released_does_not_block_the_retry(storage: FailingStorage, api_of: Any) -> None:
    """Disk full at commit and at the release of the claim: the pending claim stays in the store, but it is
    this process's own orphan, so the retry takes it over at once (with a lease clock that never moves, a
    claim that had to be waited for would block for WAIT_LIMIT_SECONDS and then fail)."""
    api = api_of(lease_clock=FixedClock())
    before = run_total(api)
    storage.fail(COMMIT, "idempotency_release")
    assert_unavailable(api.post(RUN, headers=auth(**{"Idempotency-Key": "k-orphan"}), json={}))
    assert storage.fired == [COMMIT, "idempotency_release"]
    scope = IdempotencyScope(ORG1, "POST", RUN, "k-orphan")
    assert storage.inner.idempotency_claim(scope, 0, 1_000_000, 0) == "busy", "the orphaned claim is still stored"
    storage.recover()
    first = api.post(RUN, headers=auth(**{"Idempotency-Key": "k-orphan"}), json={})
    assert first.status_code == 201
    assert api.post(RUN, headers=auth(**{"Idempotency-Key": "k-orphan"}), json={}).content == first.content
    assert run_total(api) == before + 1


def test_a_retry_while_still_full_is_503_again_without_waiting(storage: FailingStorage, api_of: Any) -> None:
    api = api_of(lease_clock=FixedClock())
    storage.fail(COMMIT, "idempotency_release")
    assert_unavailable(api.post(RUN, headers=auth(**{"Idempotency-Key": "k-twice"}), json={}))
    storage.fail(COMMIT, "idempotency_release", "idempotency_claim")
    assert_unavailable(api.post(RUN, headers=auth(**{"Idempotency-Key": "k-twice"}), json={}))
    storage.recover()
    assert api.post(RUN, headers=auth(**{"Idempotency-Key": "k-twice"}), json={}).status_code == 201


def test_a_failing_claim_is_503_and_leaves_no_claim(storage: FailingStorage, api_of: Any) -> None:
    api = api_of(lease_clock=FixedClock())
    storage.fail("idempotency_claim")
    assert_unavailable(api.post(RUN, headers=auth(**{"Idempotency-Key": "k-claim"}), json={}))
    storage.recover()
    assert api.post(RUN, headers=auth(**{"Idempotency-Key": "k-claim"}), json={}).status_code == 201


def test_an_outcome_stored_is_acknowledged_even_if_purging_old_keys_fails(storage: FailingStorage, api_of: Any) -> None:
    api = api_of()
    storage.fail("idempotency_purge")
    first = api.post(RUN, headers=auth(**{"Idempotency-Key": "k-purge"}), json={})
    assert first.status_code == 201
    assert storage.fired == ["idempotency_purge"]
    storage.recover()
    assert api.post(RUN, headers=auth(**{"Idempotency-Key": "k-purge"}), json={}).content == first.content


def test_reads_keep_working_and_the_journal_drops_entries_while_full(
    storage: FailingStorage, api_of: Any, caplog: pytest.LogCaptureFixture
) -> None:
    api = api_of()
    storage.fail(COMMIT, "journal_append")
    with caplog.at_level("WARNING", logger="coverbase_mock"):
        for _ in range(3):
            assert api.get("/v1/workflows/runs?limit=1", headers=auth()).status_code == 200
            assert_unavailable(api.post(RUN, headers=auth(), json={}))
        storage.recover()
        assert api.get("/v1/utils/authtest", headers=auth()).status_code == 200
    journal = [line for line in caplog.messages if "request journal" in line]
    assert len(journal) == 2, "logged once when entries start being dropped and once when they are stored again"
    assert "(6 dropped)" in journal[1]
    assert [e["path"] for e in storage.inner.journal()] == ["/v1/utils/authtest"]


def test_a_commit_that_fails_with_the_transaction_still_open_is_rolled_back(tmp_path: Path) -> None:
    """SQLite may leave a transaction open when its COMMIT fails: it must end there, or the next transaction
    would join it and never commit."""
    database = SqliteDatabase(tmp_path / "state.db")
    real = database.connection

    class CommitFails:
        def __init__(self) -> None:
            self.failing = True

        def execute(self, sql: str, *args: Any) -> Any:
            if sql == "COMMIT" and self.failing:
                self.failing = False
                raise sqlite3.OperationalError("database or disk is full")
            return real.execute(sql, *args)

        def __getattr__(self, name: str) -> Any:
            return getattr(real, name)

    database.connection = CommitFails()  # type: ignore[assignment]
    with pytest.raises(sqlite3.OperationalError), database.transaction():
        real.execute("INSERT INTO meta (ns, name, value) VALUES ('t', 'lost', 1)")
    assert not real.in_transaction
    with database.transaction():
        real.execute("INSERT INTO meta (ns, name, value) VALUES ('t', 'kept', 1)")
    names = [row[0] for row in real.execute("SELECT name FROM meta WHERE ns = 't'")]
    assert names == ["kept"]
    database.close()


def test_a_postgres_server_that_ends_the_connection_is_a_503_then_the_mock_goes_on(postgres_url: str) -> None:
    """A database restart as replicas see it: the statement that meets the dead connection fails - a 503 that
    stores nothing, or nothing at all when it was only the journal's - never a 500; the broken connection is
    replaced and the key executes once."""
    import psycopg

    from mock_server.store.postgres import PostgresStore

    store = PostgresStore(postgres_url, load_fixtures(None, DOC))
    api = Api(create_app(build_runtime(Settings(), store=store)))
    try:
        before = run_total(api)
        pid = store.database.one("SELECT pg_backend_pid()")[0]
        with psycopg.connect(postgres_url, autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
        sent = {"headers": auth(**{"Idempotency-Key": "k-restart"}), "json": {"input": {}}}
        first = api.post(RUN, **sent)
        if first.status_code != 201:
            assert_unavailable(first)
            first = api.post(RUN, **sent)
        assert first.status_code == 201, first.text
        assert store.database.one("SELECT pg_backend_pid()")[0] != pid, "the ended connection was replaced"
        assert api.post(RUN, **sent).content == first.content
        assert run_total(api) == before + 1
    finally:
        api.close()
        store.close()
