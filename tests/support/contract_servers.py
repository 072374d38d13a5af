"""Targets for the contract suite's tests: the mock in a subprocess, an ASGI app over HTTP, the CLI as CI runs it."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import uvicorn

from tests.support.mockserver import free_port, serve

BIN = Path(sys.executable).parent
REPO = Path(__file__).resolve().parents[2]
PRIMARY_KEY = "ak_live_xxx"
SECOND_KEY = "ak_live_initech_4Qx7Zr2Lm9Tp1Vw8Ky3Hs6Bn0Dc5Fg"
SUITE_SECONDS = 300.0
STARTUP_SECONDS = 30.0


@contextmanager
def mock_server(*options: str) -> Iterator[str]:
    """The base URL of a fresh mock; each option is a fault name, or a `--flag` with its value; stopped on exit."""
    args: list[str] = []
    pending = list(options)
    while pending:
        option = pending.pop(0)
        args += [option, pending.pop(0)] if option.startswith("--") else ["--fault", option]
    token = options[options.index("--control-token") + 1] if "--control-token" in options else None
    with serve(*args, headers={"X-Mock-Control-Token": token} if token else None) as base:
        yield base


class _Server(uvicorn.Server):
    """A uvicorn server that signals when it listens (no polling, no sleeps)."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.ready = threading.Event()

    async def startup(self, sockets: Any = None) -> None:
        await super().startup(sockets)
        self.ready.set()


@contextmanager
def asgi_server(app: Any) -> Iterator[str]:
    """Serve an ASGI app on a free loopback port in a thread; yields its base URL; stops it on exit."""
    port = free_port()
    server = _Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error", lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        if not server.ready.wait(STARTUP_SECONDS):
            raise TimeoutError(f"the ASGI app did not listen on port {port} within {STARTUP_SECONDS} s")
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@dataclass
class SuiteRun:
    returncode: int
    stdout: str
    stderr: str

    def status_of(self, check: str) -> str | None:
        """passed / failed / deviated / skipped as the summary table reports it."""
        for line in self.stdout.splitlines():
            parts = line.split()
            if len(parts) >= 2 and parts[0] == check:
                return parts[1]
        return None

    @property
    def summary_line(self) -> str:
        return next((line for line in self.stdout.splitlines() if " passed, " in line and " failed, " in line), "")


def run_contract(
    base_url: str, *extra: str, api_key: str | None = PRIMARY_KEY, env: dict[str, str] | None = None
) -> SuiteRun:
    """`coverbase-contract --base-url URL --quiet ...` as a CI job runs it; `api_key=None` passes no --api-key."""
    key = ["--api-key", api_key] if api_key is not None else []
    args = [str(BIN / "coverbase-contract"), "--base-url", base_url, *key, "--quiet", *extra]
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("COVERBASE_")} | (env or {})
    proc = subprocess.run(args, capture_output=True, text=True, timeout=SUITE_SECONDS, check=False, env=full_env)
    return SuiteRun(proc.returncode, proc.stdout, proc.stderr)
