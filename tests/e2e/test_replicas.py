"""One mock for a team: `coverbase-mock` replicas on one PostgreSQL database behave as one mock, over HTTP.

Each replica is its own process (`--state postgresql://...`) on its own port; requests are spread over
them as a load balancer would. The database is a real server (a throwaway cluster per test session).
Quick variants run in `make test`; the heavy ones are `@pytest.mark.slow` (`make test-reliability`).
"""

from __future__ import annotations

import contextlib
import itertools
import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from mock_server import spec
from mock_server.namespaces import CHECK_EVERY_SECONDS
from tests.support.api import DOC_RUN, ORG1_KEY, auth
from tests.support.reliability import MockProcess, in_parallel

ORG1 = "cborg_5f0c3a7e9b1d4f6a8c2e0b4d6f8a1c3e"
RUN_PATH = "/v1/workflows/quarterly-privacy-sweep/run"
POLICY = spec.idempotency_policy(spec.load_document())
NS = "X-Mock-Namespace"
_databases = itertools.count(1)


@contextlib.contextmanager
def replicas(postgres_cluster: Any, tmp_path: Path, count: int = 2) -> Iterator[list[MockProcess]]:
    """`count` replicas started together on a fresh database of the session's cluster; stopped afterwards,
    and none may have logged a traceback."""
    url = postgres_cluster.create_database(f"replicas_{next(_databases)}")
    started = [MockProcess("--state", url, log=tmp_path / f"replica-{index}.log") for index in range(count)]
    try:
        for replica in started:
            replica.wait_ready()
        yield started
    finally:
        for replica in started:
            replica.stop()
    for replica in started:
        assert "Traceback" not in replica.output(), replica.output()


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    """One client shared by every thread of a test (building a client per request costs more than the request)."""
    limits = httpx.Limits(max_connections=200, max_keepalive_connections=200)
    with httpx.Client(timeout=60, limits=limits) as shared:
        yield shared


def _post(http: httpx.Client, base: str, key: str, i: int, api_key: str = ORG1_KEY) -> tuple[int, bytes]:
    r = http.post(f"{base}{RUN_PATH}", headers=auth(api_key, **{POLICY.header: key}), json={"input": {"i": i}})
    return r.status_code, r.content


def _total(http: httpx.Client, base: str, api_key: str = ORG1_KEY) -> int:
    response = http.get(f"{base}/v1/workflows/runs", headers=auth(api_key), params={"limit": 1})
    assert response.status_code == 200, response.text
    return int(response.json()["total"])


def _same_key(http: httpx.Client, bases: list[str], n: int, key: str = "replicas-same-key") -> None:
    before = {_total(http, base) for base in bases}
    assert len(before) == 1, "every replica sees one state"
    results = in_parallel(lambda i: _post(http, bases[i % len(bases)], key, i), range(n), threads=n)
    assert {status for status, _ in results} == {201}
    assert len({body for _, body in results}) == 1, "every caller gets the identical body, whichever replica"
    assert {_total(http, base) for base in bases} == {before.pop() + 1}, "one run, seen through every replica"


def _distinct_keys(http: httpx.Client, bases: list[str], n: int, threads: int) -> None:
    before = _total(http, bases[0])
    results = in_parallel(lambda i: (i, *_post(http, bases[i % len(bases)], f"replicas-key-{i}", i)), range(n), threads)
    assert {status for _, status, _ in results} == {201}
    ids = {json.loads(body)["workflow_run_id"] for _, _, body in results}
    assert len(ids) == n, "no two keys share a run"
    assert {_total(http, base) for base in bases} == {before + n}, "none lost"
    # Each run is readable through the replica that did not create it.
    other = {json.loads(body)["workflow_run_id"]: bases[(i + 1) % len(bases)] for i, _, body in results}
    statuses = in_parallel(
        lambda item: http.get(f"{item[1]}/v1/workflows/runs/{item[0]}", headers=auth()).status_code,
        list(other.items()),
        threads,
    )
    assert set(statuses) == {200}


