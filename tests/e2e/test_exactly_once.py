"""Exactly once: concurrent same-key requests create one run, in-process, across stores and across workers."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from mock_server import spec
from mock_server.app import create_app
from mock_server.execution import Outcome, atomically
from mock_server.fixtures import load_fixtures
from mock_server.idempotency import CLAIM_LEASE_SECONDS, IdempotencyGuard
from mock_server.records import IdempotencyScope
from mock_server.runtime import Runtime, build_runtime
from mock_server.store import Store
from mock_server.store.memory import MemoryStore
from mock_server.store.postgres import PostgresStore
from mock_server.store.sqlite import SqliteStore
from tests.support.api import ORG1_KEY, auth
from tests.support.reliability import MockProcess, in_parallel

ORG1 = "cborg_5f0c3a7e9b1d4f6a8c2e0b4d6f8a1c3e"
RUN_PATH = "/v1/workflows/quarterly-privacy-sweep/run"
POLICY = spec.idempotency_policy(spec.load_document())
N = 100


def _store(kind: str, where: Path | str) -> Store:
    fixtures = load_fixtures(None, spec.load_document())
    if kind == "postgres":
        return PostgresStore(str(where), fixtures)
    return MemoryStore(fixtures) if kind == "memory" else SqliteStore(where, fixtures)


def _shared(kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> Path | str:
    """Where several runtimes share state: a SQLite file, or a PostgreSQL schema of the session's real server."""
    return str(request.getfixturevalue("postgres_url")) if kind == "postgres" else tmp_path / "s.db"


async def _fire(runtimes: list[Runtime], keys: list[str]) -> list[httpx.Response]:
    """All requests at once, spread round-robin over the runtimes (each is one 'worker')."""
    clients = [
        httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(rt)), base_url="http://mock") for rt in runtimes
    ]
    try:
        calls = [
            clients[i % len(clients)].post(
                RUN_PATH, headers=auth(ORG1_KEY, **{POLICY.header: key}), json={"input": {"i": i}}
            )
            for i, key in enumerate(keys)
        ]
        return list(await asyncio.gather(*calls))
    finally:
        for client in clients:
            await client.aclose()


def _guardless(monkeypatch: pytest.MonkeyPatch) -> None:
    """The same server without the guard: every request executes."""

    async def run(self: IdempotencyGuard, scope: IdempotencyScope, execute: Callable[[], Outcome]) -> Outcome:
        return atomically(self._store, execute)

    monkeypatch.setattr(IdempotencyGuard, "run", run)


@pytest.mark.parametrize("kind", ["memory", "sqlite"])
def test_same_key_in_process_creates_one_run(kind: str, tmp_path: Path) -> None:
    rt = build_runtime(store=_store(kind, tmp_path / "s.db"))
    before = rt.store.run_count(ORG1)
    responses = asyncio.run(_fire([rt], ["same-key"] * N))
    assert {r.status_code for r in responses} == {201}
    assert len({r.content for r in responses}) == 1, "every caller gets the identical body"
    assert rt.store.run_count(ORG1) == before + 1


