"""Reports that can be acted on (#15): every --repro-dir script reproduces its failure on the faulted mock.

Each script is run twice: against the mock with the fault (it must exit 1 and say FAILURE REPRODUCED) and
against a mock without it (it must exit 0: the script checks the expectation, it does not just replay).
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.contract_servers import PRIMARY_KEY, SECOND_KEY, mock_server, run_contract

# Faults that can share one mock, and the checks that catch them (each writes one script).
GROUPS: dict[str, tuple[list[str], list[str]]] = {
    "clock-and-isolation": (
        [
            "idempotency_window_short",
            "idempotency_replay_current_state",
            "cross_org_run_readable",
            "delete_not_idempotent",
            "completed_at_on_started",
        ],
        ["idempotency.window", "idempotency.snapshot", "isolation", "assessments", "run_lifecycle"],
    ),
    "errors-and-lists": (
        ["error_code_renamed", "list_runs_oldest_first", "idempotency_stores_errors"],
        ["errors.coded", "list_runs", "idempotency.not_stored_retry", "schema_conformance"],
    ),
    "replay": (["idempotency_ignored"], ["idempotency.replay"]),
    # Alone: which run is unreadable depends on how many runs were created before it.
    "readable": (["created_run_sometimes_unreadable"], ["created_resources_readable"]),
}
# A script cannot hold the mock's clock still: against a correct mock, a real second passing between the
# clock move and the replay that follows it would look like the window ending early. Faulted, it is exact.
REAL_TIME_SENSITIVE = {"idempotency.window"}
SCRIPT_SECONDS = 60


def run_script(script: Path, base_url: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "BASE_URL": base_url, "API_KEY": PRIMARY_KEY, "SECOND_API_KEY": SECOND_KEY}
    return subprocess.run(
        ["bash", str(script)], capture_output=True, text=True, timeout=SCRIPT_SECONDS, check=False, env=env
    )


@pytest.fixture(scope="module")
def correct_mock() -> Iterator[str]:
    with mock_server() as base:
        yield base


@pytest.mark.parametrize("group", sorted(GROUPS))
def test_every_script_reproduces_its_failure(group: str, correct_mock: str, tmp_path: Path) -> None:
    faults, checks = GROUPS[group]
    folder = tmp_path / "repro"
    with mock_server(*faults) as faulted:
        run = run_contract(faulted, "--checks", ",".join(checks), "--repro-dir", str(folder))
        assert run.returncode == 1, run.stdout + run.stderr
        scripts = sorted(folder.glob("*.sh"))
        assert sorted({s.name.rsplit("-", 1)[0] for s in scripts}) == sorted(checks), run.stdout
        assert f"{len(scripts)} reproduction script(s)" in run.stdout
        for script in scripts:
            text = script.read_text()
            assert PRIMARY_KEY not in text and SECOND_KEY not in text, "keys come from the environment"
            faulted_run = run_script(script, faulted)
            assert faulted_run.returncode == 1, f"{script.name}\n{faulted_run.stdout}{faulted_run.stderr}\n{text}"
            assert "FAILURE REPRODUCED" in faulted_run.stdout
    for script in scripts:
        if script.name.rsplit("-", 1)[0] in REAL_TIME_SENSITIVE:
            continue
        correct_run = run_script(script, correct_mock)
        assert correct_run.returncode == 0, f"{script.name}\n{correct_run.stdout}{correct_run.stderr}"
        assert "not reproduced" in correct_run.stdout


def test_a_script_without_its_keys_does_not_run(tmp_path: Path) -> None:
    with mock_server("delete_not_idempotent") as faulted:
        run_contract(faulted, "--checks", "assessments", "--repro-dir", str(tmp_path))
        script = next(tmp_path.glob("*.sh"))
        env = {k: v for k, v in os.environ.items() if k not in ("API_KEY", "SECOND_API_KEY")}
        proc = subprocess.run(
            ["bash", str(script)],
            capture_output=True,
            text=True,
            timeout=SCRIPT_SECONDS,
            check=False,
            env=env | {"BASE_URL": faulted},
        )
    assert proc.returncode != 0 and proc.returncode != 1, "never 'reproduced' (1) when it could not run"
    assert "set API_KEY" in proc.stderr
