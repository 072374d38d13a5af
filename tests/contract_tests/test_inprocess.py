"""The suite against the mock in this process (ASGI) under freezegun: the 24-hour story in seconds."""

from __future__ import annotations

from freezegun import freeze_time

from contract_tests.clocks import FrozenClock
from contract_tests.outcome import Status
from contract_tests.runner import Options, run_suite
from mock_server.app import create_app
from mock_server.settings import Settings

TIME_CHECKS = [
    "idempotency.window",
    "idempotency.snapshot",
    "run_lifecycle",
    "idempotency.replay",
    "idempotency.concurrency",
]


def _run(faults: frozenset[str] = frozenset()) -> dict[str, Status]:
    with freeze_time("2026-05-21 09:00:00", real_asyncio=True) as frozen:
        run = run_suite(
            Options(base_url="", api_key="ak_live_xxx", checks=TIME_CHECKS, max_requests=2000),
            app=create_app(settings=Settings(faults=faults)),
            clock=FrozenClock(frozen),
        )
    return {r.name: r.status for r in run.results}


def test_time_checks_pass_in_process_under_frozen_time() -> None:
    assert _run() == dict.fromkeys(TIME_CHECKS, Status.PASSED)


def test_frozen_time_still_catches_a_shortened_window() -> None:
    statuses = _run(frozenset({"idempotency_window_short"}))
    assert statuses["idempotency.window"] is Status.FAILED
    assert statuses["idempotency.replay"] is Status.PASSED


def test_whole_suite_passes_in_process() -> None:
    """Every check, schemathesis included, against the ASGI app handed to the suite (no HTTP, no clock freeze)."""
    run = run_suite(Options(base_url="", api_key="ak_live_xxx"), app=create_app())
    assert {r.name: r.status for r in run.results} == {r.name: Status.PASSED for r in run.results}
    assert len(run.results) >= 20
    assert run.spent <= run.limit and run.unarchived == []


def test_the_suite_runs_in_a_namespace_of_its_own_and_resets_nothing() -> None:
    """On a mock that offers namespaces the suite never resets the shared mock: others' state survives."""
    from tests.support.api import Api, auth

    app = create_app()
    api = Api(app)
    mine = api.post("/v1/workflows/quarterly-privacy-sweep/run", headers=auth(), json={}).json()
    api.post("/_mock/clock", json={"advance_seconds": 60})
    run = run_suite(Options(base_url="", api_key="ak_live_xxx", checks=["idempotency.replay", "list_runs"]), app=app)
    assert {r.status for r in run.results} == {Status.PASSED}
    assert api.get(f"/v1/workflows/runs/{mine['workflow_run_id']}", headers=auth()).status_code == 200
    assert api.get("/_mock/clock").json()["offset_seconds"] == 60, "the default namespace's clock was not reset"
    paths = [e["path"] for e in api.get("/_mock/requests").json()["data"]]
    # Only the suite's preflight check of the key it was given reached the default namespace.
    assert paths == [
        "/v1/workflows/quarterly-privacy-sweep/run",
        "/v1/utils/authtest",
        f"/v1/workflows/runs/{mine['workflow_run_id']}",
    ]
    assert api.get("/_mock/namespaces").json()["total"] == 0, "the suite deleted its namespace"
    api.close()
