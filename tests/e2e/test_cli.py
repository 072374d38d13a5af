"""`coverbase-mock` start-up as a user sees it: the banner only once the port is ours, a taken port in one line,
`--port 0` and `--ready-file` for harnesses."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

STARTUP_SECONDS = 60.0


def command(*args: str) -> list[str]:
    return [sys.executable, "-m", "mock_server", *args]


def first_line(proc: subprocess.Popen[str]) -> str:
    """The first line of the process's stdout (blocks until it is printed, within STARTUP_SECONDS)."""
    found: list[str] = []
    assert proc.stdout is not None
    reader = threading.Thread(target=lambda: found.append(proc.stdout.readline() if proc.stdout else ""))
    reader.start()
    reader.join(STARTUP_SECONDS)
    assert found, f"coverbase-mock printed nothing within {STARTUP_SECONDS:g} s"
    return found[0]


@contextmanager
def running(*args: str) -> Iterator[subprocess.Popen[str]]:
    proc = subprocess.Popen(
        command(*args),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=30)


def test_port_0_prints_the_bound_port_and_writes_the_ready_file(tmp_path: Path) -> None:
    ready = tmp_path / "mock.url"
    ready.write_text("http://127.0.0.1:1\n")  # a stale file of an earlier run must not survive
    with running("--port", "0", "--ready-file", str(ready)) as proc:
        banner = first_line(proc)
        assert banner.startswith("coverbase-mock serving http://127.0.0.1:")
        url = banner.split()[2]
        assert int(url.rsplit(":", 1)[1]) > 0
        # The banner comes once the mock answers, and the ready file with it.
        assert httpx.get(f"{url}/_mock/health").status_code == 200
        assert ready.read_text() == f"{url}\n"
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
    assert not ready.exists(), "the ready file is removed when the mock stops"


def test_a_taken_port_is_one_line_naming_it_and_the_fix() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        proc = subprocess.run(command("--port", str(port)), capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 2
    assert proc.stdout == "", "nothing claims to serve on a port that is not ours"
    assert proc.stderr.splitlines() == [
        f"coverbase-mock: port {port} on 127.0.0.1 is already in use (another coverbase-mock?);"
        " stop that process, choose another port with --port N, or use --port 0 for a free one"
    ]


def test_an_address_that_cannot_be_bound_is_one_line() -> None:
    # 192.0.2.0/24 is reserved for documentation: no interface of this machine has it.
    proc = subprocess.run(
        command("--host", "192.0.2.1", "--port", "0"), capture_output=True, text=True, timeout=120, check=False
    )
    assert proc.returncode == 2 and proc.stdout == ""
    (line,) = proc.stderr.splitlines()
    assert line.startswith("coverbase-mock: cannot listen on 192.0.2.1:0: ")
    assert line.endswith("; check --host and --port")
