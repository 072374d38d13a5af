"""An integrator's tests against coverbase-mock through the pytest plugin: no conftest, one fixture.

`pip install coverbase-mock` registers the `coverbase_mock` fixture; each test gets a clean mock (fixtures,
clock, journal, rehearsals, webhooks). `RiskSync` below stands for the integrator's own code; the tests use
nothing of the mock but the fixture's interface (README, "Use it from pytest"). Run with `pytest`, or
`pytest -n 2` (one mock per xdist worker), or `pytest --coverbase-url http://127.0.0.1:4010` against a mock
that is already running (the freezegun test needs the mock in this process and says so otherwise).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx
import pytest
from freezegun import freeze_time

from mock_server.testing import CoverbaseMock

TERMINAL = ("completed", "failed")


class RiskSync:
    """The integrator's code under test: starts Coverbase work and retries lost answers with the same key."""

    def __init__(self, http: httpx.Client, attempts: int = 3) -> None:
        self.http = http
        self.attempts = attempts

    def start_reassessment(self, vendor_id: str, control_set_id: str) -> dict[str, Any]:
        response = self.http.post(
            "/v1/assessments",
            json={
                "vendor_id": vendor_id,
                "control_set_ids": [control_set_id],
                "trigger_workflow": "annual-reassessment-flow",
            },
        )
        response.raise_for_status()
        assessment: dict[str, Any] = response.json()
        return assessment

    def run_workflow(self, name: str, key: str, payload: dict[str, Any] | None = None) -> dict[str, Any]:
        """POST the run; a dropped connection is retried with the same Idempotency-Key (never a second run)."""
        for attempt in range(1, self.attempts + 1):
            try:
                response = self.http.post(
                    f"/v1/workflows/{name}/run", headers={"Idempotency-Key": key}, json={"input": payload or {}}
                )
            except httpx.TransportError:
                if attempt == self.attempts:
                    raise
                continue
            response.raise_for_status()
            run: dict[str, Any] = response.json()
            return run
        raise AssertionError("unreachable")

    def run_status(self, run_id: str) -> dict[str, Any]:
        response = self.http.get(f"/v1/workflows/runs/{run_id}")
        response.raise_for_status()
        run: dict[str, Any] = response.json()
        return run


@pytest.fixture
def sync(coverbase_mock: CoverbaseMock) -> RiskSync:
    return RiskSync(coverbase_mock.client())


def test_an_assessment_starts_its_workflow_and_the_run_completes(coverbase_mock: CoverbaseMock, sync: RiskSync) -> None:
    assessment = sync.start_reassessment(coverbase_mock.ids.vendor_id, coverbase_mock.ids.control_set_id)
    run_id = assessment["workflow_run_id"]

    # Poll the run the way production code would, letting virtual time pass instead of sleeping.
    run = sync.run_status(run_id)
    for _ in range(24):
        if run["status"] in TERMINAL:
            break
        coverbase_mock.clock.advance(minutes=5)
        run = sync.run_status(run_id)

    assert run["status"] == "completed"
    assert run["completed_at"] is not None and run["completed_at"] >= run["started_at"]
    assert all(step["status"] is not None for step in run["steps"])
    coverbase_mock.assert_requested("POST", "/v1/assessments", times=1, status=201)
    coverbase_mock.assert_requested("GET", "/v1/workflows/runs/{run_id}", status=200)


def test_a_dropped_answer_is_retried_with_the_same_key_and_runs_once(
    coverbase_mock: CoverbaseMock, sync: RiskSync
) -> None:
    # The mock commits the run, then closes the connection before answering: the client sees a broken
    # response and must retry with the same key, receiving the stored answer.
    coverbase_mock.rehearse("drop_after_commit", operation_id="runWorkflow")

    run = sync.run_workflow("onboard-vendor", key="ariba-req-7821")

    attempts = coverbase_mock.assert_requested("POST", "/v1/workflows/onboard-vendor/run", times=2)
    assert attempts[0]["rehearsal"] == "drop_after_commit"
    assert attempts[1]["status"] == 201
    runs = coverbase_mock.client().get("/v1/workflows/runs", params={"workflow_name": "onboard-vendor"}).json()
    assert [r["workflow_run_id"] for r in runs["data"]] == [run["workflow_run_id"]]


def test_the_idempotency_window_is_24_hours_of_frozen_time(coverbase_mock: CoverbaseMock, sync: RiskSync) -> None:
    with freeze_time("2026-03-02 09:00:00") as frozen:
        first = sync.run_workflow("quarterly-privacy-sweep", key="privacy-sweep-2026-q1")
        assert first["started_at"] == int(dt.datetime(2026, 3, 2, 9, tzinfo=dt.UTC).timestamp())

        frozen.tick(dt.timedelta(hours=23))
        replayed = sync.run_workflow("quarterly-privacy-sweep", key="privacy-sweep-2026-q1")
        assert replayed == first

        frozen.tick(dt.timedelta(hours=2))
        anew = sync.run_workflow("quarterly-privacy-sweep", key="privacy-sweep-2026-q1")
        assert anew["workflow_run_id"] != first["workflow_run_id"]
        assert anew["started_at"] == first["started_at"] + 25 * 3600

    coverbase_mock.assert_requested("POST", "/v1/workflows/quarterly-privacy-sweep/run", times=3, status=201)


def test_another_organization_cannot_see_the_run(coverbase_mock: CoverbaseMock, sync: RiskSync) -> None:
    run = sync.run_workflow("quarterly-privacy-sweep", key="isolation-check")
    assert coverbase_mock.second_api_key is not None
    other = RiskSync(coverbase_mock.client(api_key=coverbase_mock.second_api_key))

    with pytest.raises(httpx.HTTPStatusError) as refused:
        other.run_status(run["workflow_run_id"])
    assert refused.value.response.status_code == 404


@pytest.mark.anyio
async def test_the_async_client_talks_to_the_same_mock(coverbase_mock: CoverbaseMock) -> None:
    async with coverbase_mock.async_client() as client:
        answer = await client.get("/v1/utils/authtest")
    assert answer.json() == {"msg": "Auth successful"}
    coverbase_mock.assert_requested("GET", "/v1/utils/authtest", times=1)
