"""make spec-diff: each kind of change is classified, and the exit status tells whether anything breaks."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from spec_tools.changes import compare
from spec_tools.diff import main
from spec_tools.load import API_DOCUMENT, REPO_ROOT, load_document

DATA = Path(__file__).parents[1] / "data" / "spec_diff"
BASE = DATA / "base.yaml"


def run(capsys: pytest.CaptureFixture[str], after: str) -> tuple[int, str]:
    code = main(["--old", str(BASE), "--new", str(DATA / after)])
    return code, capsys.readouterr().out


def breaking_section(out: str) -> str:
    return out.split("Non-breaking changes")[0]


@pytest.mark.parametrize(
    ("after", "expected"),
    [
        ("removed_operation.yaml", "GET /v1/things/{thing_id}: operation getThing removed"),
        ("removed_response_field.yaml", "GET /v1/things/{thing_id} -> 200: response field `size` removed"),
        ("renamed_response_field.yaml", "response field `name` removed (renamed to `title`?)"),
        ("new_required_request_field.yaml", "POST /v1/things: new required request field `owner_id`"),
        ("narrowed_enum.yaml", "response field `kind`: enum values removed: large"),
        ("changed_pattern.yaml", "response field `id` pattern changed from '^cbthg_[0-9a-f]{32}$'"),
        ("changed_type.yaml", "response field `size` changed type from integer to string"),
        ("removed_status.yaml", "GET /v1/things/{thing_id}: response status 404 removed"),
        ("shortened_window.yaml", "x-idempotency: window shortened from 86400s to 3600s"),
        ("changed_scope.yaml", "x-idempotency: `scope` changed from ['org', 'method', 'path'] to ['org']"),
    ],
)
def test_breaking_change_is_reported_and_fails(capsys: pytest.CaptureFixture[str], after: str, expected: str) -> None:
    code, out = run(capsys, after)
    assert code == 1
    assert expected in breaking_section(out), out


def test_additions_are_non_breaking(capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run(capsys, "additions.yaml")
    assert code == 0, out
    assert "Breaking changes for integrators (0)" in out
    for expected in (
        "new operation deleteThing",
        "new optional request field `note`",
        "new response field `color`",
        "may now return new enum values: huge",
        "window lengthened from 86400s to 172800s",
    ):
        assert expected in out


def test_identical_documents_have_no_changes(capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run(capsys, "base.yaml")
    assert (code, out.splitlines()[-1]) == (0, "No changes to the API contract.")


def test_removed_response_field_of_our_document_is_breaking(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    doc = load_document(API_DOCUMENT)
    assessment = doc["components"]["schemas"]["Assessment"]
    del assessment["properties"]["custom_fields"]
    assessment["required"].remove("custom_fields")
    changed = tmp_path / "coverbase.yaml"
    changed.write_text(json.dumps(doc), encoding="utf-8")  # JSON is YAML, and much faster to write
    assert main(["--old", str(API_DOCUMENT), "--new", str(changed)]) == 1
    out = capsys.readouterr().out
    assert "GET /v1/assessments/{assessment_id} -> 200: response field `custom_fields` removed" in breaking_section(out)
    # Nested fields of the removed one are not repeated.
    assert "custom_fields[].config_id" not in out


def test_our_document_against_itself_is_unchanged() -> None:
    doc = load_document(API_DOCUMENT)
    assert compare(doc, doc) == []


def test_make_spec_diff_reads_the_base_from_git(tmp_path: Path) -> None:
    """`--base REF` takes the old version from `git show REF:openapi/coverbase.yaml` in a scratch repository."""
    spec = tmp_path / "openapi" / "coverbase.yaml"
    spec.parent.mkdir()
    shutil.copyfile(API_DOCUMENT, spec)
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.invalid"}
    env |= {"GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.invalid", "PYTHONPATH": str(REPO_ROOT)}
    for command in (["init", "-q"], ["add", "openapi"], ["commit", "-q", "-m", "base"]):
        subprocess.run(["git", *command], cwd=tmp_path, env=env, check=True)
    text = spec.read_text(encoding="utf-8")
    spec.write_text(text.replace("        step_count:\n", "        step_total:\n", 1), encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "spec_tools.diff", "--base", "HEAD"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert "spec-diff HEAD:openapi/coverbase.yaml -> openapi/coverbase.yaml" in result.stdout
    assert "response field `data[].step_count` removed (renamed to `data[].step_total`?)" in result.stdout


def test_unknown_base_ref_is_an_error(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO_ROOT)
    assert main(["--base", "no-such-ref-for-spec-diff"]) == 2
    assert "git show no-such-ref-for-spec-diff:openapi/coverbase.yaml failed" in capsys.readouterr().err
