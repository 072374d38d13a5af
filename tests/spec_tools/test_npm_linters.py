"""Spectral and Redocly in make lint-spec: their output in our shape, failures that fail, one line without Node."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from spec_tools import npm_linters
from spec_tools.lint import main
from spec_tools.load import API_DOCUMENT, CONTROL_DOCUMENT, load_document
from spec_tools.npm_linters import REDOCLY, SPECTRAL, ToolFinding, parse_redocly, parse_spectral

NAMES = {"/repo/openapi/coverbase.yaml": "openapi/coverbase.yaml", "openapi/coverbase.yaml": "openapi/coverbase.yaml"}
EXAMPLE_PATH = (
    *("paths", "/v1/assessments/{assessment_id}", "get", "responses", "200"),
    *("content", "application/json", "example"),
)
EXAMPLE = "#/paths/~1v1~1assessments~1{assessment_id}/get/responses/200/content/application~1json/example"
SPECTRAL_OUT = json.dumps(
    [
        {
            "code": "oas3-valid-media-example",
            "path": [*EXAMPLE_PATH],
            "message": '"nullable" cannot be used without "type"',
            "severity": 0,
            "range": {"start": {"line": 359, "character": 22}, "end": {"line": 376, "character": 38}},
            "source": "/repo/openapi/coverbase.yaml",
        },
        {
            "code": "info-contact",
            "path": ["info"],
            "message": 'Info object must have "contact" object.',
            "severity": 1,
            "range": {"start": {"line": 1, "character": 5}, "end": {"line": 11, "character": 65}},
            "source": "/repo/openapi/coverbase.yaml",
        },
    ]
)


def redocly_report(source: str, problems: list[tuple[str, str, str, int]]) -> str:
    return json.dumps(
        {
            "totals": {"errors": sum(p[1] == "error" for p in problems)},
            "problems": [
                {
                    "ruleId": rule,
                    "severity": severity,
                    "message": f"{rule} says no.",
                    "location": [{"source": {"ref": source}, "pointer": where, "start": {"line": line, "col": 1}}],
                    "reference": f"https://redocly.com/docs/cli/rules/oas/{rule}",
                }
                for rule, severity, where, line in problems
            ],
        },
        indent=2,
    )


def test_spectral_results_become_pointer_findings() -> None:
    error, warning = parse_spectral(SPECTRAL_OUT, NAMES)
    assert error == ToolFinding(
        "openapi/coverbase.yaml",
        0,
        360,
        EXAMPLE,
        "spectral",
        "oas3-valid-media-example",
        '"nullable" cannot be used without "type"',
    )
    assert error.render() == (
        f"openapi/coverbase.yaml:360: {EXAMPLE}: [spectral oas3-valid-media-example] error:"
        ' "nullable" cannot be used without "type"'
    )
    assert (warning.pointer, warning.severity, warning.line) == ("#/info", "warning", 2)


def test_redocly_prints_one_report_per_document() -> None:
    out = redocly_report("openapi/coverbase.yaml", [("nullable-type-sibling", "error", "#/components/x", 1079)])
    out += "\n" + redocly_report("openapi/mock-control.yaml", [("info-license", "warn", "#/info", 2)])
    error, warning = parse_redocly(out, NAMES)
    assert (error.source, error.rank, error.line, error.pointer) == (
        "openapi/coverbase.yaml",
        0,
        1079,
        "#/components/x",
    )
    assert error.render().endswith("See https://redocly.com/docs/cli/rules/oas/nullable-type-sibling")
    assert (warning.source, warning.severity) == ("openapi/mock-control.yaml", "warning")


def test_errors_fail_warnings_do_not_and_a_broken_tool_fails_with_its_output() -> None:
    errors = npm_linters._verdict(SPECTRAL, 1, SPECTRAL_OUT, "", NAMES)
    assert errors.failed and errors.failure is None and errors.errors == 1
    assert errors.summary().endswith("(spectral:oas): 1 error, 1 warning")
    warnings = npm_linters._verdict(REDOCLY, 0, redocly_report("a.yaml", [("r", "warn", "#", 1)]), "", {})
    assert not warnings.failed
    crashed = npm_linters._verdict(SPECTRAL, 2, "Error: ruleset not found", "at Object.<anonymous>", NAMES)
    assert crashed.failed and "ruleset not found" in crashed.summary() and "failed to run" in crashed.summary()
    # Exit status 1 is "errors found"; without an error finding it is the tool's own failure.
    silent = npm_linters._verdict(REDOCLY, 1, "", "Something went wrong", NAMES)
    assert silent.failure == "Something went wrong"


def test_report_lists_errors_first_then_one_summary_per_tool() -> None:
    spectral = npm_linters._verdict(SPECTRAL, 1, SPECTRAL_OUT, "", NAMES)
    lines = npm_linters.report([spectral])
    assert "] error:" in lines[0] and "] warning:" in lines[1]
    assert lines[2].startswith("spectral ")


def test_without_node_one_line_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(npm_linters.shutil, "which", lambda name: None)
    assert main(["--npm-linters", str(API_DOCUMENT)]) == 2
    out, err = capsys.readouterr()
    assert out.strip() == f"{API_DOCUMENT}: ok"  # our rules still ran
    assert err.count("\n") == 1
    assert err.startswith("lint-spec: Spectral and Redocly need Node.js") and "install Node.js >= 20.19" in err


def test_without_npm_when_not_installed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(npm_linters, "node_version", lambda: (20, 20))
    monkeypatch.setattr(npm_linters, "installed", lambda: False)
    monkeypatch.setattr(npm_linters.shutil, "which", lambda name: None)
    with pytest.raises(npm_linters.ToolchainError, match="installed with npm, which is not on PATH"):
        npm_linters.ensure_installed()


def test_node_too_old_for_redocly(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(npm_linters, "node_version", lambda: (18, 19))
    with pytest.raises(npm_linters.ToolchainError, match=r"Node.js >= 20.19 but `node` is 18.19"):
        npm_linters.ensure_installed()


needs_node = pytest.mark.skipif(
    shutil.which("node") is None or (shutil.which("npm") is None and not npm_linters.installed()),
    reason="Node.js with npm is not installed (make lint-spec says how to install it)",
)


@needs_node
def test_our_documents_have_no_spectral_or_redocly_errors(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--npm-linters", str(API_DOCUMENT), str(CONTROL_DOCUMENT)]) == 0
    out = capsys.readouterr().out
    assert "spectral 6.16.3 (spectral:oas): 0 errors" in out
    assert "redocly 2.77.0 (recommended): 0 errors" in out


@needs_node
def test_both_tools_catch_nullable_without_type(tmp_path: Path) -> None:
    """The defect of issue 13, planted again: each tool reports an error, so lint-spec fails."""
    doc = load_document(API_DOCUMENT)
    doc["components"]["schemas"]["CustomFieldValue"]["properties"]["value"] = {"nullable": True}
    broken = tmp_path / "coverbase.yaml"
    broken.write_text(json.dumps(doc, indent=1), encoding="utf-8")  # JSON is YAML
    runs = {run.tool: run for run in npm_linters.run([broken])}
    assert all(run.failed and run.failure is None for run in runs.values())
    errors = {(f.tool, f.rule) for run in runs.values() for f in run.findings if f.rank == 0}
    assert ("redocly", "nullable-type-sibling") in errors
    assert ("spectral", "oas3-valid-media-example") in errors
    assert all(f.source == str(broken) for run in runs.values() for f in run.findings)


NPM_FAILURE = """npm error code ECONNREFUSED
npm error syscall connect
npm error FetchError: request to https://registry.npmjs.org/yargs-parser failed, reason: connect ECONNREFUSED
npm error     at ClientRequest.<anonymous> (/usr/lib/node_modules/npm/node_modules/minipass-fetch/lib/index.js:130:14)
npm error A complete log of this run can be found in: /root/.npm/_logs/debug-0.log
"""


@pytest.fixture
def scratch_install(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """spec_tools/npm moved to a scratch folder, node 20.20 and npm on PATH; returns the npm commands run."""
    lock = tmp_path / "package-lock.json"
    lock.write_text('{"lockfileVersion": 3}', encoding="utf-8")
    modules = tmp_path / "node_modules"
    for name, value in (("NPM_DIR", tmp_path), ("LOCKFILE", lock), ("MODULES", modules)):
        monkeypatch.setattr(npm_linters, name, value)
    monkeypatch.setattr(npm_linters, "STAMP", modules / ".installed-from-lock")
    monkeypatch.setattr(npm_linters, "INSTALL_LOCK", tmp_path / ".install.lock")
    monkeypatch.setattr(npm_linters, "node_version", lambda: (20, 20))
    monkeypatch.setattr(npm_linters.shutil, "which", lambda name: f"/usr/bin/{name}")
    return []


def test_the_first_run_installs_the_locked_tree_and_later_runs_do_not(
    scratch_install: list[list[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    def npm_ci(command: list[str], **_: object) -> subprocess.CompletedProcess[str]:
        scratch_install.append(command)
        for tool in (SPECTRAL, REDOCLY):
            tool.binary.parent.mkdir(parents=True, exist_ok=True)
            tool.binary.touch()
        return subprocess.CompletedProcess(command, 0, "", "")

    monkeypatch.setattr(npm_linters.subprocess, "run", npm_ci)
    assert npm_linters.ensure_installed() is True
    assert scratch_install[0][1:4] == ["ci", "--prefix", str(npm_linters.NPM_DIR)]
    assert npm_linters.ensure_installed() is False and len(scratch_install) == 1
    npm_linters.LOCKFILE.write_text('{"lockfileVersion": 3, "packages": {}}', encoding="utf-8")  # a pin changed
    assert npm_linters.ensure_installed() is True and len(scratch_install) == 2


def test_a_failed_install_says_why_in_one_line(
    scratch_install: list[list[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(
        npm_linters.subprocess, "run", lambda command, **_: subprocess.CompletedProcess(command, 1, "", NPM_FAILURE)
    )
    with pytest.raises(npm_linters.ToolchainError) as caught:
        npm_linters.ensure_installed()
    message = str(caught.value)
    assert "\n" not in message
    assert message.endswith(
        "failed: FetchError: request to https://registry.npmjs.org/yargs-parser failed, reason: connect"
        " ECONNREFUSED; check the npm registry is reachable."
    )
    assert not npm_linters.installed()
