"""Helpers of the reliability tests: a killable `coverbase-mock` subprocess on loopback, concurrent callers."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import httpx
from mockserver import free_port

T = TypeVar("T")
STARTUP_SECONDS = 30.0


class MockProcess:
    """One `coverbase-mock` process; stdout+stderr go to a file the tests can search afterwards."""

    def __init__(self, *args: str, log: Path, port: int | None = None, env: dict[str, str] | None = None) -> None:
        self.port = port or free_port()
        self.base = f"http://127.0.0.1:{self.port}"
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


def in_parallel(func: Callable[[T], Any], items: Iterable[T], threads: int) -> list[Any]:
    """Call func on every item from `threads` threads at once (each thread with its own connection)."""
    with ThreadPoolExecutor(max_workers=threads) as pool:
        return list(pool.map(func, items))
