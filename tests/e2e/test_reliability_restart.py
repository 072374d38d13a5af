"""Restart safety: SIGKILL the mock under concurrent load; every acknowledged 201 survives the restart."""

from __future__ import annotations

import random
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.support.api import ORG1_CONTROL_SET, ORG1_KEY, ORG1_VENDOR, auth
from tests.support.reliability import MockProcess

RUN_PATH = "/v1/workflows/quarterly-privacy-sweep/run"
MAX_REQUESTS_PER_THREAD = 2000


@dataclass(frozen=True)
class Ack:
    path: str
    key: str
    payload: dict[str, object]
    body: dict[str, object]
    content: bytes


def _load(base: str, thread: int, stop: threading.Event, acks: list[Ack], lock: threading.Lock) -> None:
    """Create runs and assessments with unique keys until stopped; remember every 201."""
    with httpx.Client(base_url=base, timeout=5) as client:
        for i in range(MAX_REQUESTS_PER_THREAD):
            if stop.is_set():
                return
            key = f"t{thread}-{i}-{time.monotonic_ns()}"
            if i % 3 == 2:
                path = "/v1/assessments"
                payload: dict[str, object] = {"vendor_id": ORG1_VENDOR, "control_set_ids": [ORG1_CONTROL_SET]}
            else:
                path, payload = RUN_PATH, {"input": {"thread": thread, "i": i}}
            try:
                response = client.post(path, headers=auth(ORG1_KEY, **{"Idempotency-Key": key}), json=payload)
            except httpx.TransportError:
                continue  # the server is being killed: an unanswered request promised nothing
            if response.status_code == 201:
                with lock:
                    acks.append(Ack(path, key, payload, response.json(), response.content))


def _check_survivors(base: str, acks: list[Ack]) -> None:
    with httpx.Client(base_url=base, timeout=10) as client:
        for ack in acks:
            if ack.path == RUN_PATH:
                got = client.get(f"/v1/workflows/runs/{ack.body['workflow_run_id']}", headers=auth(ORG1_KEY))
                assert got.status_code == 200, ack
                assert {k: got.json()[k] for k in ("workflow_run_id", "started_at")} == {
                    k: ack.body[k] for k in ("workflow_run_id", "started_at")
                }
            else:
                got = client.get(f"/v1/assessments/{ack.body['id']}", headers=auth(ORG1_KEY))
                assert got.status_code == 200, ack
                assert got.json()["created_at"] == ack.body["created_at"]
            # The idempotency record survived too: the replay is the identical body and creates nothing.
            replay = client.post(ack.path, headers=auth(ORG1_KEY, **{"Idempotency-Key": ack.key}), json=ack.payload)
            assert replay.status_code == 201 and replay.content == ack.content, ack


def _kill_restart_cycles(
    tmp_path: Path, cycles: int, workers: int, threads: int, durable: bool = True
) -> tuple[int, int]:
    state = tmp_path / "state.db"
    args = ("--state", str(state), "--workers", str(workers)) if durable else ()
    rng = random.Random()
    seed = rng.randrange(10**6)
    rng.seed(seed)
    all_acks: list[Ack] = []
    survived = 0
    for cycle in range(cycles):
        server = MockProcess(*args, log=tmp_path / f"mock-{cycle}.log")
        try:
            server.wait_ready()
            _check_survivors(server.base, all_acks)  # everything acknowledged before earlier kills
            stop, lock, acks = threading.Event(), threading.Lock(), []
            pool = [
                threading.Thread(target=_load, args=(server.base, t, stop, acks, lock), daemon=True)
                for t in range(threads)
            ]
            for thread in pool:
                thread.start()
            deadline = time.monotonic() + 10
            kill_after = rng.uniform(0.3, 1.5)
            started = time.monotonic()
            while time.monotonic() - started < kill_after or (not acks and time.monotonic() < deadline):
                time.sleep(0.01)  # waiting for the randomly chosen kill moment, bounded by the deadline
            server.kill()
            stop.set()
            for thread in pool:
                thread.join(timeout=10)
            all_acks.extend(acks)
        finally:
            server.stop()
        survived += 1
    final = MockProcess(*args, log=tmp_path / "mock-final.log")
    try:
        final.wait_ready()
        _check_survivors(final.base, all_acks)
    finally:
        final.stop()
    print(f"SIGKILL restarts survived: {survived}, acknowledged creates checked: {len(all_acks)} (seed {seed})")
    assert all_acks, "the load produced no acknowledged creates: the test proved nothing"
    return survived, len(all_acks)


def test_sigkill_under_load_loses_no_acknowledged_create(tmp_path: Path) -> None:
    _kill_restart_cycles(tmp_path, cycles=1, workers=1, threads=4)


@pytest.mark.slow
def test_repeated_sigkill_with_several_workers(tmp_path: Path) -> None:
    _kill_restart_cycles(tmp_path, cycles=5, workers=2, threads=8)


@pytest.mark.slow
def test_without_state_the_same_check_fails(tmp_path: Path) -> None:
    """Proves the restart test can fail: with in-memory state the acknowledged creates are gone."""
    with pytest.raises(AssertionError):
        _kill_restart_cycles(tmp_path, cycles=1, workers=1, threads=4, durable=False)