def test_without_the_guard_duplicates_appear(monkeypatch: pytest.MonkeyPatch) -> None:
    """Proves the test above can fail: the same scenario without the guard creates N runs."""
    _guardless(monkeypatch)
    rt = build_runtime()
    before = rt.store.run_count(ORG1)
    responses = asyncio.run(_fire([rt], ["same-key"] * N))
    assert rt.store.run_count(ORG1) == before + N
    assert len({r.content for r in responses}) == N


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_same_key_across_runtimes_sharing_state_creates_one_run(
    kind: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """Four runtimes on one SQLite file (or PostgreSQL database, each with its own connection pool) act as
    four workers (or replicas): only the store's claim can stop duplicates."""
    where = _shared(kind, tmp_path, request)
    runtimes = [build_runtime(store=_store(kind, where)) for _ in range(4)]
    before = runtimes[0].store.run_count(ORG1)
    responses = asyncio.run(_fire(runtimes, ["shared-key"] * N))
    assert {r.status_code for r in responses} == {201}
    assert len({r.content for r in responses}) == 1
    assert runtimes[0].store.run_count(ORG1) == before + 1


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_across_runtimes_without_the_store_claim_duplicates_appear(
    kind: str, tmp_path: Path, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Proves the cross-worker test can fail: a store whose claim never refuses lets every worker execute."""
    monkeypatch.setattr(SqliteStore, "idempotency_claim", lambda self, *args: "claimed")
    monkeypatch.setattr(PostgresStore, "idempotency_claim", lambda self, *args: "claimed")
    where = _shared(kind, tmp_path, request)
    runtimes = [build_runtime(store=_store(kind, where)) for _ in range(4)]
    before = runtimes[0].store.run_count(ORG1)
    asyncio.run(_fire(runtimes, ["shared-key"] * 20))
    assert runtimes[0].store.run_count(ORG1) == before + 20


@pytest.mark.parametrize("kind", ["memory", "sqlite"])
def test_distinct_keys_create_distinct_runs_none_lost(kind: str, tmp_path: Path) -> None:
    rt = build_runtime(store=_store(kind, tmp_path / "s.db"))
    before = rt.store.run_count(ORG1)
    responses = asyncio.run(_fire([rt], [f"key-{i}" for i in range(N)]))
    ids = {r.json()["workflow_run_id"] for r in responses}
    assert len(ids) == N
    assert rt.store.run_count(ORG1) == before + N
    assert all(rt.store.get_run(ORG1, run_id) is not None for run_id in ids)


@pytest.mark.parametrize("kind", ["memory", "sqlite"])
def test_idempotency_records_stay_bounded_over_72_hours(kind: str, tmp_path: Path) -> None:
    """Steady load (one keyed create every 10 virtual minutes for 72 h): records stay within one window."""
    rt = build_runtime(store=_store(kind, tmp_path / "s.db"))
    step = 600
    per_window = POLICY.window_seconds // step
    counts: list[int] = []
    first_key_body = b""
    app = create_app(rt)

    async def drive() -> None:
        nonlocal first_key_body
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://mock") as client:
            for i in range(72 * 3600 // step):
                response = await client.post(RUN_PATH, headers=auth(ORG1_KEY, **{POLICY.header: f"k{i}"}), json={})
                assert response.status_code == 201
                if i == 0:
                    first_key_body = response.content
                counts.append(rt.store.idempotency_count())
                rt.clock.advance(step)
            # The first key's window closed long ago: it executes again instead of replaying.
            again = await client.post(RUN_PATH, headers=auth(ORG1_KEY, **{POLICY.header: "k0"}), json={})
            assert again.status_code == 201 and again.content != first_key_body

    asyncio.run(drive())
    peak = max(counts)
    print(f"[{kind}] idempotency records over 72 h: max {peak}, final {counts[-1]}, window holds {per_window}")
    assert peak <= per_window + 1
    assert counts[-1] >= per_window - 1, "live records must not be purged early"


def _post(base: str, key: str, i: int) -> tuple[int, bytes]:
    with httpx.Client(base_url=base, timeout=30) as client:
        r = client.post(RUN_PATH, headers=auth(ORG1_KEY, **{POLICY.header: key}), json={"input": {"i": i}})
        return r.status_code, r.content


def _total(base: str) -> int:
    body: dict[str, Any] = httpx.get(f"{base}/v1/workflows/runs", headers=auth(ORG1_KEY), params={"limit": 1}).json()
    return int(body["total"])


def _http_exactly_once(tmp_path: Path, workers: int, n: int) -> None:
    server = MockProcess("--state", str(tmp_path / "state.db"), "--workers", str(workers), log=tmp_path / "mock.log")
    try:
        server.wait_ready()
        before = _total(server.base)
        results = in_parallel(lambda i: _post(server.base, "http-same-key", i), range(n), threads=n)
        assert {status for status, _ in results} == {201}
        assert len({body for _, body in results}) == 1
        assert _total(server.base) == before + 1

        distinct = in_parallel(lambda i: _post(server.base, f"http-key-{i}", i), range(n), threads=n)
        ids = {json.loads(body)["workflow_run_id"] for _, body in distinct}
        assert len(ids) == n
        assert _total(server.base) == before + 1 + n
        # Readable through any worker: each GET opens a new connection, which the kernel spreads over workers.
        for run_id in ids:
            assert httpx.get(f"{server.base}/v1/workflows/runs/{run_id}", headers=auth(ORG1_KEY)).status_code == 200
        print(f"HTTP, {workers} workers: {n} same-key requests -> 1 run; {n} distinct keys -> {len(ids)} runs")
        # The virtual clock and reset are shared too: every worker sees one offset and one state.
        assert httpx.post(f"{server.base}/_mock/clock", json={"advance_seconds": 3600}).status_code == 200
        offsets = in_parallel(lambda _: httpx.get(f"{server.base}/_mock/clock").json()["offset_seconds"], range(12), 12)
        assert set(offsets) == {3600}
        assert httpx.post(f"{server.base}/_mock/reset").status_code == 200
        assert set(in_parallel(lambda _: _total(server.base), range(12), 12)) == {before}
    finally:
        server.stop()
    assert "Traceback" not in server.output()


def test_same_key_over_http_with_two_workers(tmp_path: Path) -> None:
    _http_exactly_once(tmp_path, workers=2, n=30)


@pytest.mark.slow
def test_same_key_over_http_with_several_workers(tmp_path: Path) -> None:
    _http_exactly_once(tmp_path, workers=3, n=N)


class _LeaseClock:
    def __init__(self, now: int) -> None:
        self.value = now

    def now(self) -> int:
        return self.value


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_a_dead_workers_claim_expires_and_the_key_is_taken_over(
    kind: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """A worker killed mid-execution leaves a pending claim: waiters poll, then take the key once it is stale."""
    where = _shared(kind, tmp_path, request)
    rt = build_runtime(store=_store(kind, where))
    lease = _LeaseClock(1_000_000)
    rt.guard = IdempotencyGuard(rt.policy, rt.store, rt.clock, lease_clock=lease)
    scope = IdempotencyScope(ORG1, "POST", RUN_PATH, "orphaned")
    # The dead worker's claim, made through another connection to the same file.
    other = _store(kind, where)
    assert other.idempotency_claim(scope, live_from=0, claimed_at=lease.value, stale_before=0) == "claimed"
    before = rt.store.run_count(ORG1)

    async def scenario() -> httpx.Response:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(rt)), base_url="http://m") as client:
            request = asyncio.create_task(
                client.post(RUN_PATH, headers=auth(ORG1_KEY, **{POLICY.header: "orphaned"}), json={})
            )
            await asyncio.sleep(0.2)
            assert not request.done(), "a fresh claim must make the request wait"
            lease.value += CLAIM_LEASE_SECONDS + 1
            return await asyncio.wait_for(request, timeout=10)

    response = asyncio.run(scenario())
    assert response.status_code == 201
    assert rt.store.run_count(ORG1) == before + 1
    assert rt.store.idempotency_get(scope) is not None
