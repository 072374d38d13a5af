"""Start `coverbase-mock` in a subprocess on a free loopback port and run `coverbase-contract` against it."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

BIN = Path(sys.executable).parent
HOST = "127.0.0.1"
PRIMARY_KEY = "ak_live_xxx"
STARTUP_SECONDS = 30.0
SUITE_SECONDS = 300.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def mock_server(*options: str) -> Iterator[str]:
    """The base URL of a fresh mock; each option is a fault name, or a `--flag` with its value; stopped on exit."""
    port = free_port()
    args = [str(BIN / "coverbase-mock"), "--host", HOST, "--port", str(port)]
    pending = list(options)
    while pending:
        option = pending.pop(0)
        args += [option, pending.pop(0)] if option.startswith("--") else ["--fault", option]
    token = options[options.index("--control-token") + 1] if "--control-token" in options else None
    headers = {"X-Mock-Control-Token": token} if token else {}
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    base = f"http://{HOST}:{port}"
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while True:
            if proc.poll() is not None:
                raise RuntimeError(
                    f"coverbase-mock exited {proc.returncode}: {proc.stderr.read() if proc.stderr else ''}"
                )
            try:
                if httpx.get(f"{base}/_mock/health", headers=headers, timeout=1.0).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"coverbase-mock did not answer /_mock/health within {STARTUP_SECONDS}s")
            time.sleep(0.05)  # polling interval of a bounded readiness wait, not a synchronisation stand-in
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


@dataclass
class SuiteRun:
    returncode: int
    stdout: str
    stderr: str

    def status_of(self, check: str) -> str | None:
        """passed / failed / skipped as the summary table reports it."""
        for line in self.stdout.splitlines():
            parts = line.split()
            if len(parts) >= 2 and parts[0] == check:
                return parts[1]
        return None


def run_contract(base_url: str, *extra: str, api_key: str = PRIMARY_KEY) -> SuiteRun:
    args = [str(BIN / "coverbase-contract"), "--base-url", base_url, "--api-key", api_key, "--quiet", *extra]
    proc = subprocess.run(args, capture_output=True, text=True, timeout=SUITE_SECONDS, check=False)
    return SuiteRun(proc.returncode, proc.stdout, proc.stderr)
