"""A mock on a --state file that SIGKILLs itself between two writes of its first keyed execution (a crash)."""

from __future__ import annotations

import argparse
import os
import signal
from pathlib import Path
from typing import Any

import uvicorn

from mock_server import spec
from mock_server.app import create_app
from mock_server.fixtures import load_fixtures
from mock_server.runtime import build_runtime
from mock_server.store.sqlite import SqliteStore

WRITES = ("put_run", "put_assessment", "idempotency_put")


class CrashingStore:
    def __init__(self, base: SqliteStore, crash_at: int) -> None:
        self._base = base
        self._crash_at = crash_at
        self._writes = 0

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._base, name)
        if name not in WRITES:
            return attribute

        def write(*args: Any, **kwargs: Any) -> Any:
            self._writes += 1
            if self._writes == self._crash_at:
                os.kill(os.getpid(), signal.SIGKILL)  # no shutdown hook, no rollback: the process is gone
            return attribute(*args, **kwargs)

        return write


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--state", type=Path, required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--crash-at", type=int, required=True)
    args = parser.parse_args()
    store = SqliteStore(args.state, load_fixtures(None, spec.load_document()))
    app = create_app(build_runtime(store=CrashingStore(store, args.crash_at)))  # type: ignore[arg-type]
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
