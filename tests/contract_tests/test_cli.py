"""The `coverbase-contract` command line: exit statuses, keys, progress, the summary table, the JUnit report."""

from __future__ import annotations

import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from contract_tests.checks import catalogue
from tests.support.contract_servers import BIN, PRIMARY_KEY, REPO, SECOND_KEY, mock_server, run_contract
from tests.support.mockserver import free_port

CONTROL_TOKEN = "contract-suite-test-token"


@pytest.fixture(scope="module")
def mock_url() -> Iterator[str]:
    with mock_server() as base:
        yield base


def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "coverbase-contract"), *args], capture_output=True, text=True, check=False, env=env, timeout=60
    )


def test_list_checks_needs_no_url_and_no_key() -> None:
    proc = cli("--list-checks", env={})
    assert proc.returncode == 0, proc.stderr
    listed = [line.split(None, 1) for line in proc.stdout.splitlines()]
    assert listed == [[c.name, c.description] for c in catalogue()]


def test_unreachable_url_is_a_usage_error() -> None:
    run = run_contract(f"http://127.0.0.1:{free_port()}")
    assert run.returncode == 2
    assert run.stderr.strip().startswith("coverbase-contract: cannot reach"), run.stderr
    assert len(run.stderr.strip().splitlines()) == 1


def test_missing_url_or_key_is_a_usage_error() -> None:
    no_url = cli("--api-key", "x", env={})
    assert no_url.returncode == 2 and "--base-url is required" in no_url.stderr
    no_key = cli("--base-url", "http://127.0.0.1:1", env={})
    assert no_key.returncode == 2 and "COVERBASE_API_KEY" in no_key.stderr


def test_keys_from_the_environment_stay_out_of_the_command_line(mock_url: str) -> None:
    env = {"COVERBASE_API_KEY": PRIMARY_KEY, "COVERBASE_SECOND_API_KEY": SECOND_KEY}
    run = run_contract(mock_url, "--checks", "isolation", api_key=None, env=env)
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.status_of("isolation") == "passed"
    assert PRIMARY_KEY not in run.stdout + run.stderr and SECOND_KEY not in run.stdout + run.stderr


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
    missing = run_contract(mock_url, "--target", str(tmp_path / "absent.yaml"))
    assert missing.returncode == 2 and "no such file" in missing.stderr


def test_unknown_check_and_bad_arguments_are_usage_errors(mock_url: str) -> None:
    assert run_contract(mock_url, "--checks", "no_such_check").returncode == 2
    assert cli("--api-key", "x", "--profile", "nope").returncode == 2


def test_progress_lines_go_to_stderr(mock_url: str) -> None:
    proc = cli("--base-url", mock_url, "--api-key", PRIMARY_KEY, "--checks", "errors")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stderr.splitlines()[0] == "[1/2] errors.coded ..."
    assert proc.stderr.splitlines()[1].startswith("  passed (")
    assert "[1/2]" not in proc.stdout


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
    assert all("coverage: operations" in (c.findtext("system-out") or "") for c in cases)


def test_junit_report_of_a_failure(tmp_path: Path) -> None:
    report = tmp_path / "junit.xml"
    with mock_server("delete_not_idempotent") as base:
        run = run_contract(base, "--checks", "assessments,errors.coded", "--junit-xml", str(report))
    assert run.returncode == 1
    suite = ET.parse(report).getroot().find("testsuite")
    assert suite is not None and suite.get("tests") == "2" and suite.get("failures") == "1"
    failed = [c for c in suite.findall("testcase") if c.find("failure") is not None]
    assert [c.get("name") for c in failed] == ["assessments"]
    text = failed[0].findtext("failure") or ""
    assert "#status: expected 200, got 404" in text, "the field-level diff"
    assert "DELETE" in text and text.count("curl") >= 3, "every step of the failing example"
    assert PRIMARY_KEY not in run.stdout + report.read_text(), "keys never appear in the report"


def test_without_control_plane_clock_checks_are_skipped_with_reason(tmp_path: Path) -> None:
    """A deployment without a usable /_mock/: --target names the objects; clock checks are skipped, never passed."""
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


def test_junit_report_holds_any_evidence(tmp_path: Path) -> None:
    """Evidence may quote bytes XML cannot hold (a generated non-UTF-8 body): the report stays well-formed."""
    from contract_tests.outcome import CheckResult, Finding, Status
    from contract_tests.report import junit

    hostile = "body \x18\x00 \ud800 end"
    result = CheckResult("x", "a check", Status.FAILED, detail=hostile, findings=[Finding("failure", hostile)])
    junit([result], tmp_path / "junit.xml", 1.0)
    case = ET.parse(tmp_path / "junit.xml").getroot().find("testsuite/testcase")
    assert case is not None
    assert "body \\u0018\\u0000 \\ud800 end" in (case.findtext("system-out") or "")
    assert "\\u0018" in (case.findtext("failure") or "")
