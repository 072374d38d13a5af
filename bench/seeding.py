"""Fill a runtime's store with many runs (and their idempotency records) the way POST /run would."""

from __future__ import annotations

import json

from bench.scenarios import WORKFLOW
from mock_server.engine import find_workflow, start_run
from mock_server.ids import IdFactory, SequentialIds
from mock_server.records import IdempotencyRecord, IdempotencyScope
from mock_server.run_timeline import created_body
from mock_server.runtime import Runtime

SEED_INPUT = json.loads('{"vendor_filter":{"tags":["processes_pii"]},"due_date":"2026-06-30"}')


def seed_runs(rt: Runtime, count: int, *, with_keys: bool = True) -> list[str]:
    """Start `count` runs through `start_run` (so each has its own plan) and store one idempotency record each.

    IDs come from a counter while seeding (uuid4 would dominate the time for 1M runs), and the input is
    the documented empty one (deep-copying a nested input is half the seeding time); the runtime's own
    ID factory is restored afterwards. Returns a few run IDs spread over the seeded range.
    """
    org = rt.fixtures.orgs[0]
    definition = find_workflow(rt, org, WORKFLOW, must_be_enabled=True)
    path = f"/v1/workflows/{WORKFLOW}/run"
    live_ids: IdFactory = rt.ids
    rt.ids = SequentialIds(start=1 << 100)
    now = rt.clock.now()
    picked: list[str] = []
    stride = max(1, count // 4)
    try:
        for index in range(count):
            run = start_run(rt, org.id, definition, {})
            if with_keys:
                body = created_body(run)
                rt.store.idempotency_put(
                    IdempotencyScope(org.id, "POST", path, f"seed-{index}"),
                    IdempotencyRecord(now, 201, json.dumps(body, separators=(",", ":"))),
                )
            if index % stride == 0:
                picked.append(run.workflow_run_id)
    finally:
        rt.ids = live_ids
    return picked