def test_same_key_over_two_replicas_executes_once(postgres_cluster: Any, tmp_path: Path, http: httpx.Client) -> None:
    with replicas(postgres_cluster, tmp_path) as started:
        _same_key(http, [r.base for r in started], n=100)


def test_distinct_keys_over_two_replicas_none_lost_quick(
    postgres_cluster: Any, tmp_path: Path, http: httpx.Client
) -> None:
    with replicas(postgres_cluster, tmp_path) as started:
        _distinct_keys(http, [r.base for r in started], n=200, threads=20)


@pytest.mark.slow
def test_distinct_keys_over_two_replicas_none_lost(postgres_cluster: Any, tmp_path: Path, http: httpx.Client) -> None:
    with replicas(postgres_cluster, tmp_path) as started:
        bases = [r.base for r in started]
        _distinct_keys(http, bases, n=2000, threads=40)
        for round_ in range(3):
            _same_key(http, bases, n=100, key=f"replicas-same-key-{round_}")


class _Load:
    """Threads posting distinct keys round-robin over the replicas; records what was acknowledged."""

    def __init__(self, http: httpx.Client, bases: list[str], keys: int, threads: int) -> None:
        self.http = http
        self.bases = bases
        self.keys = [f"kill-key-{i}" for i in range(keys)]
        self.threads = threads
        self.acknowledged: dict[str, bytes] = {}  # key -> the body of its 201
        self.unanswered: list[str] = []  # keys whose request got no answer (the replica died)
        self.lock = threading.Lock()
        self.halfway = threading.Event()

    def _one(self, index: int) -> None:
        key = self.keys[index]
        try:
            status, body = _post(self.http, self.bases[index % len(self.bases)], key, index)
        except httpx.TransportError:
            with self.lock:
                self.unanswered.append(key)
            return
        assert status == 201, body
        with self.lock:
            self.acknowledged[key] = body
            if len(self.acknowledged) >= len(self.keys) // 3:
                self.halfway.set()

    def run(self) -> None:
        in_parallel(self._one, range(len(self.keys)), self.threads)


def _kill_one_under_load(
    postgres_cluster: Any, tmp_path: Path, http: httpx.Client, keys: int, threads: int, retry: bool
) -> None:
    with replicas(postgres_cluster, tmp_path) as (victim, survivor):
        before = _total(http, survivor.base)
        load = _Load(http, [victim.base, survivor.base], keys, threads)
        driver = threading.Thread(target=load.run)
        driver.start()
        assert load.halfway.wait(timeout=120), "the load never got a third of its writes acknowledged"
        victim.kill()  # SIGKILL mid-load: no shutdown hook, open transactions die with the connection
        driver.join(timeout=300)
        assert not driver.is_alive()
        acknowledged = dict(load.acknowledged)
        assert len(acknowledged) >= keys // 3
        print(f"kill -9 under load: {len(acknowledged)} acknowledged, {len(load.unanswered)} unanswered")

        def replay(item: tuple[str, bytes]) -> tuple[bool, bool]:
            key, body = item
            run_id = json.loads(body)["workflow_run_id"]
            read = http.get(f"{survivor.base}/v1/workflows/runs/{run_id}", headers=auth())
            status, again = _post(http, survivor.base, key, -1)
            return read.status_code == 200, (status, again) == (201, body)

        checked = in_parallel(replay, list(acknowledged.items()), threads)
        assert all(readable for readable, _ in checked), "an acknowledged write is missing on the survivor"
        assert all(identical for _, identical in checked), "a replay differs from the acknowledged answer"
        if retry:
            # A key in flight on the killed replica executes at most once more: its claim is taken over
            # after CLAIM_LEASE_SECONDS, unless its transaction had committed (then it replays).
            retried = in_parallel(lambda key: _post(http, survivor.base, key, -2), load.unanswered, threads)
            assert {status for status, _ in retried} <= {201}
            assert _total(http, survivor.base) == before + keys, "exactly one run per key, none lost, none doubled"


