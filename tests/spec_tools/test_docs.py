"""make docs: the committed docs/ match the documents, and the generated reference holds what integrators need."""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

import pytest

from spec_tools.curl import LOCAL_BASE_URL, curl_examples
from spec_tools.docs import DOCS_DIR, main, render_all
from spec_tools.load import API_DOCUMENT, CONTROL_DOCUMENT, iter_operations, load_document

STALE = "docs/ is stale relative to openapi/*.yaml: run `make docs` and commit the result"


@pytest.fixture(scope="module")
def files() -> dict[str, str]:
    return render_all()


def generated_files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def section(text: str, operation_id: str) -> str:
    """The Markdown of one operation: from its anchor to the next operation's anchor."""
    start = text.index(f'<a id="{operation_id.lower()}"></a>')
    end = text.find('<a id="', start + 1)
    return text[start : end if end != -1 else len(text)]


def test_committed_docs_are_current(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--out", str(tmp_path)]) == 0
    fresh, committed = generated_files(tmp_path), generated_files(DOCS_DIR)
    assert sorted(fresh) == sorted(committed), STALE
    stale = [name for name in fresh if fresh[name] != committed[name]]
    assert not stale, f"{STALE} (differs: {', '.join(stale)})"


def test_generation_is_deterministic(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    main(["--out", str(tmp_path)])
    first = generated_files(tmp_path)
    main(["--out", str(tmp_path)])
    assert generated_files(tmp_path) == first
    assert capsys.readouterr().out.splitlines()[-1].endswith(": 0 file(s) changed")


def test_stale_pages_are_removed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "api").mkdir()
    (tmp_path / "api" / "retired-tag.md").write_text("old", encoding="utf-8")
    main(["--out", str(tmp_path)])
    assert not (tmp_path / "api" / "retired-tag.md").exists()


def test_layout_is_an_index_plus_a_page_per_tag(files: dict[str, str]) -> None:
    api_tags = [t["name"] for t in load_document(API_DOCUMENT)["tags"]]
    control_tags = [t["name"] for t in load_document(CONTROL_DOCUMENT)["tags"]]
    expected = {"README.md", "index.html", "api/README.md", "mock-control/README.md"}
    expected |= {f"api/{t}.md" for t in api_tags} | {f"mock-control/{t}.md" for t in control_tags}
    assert set(files) == expected


def test_every_operation_is_documented_in_markdown_and_html(files: dict[str, str]) -> None:
    html = files["index.html"]
    for folder, path in (("api", API_DOCUMENT), ("mock-control", CONTROL_DOCUMENT)):
        for op in iter_operations(load_document(path)):
            page = files[f"{folder}/{op.node['tags'][0]}.md"]
            assert f"`{op.method.upper()} {op.path}`" in page
            assert str(op.node["summary"]) in section(page, op.operation_id)
            assert f'id="{"api" if folder == "api" else "control"}-{op.operation_id}"' in html


def test_html_is_self_contained(files: dict[str, str]) -> None:
    html = files["index.html"]
    assert "<style>" in html
    for remote in ("<script", "<link", "src=", "@import", "url(", "<iframe"):
        assert remote not in html
    assert not re.search(r'href="(?!#)', html), "every link in the page must be an in-page anchor"
    ids = set(re.findall(r'id="([^"]+)"', html))
    assert set(re.findall(r'href="#([^"]+)"', html)) <= ids, "every in-page link must have a target"


def test_operation_has_auth_fields_errors_idempotency_and_curl(files: dict[str, str]) -> None:
    create = section(files["api/assessments.md"], "createAssessment")
    assert "**Auth:** Bearer API key" in create
    assert "| `vendor_id` | string | yes | ID prefix `cbvndr_` |" in create
    assert "| `assignee_id` | string | yes | nullable; pattern `^cbuser_[0-9a-f]{32}$` |" in create
    assert "| 409 | `workflow_disabled` | `CodedError` | The workflow exists but is not enabled. |" in create
    assert "| 400 | `assessment_invalid_reference` | `FreeFormError` |" in create
    assert "#### Idempotency" in create and "24 hours (86400 seconds)" in create
    assert "curl -sS -X POST 'http://127.0.0.1:4010/v1/assessments'" in create
    assert "-H 'Authorization: Bearer ak_live_xxx'" in create
    assert "`https://api.coverbase.app` (Production)" in files["api/assessments.md"]
    assert "`https://sandbox.api.coverbase.app`" in files["api/assessments.md"]


def test_idempotency_only_on_listed_operations(files: dict[str, str]) -> None:
    listed = set(load_document(API_DOCUMENT)["x-idempotency"]["operations"])
    for op in iter_operations(load_document(API_DOCUMENT)):
        text = section(files[f"api/{op.node['tags'][0]}.md"], op.operation_id)
        assert ("#### Idempotency" in text) == (op.operation_id in listed), op.operation_id


def test_query_parameters_and_defaults(files: dict[str, str]) -> None:
    runs = section(files["api/workflows.md"], "listWorkflowRuns")
    assert "| `limit` | query | integer | no | default `100`; minimum 1; maximum 500 |" in runs
    assert "/v1/workflows/runs?workflow_name=quarterly-privacy-sweep&status=failed" in runs


def test_control_plane_is_documented_without_credentials(files: dict[str, str]) -> None:
    control = files["mock-control/control.md"]
    assert "**Auth:** None (no credential needed)." in control
    assert "Authorization" not in section(control, "setClock")
    assert "-d '{\"advance_seconds\": 86400}'" in control
    assert "coverbase-mock control plane" in files["index.html"]


def curl_request(command: str) -> tuple[str, str, dict[str, str], str | None]:
    """(method, URL, headers, body) of one generated curl command."""
    words = shlex.split(command.replace("\\\n", " "))
    headers = dict(words[i + 1].split(": ", 1) for i, word in enumerate(words) if word == "-H")
    body = next((words[i + 1] for i, word in enumerate(words) if word == "-d"), None)
    return words[words.index("-X") + 1], next(w for w in words if w.startswith("http")), headers, body


def test_curl_examples_run_against_the_mock(api: Any) -> None:
    """Every generated API command, sent to the mock in process and in page order, gets its success status."""
    doc = load_document(API_DOCUMENT)
    for op in iter_operations(doc):
        success = min(int(s) for s in op.node["responses"] if str(s).startswith("2"))
        for example in curl_examples(doc, op):
            method, url, headers, body = curl_request(example.command)
            assert url.startswith(LOCAL_BASE_URL)
            response = api.request(method, url.removeprefix(LOCAL_BASE_URL), headers=headers, content=body)
            assert response.status_code == success, f"{example.command}\n-> {response.status_code} {response.text}"
