"""The `coverbase-contract` command line: exit statuses, the summary table, the JUnit report."""

from __future__ import annotations

import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.contract_servers import BIN, mock_server, run_contract
from tests.support.mockserver import free_port

REPO = Path(__file__).resolve().parents[2]
CONTROL_TOKEN = "contract-suite-test-token"


@pytest.fixture(scope="module")
def mock_url() -> Iterator[str]:
    with mock_server() as base:
        yield base


def test_unreachable_url_is_a_usage_error() -> None:
    run = run_contract(f"http://127.0.0.1:{free_port()}")
    assert run.returncode == 2
    assert run.stderr.strip().startswith("coverbase-contract: cannot reach"), run.stderr
    assert len(run.stderr.strip().splitlines()) == 1


def test_bad_key_is_a_usage_error(mock_url: str) -> None:
    run = run_contract(mock_url, api_key="ak_live_not_a_key")
    assert run.returncode == 2
    assert "API key was rejected" in run.stderr


def test_missing_target_objects_are_a_usage_error(mock_url: str, tmp_path: Path) -> None:
    target = tmp_path / "target.yaml"
    target.write_text("vendor_id: cbvndr_00000000000000000000000000000000\nenabled_workflow: no-such-flow\n")
    run = run_contract(mock_url, "--target", str(target))
    assert run.returncode == 2
    assert "no-such-flow" in run.stderr


def test_unknown_check_and_bad_arguments_are_usage_errors(mock_url: str) -> None:
    assert run_contract(mock_url, "--checks", "no_such_check").returncode == 2
    proc = subprocess.run(
        [str(BIN / "coverbase-contract"), "--api-key", "x"], capture_output=True, text=True, check=False
    )
    assert proc.returncode == 2


def test_junit_report_counts_match(mock_url: str, tmp_path: Path) -> None:
    report = tmp_path / "junit.xml"
    run = run_contract(mock_url, "--checks", "errors,isolation,list_runs", "--junit-xml", str(report))
    assert run.returncode == 0, run.stdout + run.stderr
    suite = ET.parse(report).getroot().find("testsuite")
    assert suite is not None
    cases = suite.findall("testcase")
    assert [c.get("name") for c in cases] == ["errors.coded", "errors.unauthorized", "isolation", "list_runs"]
    assert suite.get("tests") == "4" and suite.get("failures") == "0" and suite.get("skipped") == "0"
    assert all(c.find("failure") is None and c.find("skipped") is None for c in cases)


def test_junit_report_of_a_failure(tmp_path: Path) -> None:
    report = tmp_path / "junit.xml"
    with mock_server("delete_not_idempotent") as base:
        run = run_contract(base, "--checks", "assessments,errors.coded", "--junit-xml", str(report))
    assert run.returncode == 1
    suite = ET.parse(report).getroot().find("testsuite")
    assert suite is not None and suite.get("tests") == "2" and suite.get("failures") == "1"
    failed = [c for c in suite.findall("testcase") if c.find("failure") is not None]
    assert [c.get("name") for c in failed] == ["assessments"]
    assert "curl" in (failed[0].findtext("failure") or "")
    assert "ak_live_xxx" not in run.stdout, "keys never appear in the report"


def test_without_control_plane_clock_checks_are_skipped_with_reason(tmp_path: Path) -> None:
    """A deployment without a usable /_mock/: --target names the objects; clock checks are skipped, never passed."""
    import httpx

    with mock_server("--control-token", CONTROL_TOKEN) as base:
        fixtures = httpx.get(f"{base}/_mock/fixtures", headers={"X-Mock-Control-Token": CONTROL_TOKEN}).json()
        acme, other = fixtures["orgs"][0], fixtures["orgs"][1]
        vendor = next(v for v in acme["vendors"] if v["service_ids"])
        enabled = [w["name"] for w in acme["workflows"] if w["enabled"]]
        target = tmp_path / "target.yaml"
        target.write_text(
            f"vendor_id: {vendor['id']}\ncontrol_set_ids: [{acme['control_set_ids'][0]}]\n"
            f"service_ids: [{vendor['service_ids'][0]}]\nenabled_workflow: {enabled[0]}\n"
            f"other_enabled_workflow: {enabled[1]}\n"
            f"disabled_workflow: {next(w['name'] for w in acme['workflows'] if not w['enabled'])}\n"
        )
        checks = "idempotency.window,idempotency.snapshot,run_lifecycle,errors.coded,isolation"
        run = run_contract(base, "--target", str(target), "--checks", checks)
        isolated = run_contract(
            base, "--target", str(target), "--checks", "isolation", "--second-api-key", other["api_keys"][0]
        )
    assert run.returncode == 0, run.stdout + run.stderr
    for check in ("idempotency.window", "idempotency.snapshot", "run_lifecycle"):
        assert run.status_of(check) == "skipped", run.stdout
    assert "no clock control on this target" in run.stdout
    assert run.status_of("isolation") == "skipped" and "--second-api-key" in run.stdout
    assert run.status_of("errors.coded") == "passed"
    assert isolated.returncode == 0 and isolated.status_of("isolation") == "passed", isolated.stdout


def test_suite_never_imports_the_mock() -> None:
    code = (
        "import sys, contract_tests.cli, contract_tests.runner, contract_tests.checks;"
        "contract_tests.checks.catalogue();"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] == 'mock_server');"
        "print(bad); sys.exit(1 if bad else 0)"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False, cwd=REPO)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for source in (REPO / "contract_tests").rglob("*.py"):
        assert "mock_server" not in source.read_text(encoding="utf-8"), source
