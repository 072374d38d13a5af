"""Start the benchmarked servers on loopback as subprocesses and wait until they answer."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import time
import typing as t
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from bench import prism
from tools.processes import stop as stop  # the servers this module starts are stopped with it

HOST = "127.0.0.1"
API_KEY = "ak_live_xxx"
REPO = Path(__file__).resolve().parent.parent
SPEC = REPO / "openapi" / "coverbase.yaml"


@dataclass(frozen=True)
class Server:
    name: str
    base: str
    pid: int


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        port: int = s.getsockname()[1]
        return port


def mock_command(port: int) -> list[str]:
    """`coverbase-mock` as integrators run it: the console script next to this interpreter."""
    script = Path(sys.executable).with_name("coverbase-mock")
    if script.exists():
        return [str(script), "--host", HOST, "--port", str(port)]
    return [sys.executable, "-m", "mock_server", "--host", HOST, "--port", str(port)]


def command(name: str, port: int) -> list[str]:
    if name == "ours":
        return mock_command(port)
    if name == "baseline":
        # Another copy of the package (see --baseline): run from its directory, so it is imported first.
        return [sys.executable, "-m", "mock_server", "--host", HOST, "--port", str(port)]
    if name == "bare":
        return [sys.executable, "-m", "bench.bare_app", "--host", HOST, "--port", str(port)]
    if name == "prism":
        return [*prism.command(), "mock", "--host", HOST, "--port", str(port), "-v", "error", str(SPEC)]
    raise ValueError(f"unknown server {name!r}")


def ready_path(name: str) -> str:
    # Prism has no health route; the authenticated GET run is the cheapest documented 200.
    return "/v1/workflows/runs/cbwr_a8f2c19e3d4b5e6f7a8b9c0d1e2f3a4b" if name == "prism" else "/_mock/health"


def wait_ready(url: str, proc: subprocess.Popen[bytes], timeout: float) -> float:
    """Poll `url` until it answers 200; returns the seconds it took. Raises if the process dies or time runs out."""
    start = time.perf_counter()
    deadline = start + timeout
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {API_KEY}"})
    while time.perf_counter() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode} before answering {url}")
        try:
            with urllib.request.urlopen(request, timeout=1) as response:
                if response.status == 200:
                    return time.perf_counter() - start
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.01)
    raise TimeoutError(f"{url} did not answer within {timeout:.0f} s")


@contextlib.contextmanager
def serve(
    name: str,
    make_command: Callable[[int], list[str]] | None = None,
    timeout: float = 60.0,
    extra_env: dict[str, str] | None = None,
    cwd: Path = REPO,
) -> Iterator[Server]:
    """Run one server for the duration of the block, stopping it (and only it) afterwards."""
    port = free_port()
    cmd = make_command(port) if make_command else command(name, port)
    env = {**os.environ, "PYTHONUNBUFFERED": "1", **(extra_env or {})}
    with tempfile.TemporaryFile() as errors:
        # A file, not a pipe: a chatty server must never block on a full pipe nobody reads.
        proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=errors, start_new_session=True)
        base = f"http://{HOST}:{port}"
        try:
            try:
                wait_ready(base + ready_path(name), proc, timeout)
            except (RuntimeError, TimeoutError) as exc:
                raise RuntimeError(f"{name}: {exc}\n{_tail(errors)}") from None
            yield Server(name, base, proc.pid)
            if proc.poll() is not None:
                raise RuntimeError(f"{name} exited with {proc.returncode} during the run\n{_tail(errors)}")
        finally:
            stop(proc)


def _tail(errors: t.IO[bytes]) -> str:
    errors.seek(0)
    return errors.read().decode(errors="replace")[-2000:]
