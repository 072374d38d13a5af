"""Run `coverbase-mock` as a real uvicorn subprocess on a free loopback port, for HTTP-level tests."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

STARTUP_SECONDS = 30.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class MockProcess:
    """One `coverbase-mock` process; stdout+stderr go to a file the tests can search afterwards."""

    def __init__(
        self, *args: str, log: Path | None = None, port: int | None = None, env: dict[str, str] | None = None
    ) -> None:
        self.port = port or free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        if log is None:
            handle, name = tempfile.mkstemp(prefix="coverbase-mock-", suffix=".log")
            os.close(handle)
            log = Path(name)
        self.log = log
        self._out = log.open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "mock_server", "--host", "127.0.0.1", "--port", str(self.port), *args],
            stdout=self._out,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})},
            # Own process group: SIGKILL reaches uvicorn's worker processes too.
            start_new_session=True,
        )

    def wait_ready(self, headers: dict[str, str] | None = None, timeout: float = STARTUP_SECONDS) -> None:
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"coverbase-mock exited with {self.proc.returncode}: {self.output()}")
            try:
                if httpx.get(f"{self.base}/_mock/health", headers=headers, timeout=1.0).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"coverbase-mock did not answer on {self.base} within {timeout} s")
            time.sleep(0.05)  # polling interval while the port opens, bounded by the deadline

    def kill(self) -> None:
        """SIGKILL the whole process group: no shutdown hook runs, as in a crash."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)
        self._out.close()

    def stop(self) -> None:
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()
                return
        self._out.close()

    def output(self) -> str:
        if not self._out.closed:
            self._out.flush()
        return self.log.read_text(errors="replace")


@contextlib.contextmanager
def serve(*args: str, headers: dict[str, str] | None = None) -> Iterator[str]:
    """Start the mock with `args`, wait until /_mock/health answers, yield its base URL, stop it."""
    server = MockProcess(*args)
    try:
        server.wait_ready(headers=headers)
        yield server.base
    finally:
        server.stop()
        server.log.unlink(missing_ok=True)
