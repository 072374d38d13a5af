"""Scale figures: latency over large stores, memory per record (tracemalloc), start-up time."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import statistics
import subprocess
import sys
import time
import tracemalloc
import urllib.request
import uuid
from dataclasses import dataclass
from typing import Any

from bench import servers
from bench.load import Load, Result, drive
from bench.scenarios import RUN_BODY, WORKFLOW, Scenario


@dataclass(frozen=True)
class ScaleRow:
    runs: int
    seed_seconds: float
    rss_bytes: int
    get: Result
    post: Result
    ref_get: Result  # the reference mock (smallest size), measured right after: cancels machine-load drift
    ref_post: Result


def _seed(base: str, runs: int) -> dict[str, Any]:
    request = urllib.request.Request(f"{base}/_bench/seed?runs={runs}", method="POST")
    # Seeding 1M runs takes about a minute on a shared 2-core machine: allow for it, but bounded.
    with urllib.request.urlopen(request, timeout=900) as response:
        found: dict[str, Any] = json.loads(response.read())
        return found


def latency_sweep(sizes: list[int], load: Load, generator: str, warmup: float) -> list[ScaleRow]:
    """One mock process grown through `sizes` (ascending); at each size, GET a seeded run and POST fresh runs,
    each followed by the same load on a reference mock holding the smallest size.

    Flat means the grown/reference latency ratio stays put as the store grows. The POSTs add runs of their
    own (a few thousand per phase), small next to the sizes measured.
    """
    auth = {"Authorization": f"Bearer {servers.API_KEY}"}
    post = Scenario(
        "POST run",
        "POST",
        f"/v1/workflows/{WORKFLOW}/run",
        RUN_BODY,
        {**auth, "Content-Type": "application/json"},
        fresh_key=True,
        expect=201,
    )
    rows: list[ScaleRow] = []
    command = [sys.executable, "-m", "bench.scale_server", "--host", servers.HOST, "--port"]
    smallest = min(sizes)
    with contextlib.ExitStack() as stack:
        grown = stack.enter_context(servers.serve("ours", lambda port: [*command, str(port)])).base
        reference = stack.enter_context(servers.serve("ours", lambda port: [*command, str(port)])).base
        ref_ids = _seed(reference, smallest)["ids"]
        ref_get = Scenario("GET run", "GET", f"/v1/workflows/runs/{ref_ids[len(ref_ids) // 2]}", headers=auth)
        run_id = ""
        for size in sorted(sizes):
            print(f"scale: {size} stored runs", flush=True)
            seeded = _seed(grown, size)
            ids = seeded["ids"]
            run_id = ids[len(ids) // 2] if ids else run_id
            get = Scenario("GET run", "GET", f"/v1/workflows/runs/{run_id}", headers=auth)
            results: list[Result] = []
            # Grown then reference, endpoint by endpoint: the pair is measured seconds apart.
            for base, scenario in ((grown, get), (reference, ref_get), (grown, post), (reference, post)):
                if warmup > 0:
                    drive(base, scenario, Load(warmup, load.connections, load.threads), generator)
                results.append(drive(base, scenario, load, generator))
            rows.append(ScaleRow(size, seeded["seconds"], seeded["rss_bytes"], *results[0::2], *results[1::2]))
    return rows


def memory_per_run(count: int) -> float:
    """Bytes retained per run started through `start_run` with the real (random) ID factory."""
    from bench.bare_app import bare_runtime
    from bench.seeding import SEED_INPUT
    from mock_server.engine import find_workflow, start_run

    rt = bare_runtime()
    org = rt.fixtures.orgs[0]
    definition = find_workflow(rt, org, WORKFLOW, must_be_enabled=True)
    start_run(rt, org.id, definition, SEED_INPUT)  # first-call allocations are not per-run costs
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.take_snapshot()
    for _ in range(count):
        start_run(rt, org.id, definition, SEED_INPUT)
    gc.collect()
    after = tracemalloc.take_snapshot()
    tracemalloc.stop()
    return _growth(before, after) / count


def memory_per_idempotency_record(count: int) -> float:
    """Bytes retained per key through IdempotencyGuard.run; the run itself is not created here."""
    from bench.bare_app import bare_runtime
    from mock_server.records import IdempotencyScope

    rt = bare_runtime()
    org_id = rt.fixtures.orgs[0].id
    path = f"/v1/workflows/{WORKFLOW}/run"
    seed = json.loads(RUN_BODY)["input"]

    def execute() -> tuple[int, dict[str, object]]:
        created = {
            "workflow_run_id": rt.ids.new("cbwr"),
            "workflow_name": WORKFLOW,
            "status": "started",
            "started_at": rt.clock.now(),
            "input": seed,
        }
        return 201, created

    async def fill(n: int) -> None:
        for _ in range(n):
            # Keys as clients usually make them: a UUID string.
            await rt.guard.run(IdempotencyScope(org_id, "POST", path, str(uuid.uuid4())), execute)

    asyncio.run(fill(1))
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.take_snapshot()
    asyncio.run(fill(count))
    gc.collect()
    after = tracemalloc.take_snapshot()
    tracemalloc.stop()
    return _growth(before, after) / count


def _growth(before: tracemalloc.Snapshot, after: tracemalloc.Snapshot) -> float:
    return float(sum(stat.size_diff for stat in after.compare_to(before, "filename")))


def startup_seconds(times: int) -> list[float]:
    """Seconds from spawning `coverbase-mock` until /_mock/health answers 200, `times` over."""
    found: list[float] = []
    for _ in range(times):
        port = servers.free_port()
        started = time.perf_counter()
        proc = subprocess.Popen(
            servers.mock_command(port),
            cwd=servers.REPO,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        try:
            servers.wait_ready(f"http://{servers.HOST}:{port}/_mock/health", proc, timeout=60)
            found.append(time.perf_counter() - started)
        finally:
            servers.stop(proc)
    return found


def median(values: list[float]) -> float:
    return statistics.median(values) if values else 0.0
