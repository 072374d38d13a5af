"""Stock schemathesis agrees: the CLI with the repository's schemathesis.toml finds no failure on the mock.

The command is the one the README gives a CI user (all checks, stateful phase included), the key from
COVERBASE_API_KEY expanded by the shell; the control plane's document is run the same way.
"""

from __future__ import annotations

import os
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import httpx
import pytest

from tests.support.contract_servers import BIN, PRIMARY_KEY, REPO, mock_server

SEED = "1"
MAX_EXAMPLES = "30"


def failures(report: Path) -> set[tuple[str, str, str]]:
    """(operation path, failure code, title) of every failure in schemathesis' JUnit report."""
    found = set()
    for case in ET.parse(report).getroot().iter("testcase"):
        path = case.get("name", "").partition(" ")[2]
        for failure in case.findall("failure"):
            titles = [line[2:] for line in (failure.text or "").splitlines() if line.startswith("- ")]
            for title in titles or [""]:
                found.add((path, title.split(" ", 1)[0] or failure.get("message", ""), title))
    return found


@pytest.mark.parametrize("document", ["openapi/coverbase.yaml", "openapi/mock-control.yaml"])
def test_the_stock_cli_with_the_shipped_configuration_agrees_with_the_document(tmp_path: Path, document: str) -> None:
    assert (REPO / "schemathesis.toml").is_file()
    report = tmp_path / "junit.xml"
    command = (
        f'"$SCHEMATHESIS" run {document} --url "$BASE" --checks all'
        ' -H "Authorization: Bearer $COVERBASE_API_KEY"'
        f' --seed {SEED} --max-examples {MAX_EXAMPLES} --report junit --report-junit-path "$REPORT" --no-color'
    )
    with mock_server() as base:
        env = {**os.environ, "COVERBASE_API_KEY": PRIMARY_KEY, "SCHEMATHESIS": str(BIN / "schemathesis")}
        proc = subprocess.run(
            ["bash", "-c", command],
            cwd=REPO,
            env=env | {"BASE": base, "REPORT": str(report)},
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        journal = httpx.get(f"{base}/_mock/requests", params={"limit": 1000}).json()["data"]
    output = proc.stdout + proc.stderr
    assert "Stateful" in output, "the stateful phase ran"
    assert PRIMARY_KEY not in output
    if document.endswith("coverbase.yaml"):
        created = [e for e in journal if e["org_id"] and e["status"] == 201]
        assert created, "the CLI was authenticated: it created runs and assessments"
    assert failures(report) == set(), output[-6000:]
    assert proc.returncode == 0, output[-6000:]
