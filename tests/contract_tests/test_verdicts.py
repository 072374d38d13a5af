"""Verdicts that must be right (#15): no false alarm, no false pass, no silent coverage gap, no crash."""

from __future__ import annotations

import re
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from contract_tests.checks.stateful import Focus, _focused
from contract_tests.document import Document
from contract_tests.outcome import Coverage, Status
from contract_tests.report import junit, summary
from contract_tests.runner import Options, Run, run_suite
from mock_server.app import create_app
from mock_server.runtime import build_runtime
from mock_server.settings import Settings
from tests.support import hostile, stateless
from tests.support.api import ORG1_CONTROL_SET, ORG1_KEY, ORG1_SERVICE, ORG1_VENDOR, ORG2_KEY
from tests.support.tamper import Tamper

# Org 1's objects, with the one enabled workflow org 2 has as well.
SHARED_WORKFLOW_TARGET = f"""\
vendor_id: {ORG1_VENDOR}
control_set_ids: [{ORG1_CONTROL_SET}]
service_ids: [{ORG1_SERVICE}]
enabled_workflow: quarterly-privacy-sweep
other_enabled_workflow: annual-reassessment-flow
disabled_workflow: legacy-soc2-chase
"""


def suite(app: Any, tmp_path: Path, checks: list[str], *, target: str | None = None, **options: Any) -> Run:
    target_file = None
    if target is not None:
        target_file = tmp_path / "target.yaml"
        target_file.write_text(target)
    options.setdefault("api_key", ORG1_KEY)
    return run_suite(Options(base_url="", checks=checks, target=target_file, **options), app=app)


def statuses(run: Run) -> dict[str, Status]:
    return {r.name: r.status for r in run.results}


def test_objects_created_with_the_second_key_are_read_back_with_it(tmp_path: Path) -> None:
    """The false alarm: org_scope's runs of org B (which also has the workflow) were read with org A's key."""
    run = suite(
        create_app(),
        tmp_path,
        ["idempotency.org_scope", "created_resources_readable"],
        target=SHARED_WORKFLOW_TARGET,
        second_api_key=ORG2_KEY,
    )
    assert statuses(run) == {"idempotency.org_scope": Status.PASSED, "created_resources_readable": Status.PASSED}
    readable = run.results[1]
    assert "(primary, second)" in readable.detail, readable.detail


@pytest.mark.parametrize(
    "check",
    [
        "idempotency.replay",
        "idempotency.distinct_keys",
        "idempotency.body_mismatch",
        "idempotency.endpoint_scope",
        "idempotency.not_stored_retry",
        "idempotency.org_scope",
        "idempotency.concurrency",
        "assessments",
    ],
)
def test_a_stateless_example_server_passes_no_property(tmp_path: Path, check: str) -> None:
    """The false pass: Prism's static mock honours no idempotency; each property says what it could not establish."""
    run = suite(
        stateless.create_app(),
        tmp_path,
        [check],
        target=SHARED_WORKFLOW_TARGET,
        api_key="ak_live_any",
        second_api_key="ak_live_other",
    )
    result = run.results[0]
    assert result.status is Status.FAILED, summary(run.results, run.spent, run.limit, run.seconds)
    message = result.failures[0].message
    assert message.startswith("could not establish") or "does not repeat what the request determined" in message, (
        message
    )


def test_every_link_of_the_document_is_walked(tmp_path: Path) -> None:
    """The coverage gap: createAssessment was never called, so its three links were never walked."""
    run = suite(create_app(), tmp_path, ["stateful_links"])
    result = run.results[0]
    links = [link.label for link in Document.load().links]
    assert result.status is Status.PASSED, summary(run.results, run.spent, run.limit, run.seconds)
    assert result.coverage is not None and result.coverage.required_links == links
    assert all(result.coverage.links[link] for link in links), result.coverage.links
    assert f"links walked {len(links)}/{len(links)}" in result.detail


def test_a_root_precondition_holds_for_the_whole_round() -> None:
    """The crash (thorough profile): a root turned off as soon as its link was walked, mid-round, and hypothesis
    replaying an earlier prefix raised FlakyStrategyDefinition. The focus is what was missing when the round began."""
    doc = Document.load()
    coverage = Coverage(required_links=[link.label for link in doc.links])
    ctx = SimpleNamespace(doc=doc, coverage=coverage)
    focus = Focus()
    focus.missing = frozenset(coverage.missing_links)
    run_link = next(link.label for link in doc.links if link.source == "runWorkflow")
    precondition = _focused(ctx, "runWorkflow", lambda machine: True, focus)  # type: ignore[arg-type]
    assert precondition(None)
    for label in coverage.required_links:
        coverage.links[label] += 1  # every link walked during the round
    assert precondition(None), "still enabled until the round ends"
    focus.missing = frozenset({next(link.label for link in doc.links if link.source != "runWorkflow")})
    assert run_link not in focus.missing and not precondition(None), "the next round focuses on what is missing"


@pytest.mark.slow
def test_the_thorough_profile_runs_every_check_without_a_crash(tmp_path: Path) -> None:
    """Seen with seed 0: stateful_links crashed (FlakyStrategyDefinition) after the thorough schema_conformance."""
    run = suite(create_app(), tmp_path, [], profile="thorough")
    text = summary(run.results, run.spent, run.limit, run.seconds)
    assert [r.name for r in run.results if r.crashed] == [], text
    assert all(r.status is Status.PASSED for r in run.results), text