def test_kill_a_replica_under_load_loses_no_acknowledged_write_quick(
    postgres_cluster: Any, tmp_path: Path, http: httpx.Client
) -> None:
    _kill_one_under_load(postgres_cluster, tmp_path, http, keys=150, threads=10, retry=False)


@pytest.mark.slow
def test_kill_a_replica_under_load_loses_no_acknowledged_write(
    postgres_cluster: Any, tmp_path: Path, http: httpx.Client
) -> None:
    _kill_one_under_load(postgres_cluster, tmp_path, http, keys=1500, threads=30, retry=True)


def test_replicas_share_namespaces_clock_rehearsals_journal_and_reset(
    postgres_cluster: Any, tmp_path: Path, http: httpx.Client
) -> None:
    with replicas(postgres_cluster, tmp_path) as (a, b):
        created = http.post(f"{a.base}/_mock/namespaces")
        assert created.status_code == 201
        ns = created.json()
        key, name = ns["api_keys"][ORG1], ns["namespace_id"]
        # A namespace made on one replica serves on the other, with its own state.
        status, body = _post(http, b.base, "ns-key", 1, api_key=key)
        assert status == 201
        run_id = json.loads(body)["workflow_run_id"]
        assert http.get(f"{a.base}/v1/workflows/runs/{run_id}", headers=auth(key)).status_code == 200
        assert http.get(f"{a.base}/v1/workflows/runs/{run_id}", headers=auth()).status_code == 404
        # The virtual clock: advanced through one, the same offset through the other.
        moved = http.post(f"{a.base}/_mock/clock", headers={NS: name}, json={"advance_seconds": 7200})
        assert moved.status_code == 200
        assert http.get(f"{b.base}/_mock/clock", headers={NS: name}).json()["offset_seconds"] == 7200
        assert http.get(f"{b.base}/_mock/clock").json()["offset_seconds"] == 0, "the default world's clock"
        # A rehearsal armed through one replica is used up by a request to the other, once.
        armed = http.post(
            f"{a.base}/_mock/rehearsals", headers={NS: name}, json={"kind": "dispatch_failure", "count": 1}
        )
        assert armed.status_code == 201, armed.text
        failed, _ = _post(http, b.base, "rehearsed", 2, api_key=key)
        assert failed == 502
        assert _post(http, a.base, "after", 3, api_key=key)[0] == 201
        assert http.get(f"{b.base}/_mock/rehearsals", headers={NS: name}).json() == {"data": []}
        # One journal: requests made through either replica.
        journal = http.get(f"{a.base}/_mock/requests", headers={NS: name}).json()["data"]
        assert [e["status"] for e in journal if e["method"] == "POST"] == [201, 502, 201]
        # Reset through one replica is seen through the other.
        assert http.post(f"{b.base}/_mock/reset", headers={NS: name}).status_code == 200
        assert http.get(f"{a.base}/v1/workflows/runs/{run_id}", headers=auth(key)).status_code == 404
        assert http.get(f"{a.base}/v1/workflows/runs/{DOC_RUN}", headers=auth(key)).status_code == 200
        # Deleted through one replica: gone on the other within CHECK_EVERY_SECONDS (polled, with a margin).
        assert http.delete(f"{a.base}/_mock/namespaces/{name}").status_code == 204
        deadline = time.monotonic() + CHECK_EVERY_SECONDS + 10
        while http.get(f"{b.base}/v1/utils/authtest", headers=auth(key)).status_code != 401:
            assert time.monotonic() < deadline, "the deleted namespace still works on the other replica"
            time.sleep(0.05)  # polling interval, bounded by the deadline
        assert http.get(f"{b.base}/_mock/clock", headers={NS: name}).status_code == 404
        assert http.get(f"{b.base}/_mock/namespaces").json() == {"data": [], "total": 0}
