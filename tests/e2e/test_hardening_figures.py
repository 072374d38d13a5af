"""The closing figures of the reliability items (#14.2, .3, .6, .7), at a larger scale than the quick tests:
per scenario the requests sent, 500s seen, acknowledged writes lost and duplicate executions.

Run: .venv/bin/python -m pytest tests/e2e/test_hardening_figures.py -m slow -s -q
"""

from __future__ import annotations

import json
import os
import random
import shutil
import socket
import sqlite3
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest

from mock_server.redaction import decode
from tests.support.api import ORG1_KEY, ORG2_KEY, auth
from tests.support.reliability import MockProcess, in_parallel
from tests.support.tmpfs import fill, small_filesystem

pytestmark = pytest.mark.slow
RUN = "/v1/workflows/quarterly-privacy-sweep/run"
THREADS = 4


def report(name: str, **figures: Any) -> None:
    print(f"\n[figures] {name}: " + json.dumps(figures))


def test_full_disk_figures(tmp_path: Path) -> None:
    """4 kept-alive clients write with unique keys before, during and after a full disk; no restart until the
    end, then SIGKILL and a restart on the same file to show every acknowledged write is durable."""
    per_thread = 300
    counts: Counter[str] = Counter()
    lock = threading.Lock()
    acked: dict[str, bytes] = {}
    with small_filesystem(tmp_path / "disk", "32m") as disk:
        server = MockProcess("--state", str(disk / "state.db"), log=tmp_path / "mock.log")
        server.wait_ready()
        full = threading.Event()

        def count(response: httpx.Response | None) -> None:
            with lock:
                counts["requests"] += 1
                if response is None:
                    counts["transport errors"] += 1
                else:
                    counts[f"status {response.status_code}"] += 1

        def writer(thread: int) -> list[str]:
            unacked = []
            pad = "x" * 8192
            with httpx.Client(base_url=server.base, timeout=30) as client:
                for i in range(per_thread):
                    if thread == 0 and i == per_thread // 3:
                        fill(disk)
                        full.set()
                    key = f"t{thread}-{i}"
                    try:
                        response = client.post(
                            RUN, headers=auth(**{"Idempotency-Key": key}), json={"input": {"p": pad}}
                        )
                    except httpx.TransportError:
                        response = None
                    count(response)
                    if response is not None and response.status_code == 201:
                        with lock:
                            acked[key] = response.content
                    else:
                        unacked.append(key)
                    reply = client.get("/v1/workflows/runs?limit=1", headers=auth())
                    count(reply)
            return unacked

        with httpx.Client(base_url=server.base) as client:
            seed_total = client.get("/v1/workflows/runs?limit=1", headers=auth()).json()["total"]
        unacked = [key for keys in in_parallel(writer, range(THREADS), THREADS) for key in keys]
        refused_while_full = counts["status 503"]
        (disk / "filler").unlink()
        with httpx.Client(base_url=server.base, timeout=30) as client:
            for key in unacked:
                response = client.post(RUN, headers=auth(**{"Idempotency-Key": key}), json={"input": {"p": "x"}})
                count(response)
                assert response.status_code == 201, response.text
                acked[key] = response.content
            for key, first in acked.items():
                replay = client.post(RUN, headers=auth(**{"Idempotency-Key": key}), json={"input": {}})
                count(replay)
                assert replay.content == first
            total = client.get("/v1/workflows/runs?limit=1", headers=auth()).json()["total"]
        run_ids = {json.loads(body)["workflow_run_id"] for body in acked.values()}
        server.kill()
        again = MockProcess("--state", str(disk / "state.db"), log=tmp_path / "mock2.log")
        again.wait_ready()
        with httpx.Client(base_url=again.base, timeout=30) as client:
            lost = 0
            for run_id in run_ids:
                reply = client.get(f"/v1/workflows/runs/{run_id}", headers=auth())
                count(reply)
                lost += reply.status_code != 200
        again.stop()
    report(
        "full disk (4 kept-alive clients, 32 MB tmpfs filled after a third of the writes, freed, SIGKILL + restart)",
        requests=counts["requests"],
        **{"500s": counts["status 500"], "transport errors": counts["transport errors"]},
        refused_503_while_full=refused_while_full,
        acknowledged=len(acked),
        acknowledged_writes_lost=lost,
        duplicate_executions=total - seed_total - len(run_ids),
    )
    assert counts["status 500"] == counts["transport errors"] == lost == 0
    assert total - seed_total == len(run_ids)


