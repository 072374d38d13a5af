"""The suite bites: each planted fault of the mock is caught by the check named for it; no fault, no failure."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from mock_server.faults import FAULTS
from tests.support.contract_servers import SuiteRun, mock_server, run_contract

# fault -> the checks that must each fail against it (the suite runs just those, to stay fast).
CAUGHT_BY: dict[str, list[str]] = {
    "idempotency_ignored": ["idempotency.replay"],
    "idempotency_global_scope": ["idempotency.org_scope"],
    "idempotency_route_template_scope": ["idempotency.endpoint_scope"],
    "idempotency_window_short": ["idempotency.window"],
    "idempotency_window_forever": ["idempotency.window"],
    "idempotency_replay_current_state": ["idempotency.snapshot"],
    "idempotency_replay_status_200": ["idempotency.replay", "openapi_core_oracle"],
    "idempotency_concurrent_race": ["idempotency.concurrency"],
    "idempotency_body_mismatch_executes": ["idempotency.body_mismatch"],
    "idempotency_stores_errors": ["idempotency.not_stored_retry"],
    "error_code_renamed": ["errors.coded", "schema_conformance", "openapi_core_oracle"],
    "auth_not_enforced": ["errors.unauthorized", "schema_conformance"],
    "cross_org_run_readable": ["isolation"],
    "completed_at_on_started": ["run_lifecycle"],
    "created_run_sometimes_unreadable": ["created_resources_readable", "stateful_links"],
    "delete_not_idempotent": ["assessments"],
    "list_runs_oldest_first": ["list_runs"],
    "list_total_counts_page": ["list_runs"],
}
PARALLEL = 3
BUDGET = "1500"


def _run(fault: str | None) -> SuiteRun:
    faults = (fault,) if fault else ()
    extra = ["--max-requests", BUDGET] if fault else []
    if fault:
        extra += ["--checks", ",".join(CAUGHT_BY[fault])]
    with mock_server(*faults) as base:
        return run_contract(base, *extra)


@pytest.fixture(scope="module")
def runs() -> dict[str | None, SuiteRun]:
    names: list[str | None] = [None, *CAUGHT_BY]
    with ThreadPoolExecutor(max_workers=PARALLEL) as pool:
        return dict(zip(names, pool.map(_run, names), strict=True))


def test_every_fault_of_the_catalogue_has_a_catcher() -> None:
    assert set(CAUGHT_BY) == set(FAULTS)
    assert len(FAULTS) >= 12


def test_no_fault_every_check_passes(runs: dict[str | None, SuiteRun]) -> None:
    run = runs[None]
    assert run.returncode == 0, run.stdout + run.stderr
    assert " 0 failed, 0 skipped" in run.stdout, run.stdout


@pytest.mark.parametrize("fault", sorted(CAUGHT_BY))
def test_fault_is_caught(runs: dict[str | None, SuiteRun], fault: str) -> None:
    run = runs[fault]
    assert run.returncode == 1, f"{fault} went unnoticed:\n{run.stdout}{run.stderr}"
    for check in CAUGHT_BY[fault]:
        assert run.status_of(check) == "failed", f"{check} did not catch {fault}:\n{run.stdout}"
    assert f"FAILED {CAUGHT_BY[fault][0]}:" in run.stdout
    assert "curl -sS" in run.stdout or "curl" in run.stdout, "a failure comes with a reproduction"
