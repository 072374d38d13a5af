"""The spec tools read every document fact through the mock's reader (mock_server.spec), never on their own."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from mock_server import spec
from spec_tools.diff import main as diff_main
from spec_tools.lint import lint_file
from spec_tools.load import API_DOCUMENT, CONTROL_DOCUMENT, iter_operations, load_document

ROOT = Path(__file__).resolve().parents[2]
MODULES = sorted((ROOT / "spec_tools").glob("*.py"))
# Keys of `x-idempotency` and `x-error-catalog` that only mock_server.spec may read.
READER_KEYS = {
    "min_length",
    "max_length",
    "invalid_status",
    "invalid_type",
    "window_boundary",
    "window_start",
    "stored_statuses",
    "body_mismatch",
    "concurrency",
    "validation_before_lookup",
    "result_bodies",
    "replay",
}


def trees() -> list[tuple[str, ast.AST]]:
    return [(path.name, ast.parse(path.read_text(encoding="utf-8"))) for path in MODULES]


def test_no_yaml_parsing_in_spec_tools() -> None:
    """Documents are parsed by mock_server.spec (load_document, parse_document) only."""
    offenders = []
    for name, tree in trees():
        for node in ast.walk(tree):
            is_yaml = isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "yaml"
            if is_yaml and isinstance(node, ast.Attribute) and node.attr != "YAMLError":
                offenders.append(f"{name}: yaml.{node.attr}")
    assert offenders == []


def test_no_reference_resolution_or_operation_walk_in_spec_tools() -> None:
    """No JSON-pointer unescaping (a resolver's job) and no list of HTTP methods of its own (the operation list's)."""
    offenders = []
    for name, tree in trees():
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "replace":
                first = node.args[0] if node.args else None
                if isinstance(first, ast.Constant) and first.value in ("~1", "~0"):
                    offenders.append(f"{name}:{node.lineno} unescapes a pointer")
            if isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == "HTTP_METHODS" for t in node.targets
            ):
                offenders.append(f"{name}:{node.lineno} defines HTTP_METHODS")
    assert offenders == []


def _read_keys(tree: ast.AST) -> list[tuple[int, str]]:
    """(line, key) of every `x[key]`, `x.get(key)` and `key in x` with a constant key."""
    found = []
    for node in ast.walk(tree):
        key: ast.expr | None = None
        if isinstance(node, ast.Subscript):
            key = node.slice
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "get":
            key = node.args[0] if node.args else None
        elif isinstance(node, ast.Compare) and any(isinstance(op, (ast.In, ast.NotIn)) for op in node.ops):
            key = node.left
        if isinstance(key, ast.Constant) and isinstance(key.value, str):
            found.append((node.lineno, key.value))
    return found


def test_policy_and_catalog_keys_are_read_by_the_mock_reader_only() -> None:
    offenders = [
        f"{name}:{line} reads {key!r}" for name, tree in trees() for line, key in _read_keys(tree) if key in READER_KEYS
    ]
    assert offenders == []


def test_the_key_check_sees_a_raw_read() -> None:
    """The check above bites: a raw read of a policy key is found."""
    raw = "policy['key']['min_length']; policy.get('window_boundary'); 'replay' in p"
    assert sorted(key for _, key in _read_keys(ast.parse(raw))) == ["key", "min_length", "replay", "window_boundary"]


@pytest.mark.parametrize("path", [API_DOCUMENT, CONTROL_DOCUMENT])
def test_operations_are_the_mocks_with_path_parameters_merged(path: Path) -> None:
    doc = load_document(path)
    ours = iter_operations(doc)
    assert [(op.operation_id, op.method.upper(), op.path) for op in ours] == [
        (op.operation_id, op.method, op.path) for op in spec.operations(doc)
    ]
    if path == API_DOCUMENT:
        run = next(op for op in ours if op.operation_id == "runWorkflow")
        # workflow_name is declared on the path item, Idempotency-Key on the operation.
        assert [(p["in"], p["name"]) for p in run.parameters] == [
            ("path", "workflow_name"),
            ("header", "Idempotency-Key"),
        ]


def test_operation_parameters_let_the_operation_override_its_path() -> None:
    doc = load_document(API_DOCUMENT)
    item = doc["paths"]["/v1/workflows/{workflow_name}/run"]
    item["post"]["parameters"].append(
        {"name": "workflow_name", "in": "path", "required": True, "schema": {"type": "integer"}}
    )
    op = spec.operation(doc, "runWorkflow")
    params = spec.operation_parameters(doc, op)
    assert [(p["name"], p["schema"]["type"]) for p in params if p["in"] == "path"] == [("workflow_name", "integer")]


def test_catalog_entries_and_idempotency_terms_read_our_document() -> None:
    doc = load_document(API_DOCUMENT)
    entries = {(e.group, e.name): e for e in spec.catalog_entries(doc)}
    assert entries[("codes", "workflow_disabled")].status == 409
    assert entries[("plain", "invalid_api_key")].text == "Invalid or expired API key."
    assert entries[("free_form", "assessment_invalid_reference")].status == 400
    assert spec.error_result_bodies(doc) == ("ImportResult",)
    terms = spec.idempotency_terms(doc)
    assert (terms.window_start, terms.body_mismatch, terms.concurrency) == (
        "first_use",
        "replay_original",
        "single_execution",
    )
    assert dict(terms.reasons).keys() >= {"window_boundary", "scope", "key"}


def test_load_document_returns_a_copy_the_caller_may_change() -> None:
    first = load_document(API_DOCUMENT)
    first["paths"].clear()
    assert load_document(API_DOCUMENT)["paths"]
    assert spec.load_document(API_DOCUMENT)["paths"]


def test_invalid_yaml_is_a_one_line_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("openapi: 3.0.3\npaths: {\n  /x: [\n", encoding="utf-8")
    [line] = lint_file(bad)
    assert line.startswith(f"{bad}: cannot be read as an OpenAPI document: {bad}: not valid YAML:")
    assert "line" in line
    assert diff_main(["--old", str(bad), "--new", str(API_DOCUMENT)]) == 2
    assert "not valid YAML" in capsys.readouterr().err