def _bad_files(sound: Path, where: Path) -> dict[str, Path]:
    def copy(name: str) -> Path:
        path = where / name
        shutil.copy(sound, path)
        return path

    files: dict[str, Path] = {}
    rng = random.Random(14)
    for n in range(20):  # garbage in the middle, at 20 random places
        path = copy(f"middle-{n}.db")
        with path.open("r+b") as handle:
            handle.seek(rng.randrange(4096, path.stat().st_size - 4096))
            handle.write(bytes(rng.randrange(256) for _ in range(rng.choice([16, 512, 4096]))))
        files[f"garbage in the middle #{n}"] = path
    path = copy("truncated.db")
    os.truncate(path, path.stat().st_size // 3)
    files["truncated"] = path
    path = copy("header.db")
    with path.open("r+b") as handle:
        handle.write(b"\x00garbage header")
    files["garbage header"] = path
    (where / "text.db").write_text("just some text\n")
    files["text file"] = where / "text.db"
    (where / "dir.db").mkdir()
    files["directory"] = where / "dir.db"
    return files


def _identities(listed: dict[str, Any]) -> list[tuple[str, int, str]]:
    """What a run listing holds that time does not change (a run's status and steps move with the clock)."""
    return [(r["workflow_run_id"], r["started_at"], r["workflow_name"]) for r in listed["data"]] + [listed["total"]]


def test_bad_state_file_figures(tmp_path: Path) -> None:
    """Each bad file, started as a real process: refused with exit 2 and one line, or - garbage that fell in
    unused space - started with every row intact: then every read answers, none is a 500."""
    sound = tmp_path / "sound.db"
    server = MockProcess("--state", str(sound), log=tmp_path / "mock.log")
    server.wait_ready()
    with httpx.Client(base_url=server.base) as client:
        for i in range(400):
            client.post(RUN, headers=auth(**{"Idempotency-Key": f"k{i}"}), json={"input": {"p": "y" * 500}})
        expected = _identities(client.get("/v1/workflows/runs?limit=500", headers=auth()).json())
    server.stop()
    with sqlite3.connect(sound) as connection:  # everything into the main file: the copies are whole states
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    outcomes: Counter[str] = Counter()
    statuses: Counter[int] = Counter()
    for kind, path in _bad_files(sound, tmp_path).items():
        started = MockProcess("--state", str(path), log=tmp_path / f"{path.name}.log")
        try:
            started.wait_ready()
        except RuntimeError:
            refused = started.output().strip()
            one_line = refused.count("\n") == 0 and "Traceback" not in refused
            outcomes["refused, exit 2, one line" if started.proc.returncode == 2 and one_line else "other"] += 1
            continue
        try:
            with httpx.Client(base_url=started.base) as client:
                listed = client.get("/v1/workflows/runs?limit=500", headers=auth())
                statuses[listed.status_code] += 1
                for run in listed.json()["data"] if listed.status_code == 200 else []:
                    statuses[
                        client.get(f"/v1/workflows/runs/{run['workflow_run_id']}", headers=auth()).status_code
                    ] += 1
            intact = listed.status_code == 200 and _identities(listed.json()) == expected
            outcomes["started, every row intact (garbage in unused space)" if intact else f"other ({kind})"] += 1
        finally:
            started.stop()
    report(
        "bad state files (20 x garbage in the middle at random places, truncated, garbage header, text, directory)",
        files=sum(outcomes.values()),
        **dict(outcomes),
        requests_to_started_ones=sum(statuses.values()),
        **{"500s": statuses[500]},
    )
    assert not [o for o in outcomes if o.startswith("other")] and statuses[500] == 0


def test_secret_figures(tmp_path: Path) -> None:
    from tests.mock_server.test_secrets import FOREIGN, corpus

    keys = [ORG1_KEY, ORG2_KEY, FOREIGN]
    server = MockProcess("--log-level", "debug", log=tmp_path / "mock.log")
    server.wait_ready()
    statuses: Counter[int] = Counter()
    with httpx.Client(base_url=server.base) as client:
        for _ in range(10):
            for key in keys:
                for method, url, kwargs in corpus(key):
                    statuses[client.request(method, url, **kwargs).status_code] += 1
        journal = client.get("/_mock/requests?limit=1000").text
    server.stop()
    log = "\n".join(line for line in server.output().splitlines() if not line.startswith("  try: curl"))

    def found(text: str) -> int:
        return sum(candidate.lower().count(key.lower()) for key in keys for candidate in (text, decode(text)))

    report(
        "secrets (keys raw, %-encoded either case, every char, double, plus/form, JSON and Python escapes,"
        " upper case; in path, query, headers, body; --log-level debug)",
        requests=sum(statuses.values()),
        **{"500s": statuses[500]},
        keys_in_log=found(log),
        keys_in_journal=found(journal),
    )
    assert statuses[500] == found(log) == found(journal) == 0


def test_slow_client_figures(tmp_path: Path) -> None:
    """50 idle, 50 slow-header and 50 slow-body connections held open while a client keeps working."""
    server = MockProcess("--header-timeout", "1", "--body-timeout", "1", "--keep-alive-timeout", "1")
    server.wait_ready()
    statuses: Counter[int] = Counter()
    opened = []
    for i in range(150):
        sock = socket.create_connection(("127.0.0.1", server.port))
        sock.settimeout(30)
        if i % 3 == 1:
            sock.sendall(b"GET /v1/utils/authtest HTTP/1.1\r\nHost: m\r\n")
        elif i % 3 == 2:
            head = f"POST {RUN} HTTP/1.1\r\nHost: m\r\nAuthorization: Bearer {ORG1_KEY}\r\n"
            sock.sendall(head.encode() + b"Content-Type: application/json\r\nContent-Length: 50\r\n\r\n{")
        opened.append(sock)
    started = time.monotonic()
    with httpx.Client(base_url=server.base) as client:
        while time.monotonic() - started < 3:
            statuses[client.get("/v1/utils/authtest", headers=auth()).status_code] += 1
            statuses[client.post(RUN, headers=auth(), json={}).status_code] += 1
    outcomes: Counter[str] = Counter()
    for i, sock in enumerate(opened):
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
        kind = ("idle", "slow headers", "slow body")[i % 3]
        outcomes[f"{kind}: " + (received.split(b"\r\n", 1)[0].decode() or "closed, no answer")] += 1
        sock.close()
    server.stop()
    report(
        "slow clients (50 idle, 50 slow-header, 50 slow-body connections; timeouts 1 s) while one client works",
        requests=sum(statuses.values()) + 100,
        **{"500s": statuses[500]},
        served_while_held=dict(statuses),
        slow_connections=dict(outcomes),
    )
    assert statuses[500] == 0 and set(statuses) == {200, 201}
    assert outcomes == {
        "idle: closed, no answer": 50,
        "slow headers: HTTP/1.1 408 Request Timeout": 50,
        "slow body: HTTP/1.1 408 Request Timeout": 50,
    }
