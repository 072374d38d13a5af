"""The benchmarked requests: the same four calls against every server."""

from __future__ import annotations

from dataclasses import dataclass, field

API_KEY = "ak_live_xxx"
WORKFLOW = "quarterly-privacy-sweep"
RUN_BODY = '{"input":{"vendor_filter":{"tags":["processes_pii"]},"due_date":"2026-06-30"}}'
REPLAY_KEY = "bench-replayed-key"


@dataclass(frozen=True)
class Scenario:
    """One request shape; `fresh_key` adds a new Idempotency-Key to every request."""

    name: str
    method: str
    path: str
    body: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    fresh_key: bool = False
    expect: int = 200


def scenarios(run_id: str) -> list[Scenario]:
    """In this order, so the list is timed before the POSTs grow each store by different amounts."""
    auth = {"Authorization": f"Bearer {API_KEY}"}
    post = {**auth, "Content-Type": "application/json"}
    run_path = f"/v1/workflows/{WORKFLOW}/run"
    return [
        Scenario("GET /v1/workflows/runs", "GET", "/v1/workflows/runs", headers=auth),
        Scenario("GET /v1/workflows/runs/{id}", "GET", f"/v1/workflows/runs/{run_id}", headers=auth),
        Scenario(
            "POST run, replayed key",
            "POST",
            run_path,
            RUN_BODY,
            {**post, "Idempotency-Key": REPLAY_KEY},
            expect=201,
        ),
        Scenario("POST run, fresh key", "POST", run_path, RUN_BODY, post, fresh_key=True, expect=201),
    ]


SCENARIO_NAMES = [s.name for s in scenarios("x")]