def test_a_link_that_cannot_be_walked_fails_the_check(tmp_path: Path) -> None:
    """A target where no assessment can be created: the three assessment links stay unwalked, reported as a failure."""
    unknown_vendor = SHARED_WORKFLOW_TARGET.replace(ORG1_VENDOR, "cbvndr_" + "0" * 32)
    run = suite(create_app(), tmp_path, ["stateful_links"], target=unknown_vendor)
    result = run.results[0]
    assert result.status is Status.FAILED
    message = result.failures[0].message
    assert message.startswith("coverage below what the document offers:"), message
    assert "never walked the link(s) createAssessment -[201 GetAssessment]-> getAssessment;" in message
    assert "importRecords" not in message, "without an import report named, its link is not required (and said so)"
    assert "need an import report" in result.detail


def _started_in_milliseconds(method: str, path: str, status: int, body: Any) -> tuple[int, Any] | None:
    if method == "POST" and path.endswith("/run") and status == 201 and isinstance(body, dict):
        return status, {**body, "started_at": body["started_at"] * 1000}
    return None


def _input_dropped(method: str, path: str, status: int, body: Any) -> tuple[int, Any] | None:
    if method == "POST" and path.endswith("/run") and status == 201 and isinstance(body, dict):
        return status, {**body, "input": {}}
    return None


@pytest.mark.parametrize(
    ("rewrite", "pointer"), [(_started_in_milliseconds, "/started_at"), (_input_dropped, "/input/source")]
)
def test_fields_a_request_determines_are_compared_for_equality(tmp_path: Path, rewrite: Any, pointer: str) -> None:
    """Schema-valid but wrong: a start time in milliseconds, an input not echoed."""
    run = suite(Tamper(create_app(), rewrite), tmp_path, ["idempotency.distinct_keys"])
    result = run.results[0]
    assert result.status is Status.FAILED
    finding = result.failures[0]
    assert finding.message.startswith("the new run of"), finding.message
    assert [m.pointer for m in finding.mismatches] == [pointer]


def _deletes_fail(method: str, path: str, status: int, body: Any) -> tuple[int, Any] | None:
    if method == "DELETE" and path.startswith("/v1/assessments/"):
        return 503, {"detail": "maintenance"}
    return None


def test_unarchived_assessments_are_named_with_the_real_cause(tmp_path: Path) -> None:
    run = suite(Tamper(create_app(), _deletes_fail), tmp_path, ["isolation"])
    assert run.unarchived, "the suite created an assessment and could not archive it"
    assert all(item.reason.startswith("the DELETE answered 503") for item in run.unarchived), run.unarchived


# Unfilled message templates: the catalog's '{workflow_name}' or ({workflow_run_id}), or a name left as a word.
PLACEHOLDER = re.compile(r"'\{[a-z_]+\}'|\(\{[a-z_]+\}\)|key header")


@pytest.mark.parametrize("control_plane", [False, True], ids=["api-only", "fake-control-plane"])
@pytest.mark.parametrize("mode", hostile.MODES)
def test_no_check_crashes_on_a_hostile_target(tmp_path: Path, mode: str, control_plane: bool) -> None:
    """Garbage answers of every shape: every check fails (or is skipped with a reason), none crashes or passes."""
    target = None if control_plane else hostile.TARGET_YAML
    run = suite(
        hostile.create_app(mode, control_plane=control_plane),
        tmp_path,
        [],
        target=target,
        api_key=hostile.KEY,
        second_api_key=hostile.SECOND_KEY,
    )
    text = summary(run.results, run.spent, run.limit, run.seconds)
    assert [r.name for r in run.results if r.crashed] == [], text
    assert [r.name for r in run.results if r.status in (Status.PASSED, Status.DEVIATED)] == [], text
    assert all(r.detail for r in run.results if r.status is Status.SKIPPED), "a skip always says why"
    junit(run.results, tmp_path / "junit.xml", run.seconds)
    for result in run.results:
        for finding in result.findings:
            assert not PLACEHOLDER.search(finding.message), finding.message
    conformance = next(r for r in run.results if r.name == "schema_conformance")
    pairs = len(conformance.failures)
    assert pairs >= 10, "every failing operation/mode pair is its own finding"
    assert f"[{pairs}/{pairs}]" in text, "the text report shows every pair"
    assert (tmp_path / "junit.xml").read_text().count("[") >= pairs


def _detail_as_string(method: str, path: str, status: int, body: Any) -> tuple[int, Any] | None:
    if path == "/v1/workflows/runs" and status == 422:
        return 422, {"detail": "limit is out of range"}
    return None


def test_a_422_with_a_string_detail_is_a_violation_not_a_crash(tmp_path: Path) -> None:
    """The crash: list_runs raised AttributeError on `{"detail": "..."}`; it now reports what it expected."""
    run = suite(Tamper(create_app(), _detail_as_string), tmp_path, ["list_runs"])
    result = run.results[0]
    assert result.status is Status.FAILED and not result.crashed
    assert result.failures[0].message == "the 422 for limit=0 names loc ['query', 'limit']"


def test_the_stateful_reproduction_ends_with_the_failing_request(tmp_path: Path) -> None:
    app = create_app(build_runtime(settings=Settings(faults=frozenset({"created_run_sometimes_unreadable"}))))
    run = suite(app, tmp_path, ["stateful_links"])
    finding = run.results[0].failures[0]
    assert "not readable right after creation" in finding.message, finding.message
    assert finding.steps[-1] is finding.evidence[-1], "the last step shown is the failing read, not a later one"
    assert finding.steps[-1].method == "GET" and finding.steps[-1].status == 404
