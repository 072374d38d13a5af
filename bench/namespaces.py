"""`python -m bench.namespaces`: capacity of one mock process in namespaces (issue 12).

In process, over ASGI (no sockets, so the load generator does not compete with the mock for the CPU):
- N live namespaces made through `POST /_mock/namespaces`: creation latency (p50, p99);
- memory per idle namespace (tracemalloc, after a full collection);
- request throughput (GET run, 50 concurrent callers) with the requests spread over 100 active namespaces,
  against the same load on one namespace, measured back to back: the ratio is the figure.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import statistics
import time
import tracemalloc
import warnings
from dataclasses import dataclass
from typing import Any

import httpx

RUN = "/v1/workflows/quarterly-privacy-sweep/run"


@dataclass(frozen=True)
class NamespaceFigures:
    count: int
    create_p50_ms: float
    create_p99_ms: float
    bytes_per_namespace: float
    rps_one: float
    rps_spread: float
    active: int

    @property
    def ratio(self) -> float:
        return self.rps_spread / self.rps_one

    def markdown(self) -> str:
        return "\n".join(
            [
                "| Figure | Value |",
                "|---|---:|",
                f"| live namespaces made | {self.count} (and a further batch for memory) |",
                f"| creation latency p50 / p99 | {self.create_p50_ms:.2f} ms / {self.create_p99_ms:.2f} ms |",
                f"| memory per idle namespace | {self.bytes_per_namespace / 1024:.1f} KiB |",
                f"| GET run, 1 namespace | {self.rps_one:.0f} req/s |",
                f"| GET run, spread over {self.active} namespaces | {self.rps_spread:.0f} req/s |",
                f"| ratio {self.active} namespaces / 1 | {self.ratio:.2f}x |",
            ]
        )


async def _call(app: Any, key: str | None, path: str, method: str = "GET") -> tuple[int, bytes]:
    """One request straight into the ASGI app (no client library: the figure is the mock's cost alone)."""
    headers = [(b"host", b"mock")] + ([(b"authorization", f"Bearer {key}".encode())] if key else [])
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method, "scheme": "http",
        "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "", "headers": headers,
        "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 4010),
    }  # fmt: skip
    status, body = 0, []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
        elif message["type"] == "http.response.body":
            body.append(message.get("body", b""))

    await app(scope, receive, send)
    return status, b"".join(body)


async def _throughput(app: Any, targets: list[tuple[str, str]], seconds: float) -> float:
    """Requests per second of 50 concurrent callers reading runs, each request the next (key, run) pair."""
    done = 0
    deadline = time.perf_counter() + seconds

    async def caller(offset: int) -> None:
        nonlocal done
        index = offset
        while time.perf_counter() < deadline:
            key, run_id = targets[index % len(targets)]
            status, _ = await _call(app, key, f"/v1/workflows/runs/{run_id}")
            assert status == 200, status
            done += 1
            index += 50

    started = time.perf_counter()
    await asyncio.gather(*(caller(i) for i in range(50)))
    return done / (time.perf_counter() - started)


async def measure(count: int, active: int, seconds: float) -> NamespaceFigures:
    from mock_server.app import create_app

    app = create_app()
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://mock") as client:
        # The first one pays for lazy imports and caches: not part of the per-namespace figures.
        await client.post("/_mock/namespaces")
        latencies: list[float] = []
        made: list[dict[str, Any]] = []
        for _ in range(count):
            started = time.perf_counter()
            status, body = await _call(app, None, "/_mock/namespaces", "POST")
            latencies.append((time.perf_counter() - started) * 1000)
            assert status == 201, body
            made.append(json.loads(body))
        # Memory of a further batch, traced apart (tracing slows every allocation: not during the latencies).
        traced = max(1, min(count, 200))
        gc.collect()
        tracemalloc.start()
        before = tracemalloc.take_snapshot()
        for _ in range(traced):
            status, body = await _call(app, None, "/_mock/namespaces", "POST")
            assert status == 201, body
        gc.collect()
        after = tracemalloc.take_snapshot()
        tracemalloc.stop()
        growth = sum(stat.size_diff for stat in after.compare_to(before, "filename")) / traced
        org = next(iter(made[0]["api_keys"]))
        targets = []
        for namespace in made[:active]:
            key = namespace["api_keys"][org]
            created = await client.post(RUN, headers={"Authorization": f"Bearer {key}"}, json={})
            targets.append((key, created.json()["workflow_run_id"]))
        # Back to back, twice each in alternation: drift of a shared machine falls on both sides.
        one = spread = 0.0
        for _ in range(2):
            one += await _throughput(app, targets[:1], seconds / 2)
            spread += await _throughput(app, targets, seconds / 2)
    latencies.sort()
    return NamespaceFigures(
        count=count,
        create_p50_ms=statistics.median(latencies),
        create_p99_ms=latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))],
        bytes_per_namespace=growth,
        rps_one=one / 2,
        rps_spread=spread / 2,
        active=min(active, count),
    )


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="bench.namespaces", description=__doc__)
    p.add_argument("--count", type=int, default=1000, help="live namespaces to make (default 1000)")
    p.add_argument("--active", type=int, default=100, help="namespaces the spread load uses (default 100)")
    p.add_argument("--seconds", type=float, default=5.0, help="seconds of each throughput load (default 5)")
    args = p.parse_args(argv)
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    figures = asyncio.run(measure(args.count, args.active, args.seconds))
    print(figures.markdown())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
