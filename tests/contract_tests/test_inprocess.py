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
