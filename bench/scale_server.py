"""`python -m bench.scale_server --port P`: the mock (default app) plus a bench-only route that grows its store.

`POST /_bench/seed?runs=N` starts runs until the store holds N seeded runs, so one process is measured at
1k, then 100k, then 1M runs (no restart between sizes). It blocks the event loop while seeding: the
bench calls it only between load phases.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from starlette.types import ASGIApp, Receive, Scope, Send

from bench.seeding import seed_runs

SEED_PATH = "/_bench/seed"


def _rss_bytes() -> int:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def with_seeding(app: ASGIApp, runtime: Any) -> ASGIApp:
    """Wrap the mock so SEED_PATH grows its store; every other request goes to the mock untouched."""
    seeded = 0

    async def wrapper(scope: Scope, receive: Receive, send: Send) -> None:
        nonlocal seeded
        if scope["type"] != "http" or scope["path"] != SEED_PATH:
            await app(scope, receive, send)
            return
        wanted = int(parse_qs(scope["query_string"].decode())["runs"][0])
        started = time.perf_counter()
        ids = seed_runs(runtime, max(0, wanted - seeded))
        seeded = max(seeded, wanted)
        body = json.dumps(
            {"runs": seeded, "seconds": time.perf_counter() - started, "ids": ids, "rss_bytes": _rss_bytes()}
        ).encode()
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]})
        await send({"type": "http.response.body", "body": body})

    return wrapper


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="bench.scale_server", description=__doc__)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    args = p.parse_args(argv)
    import uvicorn

    from mock_server.app import create_app
    from mock_server.runtime import build_runtime

    runtime = build_runtime()
    uvicorn.run(with_seeding(create_app(runtime), runtime), host=args.host, port=args.port, log_level="warning")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
