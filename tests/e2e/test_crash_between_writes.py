"""kill -9 between two writes of one execution: nothing of it survives, and the key then executes once."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.support.api import ORG1_KEY, auth
from tests.support.mockserver import MockProcess, free_port

PRIVACY_SET = "cbctst_2b4d6f8a0c1e3a5c7e9b1d3f5a7c9e0b"
BODY = {
    "vendor_id": "cbvndr_e448ba62882143f3ba0c140bb2e30162",
    "control_set_ids": [PRIVACY_SET],
    "trigger_workflow": "annual-reassessment-flow",
}


def _total(base: str) -> int:
    body = httpx.get(f"{base}/v1/workflows/runs", headers=auth(ORG1_KEY), params={"limit": 1}).json()
    return int(body["total"])


# Each case waits for the crashed process's claim lease (10 s): one runs in `make test`, all in `make test-reliability`.
@pytest.mark.parametrize(
    "crash_at",
    [
        pytest.param(1, id="before-any-write", marks=pytest.mark.slow),
        pytest.param(2, id="after-the-triggered-run"),
        pytest.param(3, id="after-the-assessment", marks=pytest.mark.slow),
    ],
)
def test_a_crash_between_writes_loses_the_whole_execution_and_the_retry_executes_once(
    tmp_path: Path, crash_at: int
) -> None:
    state = tmp_path / "state.db"
    port = free_port()
    crashing = subprocess.Popen(
        [sys.executable, "-m", "tests.support.crash_server", "--state", str(state), "--port", str(port),
         "--crash-at", str(crash_at)],
    )  # fmt: skip
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                before = _total(base)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "the crashing mock did not start"
                time.sleep(0.05)  # polling while the port opens, bounded by the deadline
        with pytest.raises(httpx.TransportError):
            httpx.post(f"{base}/v1/assessments", headers=auth(ORG1_KEY, **{"Idempotency-Key": "k"}), json=BODY)
        assert crashing.wait(timeout=10) == -9
    finally:
        if crashing.poll() is None:
            crashing.kill()
    server = MockProcess("--state", str(state))
    try:
        server.wait_ready()
        assert _total(server.base) == before, "nothing of the crashed execution was committed"
        # The crashed process's claim is pending until its lease ends; the retry waits, then executes once.
        retried = httpx.post(
            f"{server.base}/v1/assessments", headers=auth(ORG1_KEY, **{"Idempotency-Key": "k"}), json=BODY, timeout=60
        )
        assert retried.status_code == 201
        assert _total(server.base) == before + 2  # the triggered run and the bound one, once
        again = httpx.post(
            f"{server.base}/v1/assessments", headers=auth(ORG1_KEY, **{"Idempotency-Key": "k"}), json=BODY
        )
        assert again.content == retried.content
    finally:
        server.stop()
