"""Start `coverbase-mock` in a subprocess on a free loopback port and run `coverbase-contract` against it."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.support.mockserver import serve

BIN = Path(sys.executable).parent
PRIMARY_KEY = "ak_live_xxx"
SUITE_SECONDS = 300.0


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
