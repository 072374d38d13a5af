"""The suite bites: each planted fault of the mock is caught by the check named for it; no fault, no failure.

The matrix runs in this process (the mock's ASGI app built with the fault, handed to the suite); one run
of the whole suite goes over real HTTP against a fault-free mock subprocess, as a CI job would.
"""

from __future__ import annotations

import pytest

from contract_tests.outcome import Status
from contract_tests.report import summary
from contract_tests.runner import Options, run_suite
from mock_server.app import create_app
from mock_server.faults import FAULTS
from mock_server.runtime import build_runtime
from mock_server.settings import Settings
from tests.support.api import ORG1_KEY
from tests.support.contract_servers import mock_server, run_contract

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
    "vendor_list_ignores_external_id": ["vendors", "import_api"],
    "webhook_events_case_insensitive": ["webhooks.api"],
}
BUDGET = 1500


def test_every_fault_of_the_catalogue_has_a_catcher() -> None:
    assert set(CAUGHT_BY) == set(FAULTS)
    assert len(FAULTS) >= 12


@pytest.mark.parametrize("fault", sorted(CAUGHT_BY))
def test_fault_is_caught(fault: str) -> None:
    app = create_app(build_runtime(settings=Settings(faults=frozenset({fault}))))
    run = run_suite(Options(base_url="", api_key=ORG1_KEY, checks=CAUGHT_BY[fault], max_requests=BUDGET), app=app)
    text = summary(run.results, run.spent, run.limit, run.seconds)
    assert {r.name: r.status for r in run.results} == dict.fromkeys(CAUGHT_BY[fault], Status.FAILED), text
    for result in run.results:
        assert not result.crashed, text
        assert all(finding.steps for finding in result.failures[:1]), "a failure comes with its reproduction"
        assert result.failures[0].decision is None or run.control_plane, "on the mock, Decisions are strict"


def test_no_fault_every_check_passes_over_http() -> None:
    """The one run over real HTTP: the whole suite against a fault-free mock subprocess, every check passes."""
    with mock_server() as base:
        run = run_contract(base)
    assert run.returncode == 0, run.stdout + run.stderr
    assert " 0 failed, 0 deviated, 0 skipped;" in run.summary_line, run.stdout
    assert run.summary_line.startswith("25 passed"), run.summary_line
