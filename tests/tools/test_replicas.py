"""`make mock-replicas` (`python -m tools.replicas`): a database and two replicas as one mock, stopped cleanly."""

from __future__ import annotations

import re
import signal
import socket
import subprocess
import sys
import time
from typing import Any

import httpx
import pytest

from tests.support.api import auth
from tests.support.mockserver import free_port
from tools.replicas import READY_LINE

RUN = "/v1/workflows/quarterly-privacy-sweep/run"


def _read_until_ready(proc: subprocess.Popen[str], timeout: float) -> list[str]:
    deadline = time.monotonic() + timeout
    lines: list[str] = []
    assert proc.stdout is not None
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break  # the tool exited
        lines.append(line.rstrip())
        if line.startswith(READY_LINE):
            return lines
    raise AssertionError(f"no {READY_LINE!r} line: {lines}")


def _two_free_ports() -> int:
    """A port whose successor is free too (the tool puts replica 2 on port + 1)."""
    for _ in range(50):
        port = free_port()
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port + 1))
            except OSError:
                continue
        return port
    raise AssertionError("no two consecutive free ports")


def test_mock_replicas_start_share_state_and_stop_cleanly(postgres_cluster: Any) -> None:
    """The session's cluster proves the binaries exist (skips locally without them); the tool makes its own."""
    port = _two_free_ports()
    proc = subprocess.Popen(
        [sys.executable, "-m", "tools.replicas", "--count", "2", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        lines = _read_until_ready(proc, timeout=120)
        bases = [m.group(1) for line in lines if (m := re.match(r"replica \d+: (\S+)", line))]
        database = next(line.split(": ", 1)[1] for line in lines if line.startswith("database: "))
        assert bases == [f"http://127.0.0.1:{port}", f"http://127.0.0.1:{port + 1}"]
        created = httpx.post(bases[0] + RUN, headers=auth(**{"Idempotency-Key": "tool"}), json={})
        assert created.status_code == 201
        run_id = created.json()["workflow_run_id"]
        assert httpx.get(f"{bases[1]}/v1/workflows/runs/{run_id}", headers=auth()).status_code == 200
        replayed = httpx.post(bases[1] + RUN, headers=auth(**{"Idempotency-Key": "tool"}), json={})
        assert replayed.content == created.content
        proc.send_signal(signal.SIGINT)  # what Ctrl-C sends
        assert proc.wait(timeout=60) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    output = proc.stdout.read() if proc.stdout else ""
    assert "Traceback" not in output, output
    for base in bases:
        with pytest.raises(httpx.TransportError):
            httpx.get(f"{base}/_mock/health", timeout=2)
    found = re.search(r":(\d+)/", database)
    assert found is not None
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", int(found.group(1))), timeout=2).close()  # the cluster is stopped
