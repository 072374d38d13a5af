"""The documents are valid OpenAPI, their examples validate, and every operation has one handler."""

from __future__ import annotations

import importlib
import types
from typing import Any

import pytest
from openapi_spec_validator import validate

from mock_server import spec
from mock_server.component_schemas import describe_errors, schema_validator

DOCS = {
    "coverbase": (spec.load_document(), "mock_server.api", None),
    "mock-control": (spec.load_control_document(), "mock_server.control", "handlers"),
}


@pytest.mark.parametrize("name", sorted(DOCS))
def test_document_is_valid_openapi_3_0(name: str) -> None:
    document = DOCS[name][0]
    assert document["openapi"] == "3.0.3"
    validate(document)


def _examples(document: dict[str, Any]) -> list[tuple[str, dict[str, Any], Any]]:
    """(where, schema, example) for every example on parameters, bodies and responses."""
    found: list[tuple[str, dict[str, Any], Any]] = []

    def media(where: str, content: dict[str, Any]) -> None:
        for mime, entry in content.items():
            schema = entry.get("schema", {})
            if "example" in entry:
                found.append((f"{where} {mime} example", schema, entry["example"]))
            for ex_name, ex in entry.get("examples", {}).items():
                found.append((f"{where} {mime} examples.{ex_name}", schema, spec.resolve(document, ex)["value"]))

    for op in spec.operations(document):
        params = list(document["paths"][op.path].get("parameters", [])) + list(op.raw.get("parameters", []))
        for param in params:
            param = spec.resolve(document, param)
            if "example" in param:
                found.append((f"{op.operation_id} parameter {param['name']}", param["schema"], param["example"]))
        body = spec.resolve(document, op.raw.get("requestBody"))
        if body:
            media(f"{op.operation_id} requestBody", body.get("content", {}))
        for status, response in op.raw["responses"].items():
            media(f"{op.operation_id} {status}", spec.resolve(document, response).get("content", {}))
    return found


@pytest.mark.parametrize("name", sorted(DOCS))
def test_every_example_validates_against_its_schema(name: str) -> None:
    document = DOCS[name][0]
    examples = _examples(document)
    assert len(examples) > 10
    problems: list[str] = []
    for where, schema, example in examples:
        problems += describe_errors(schema_validator(document, schema), example, where)
    assert problems == []


def test_example_checker_catches_a_bad_example() -> None:
    document = DOCS["coverbase"][0]
    schema = {"$ref": "#/components/schemas/WorkflowRunCreated"}
    bad = {"workflow_run_id": "cbwr_short", "workflow_name": "x", "status": "running", "started_at": 1, "input": {}}
    problems = describe_errors(schema_validator(document, schema), bad, "bad")
    assert any("status" in p for p in problems)
    assert any("workflow_run_id" in p for p in problems)


@pytest.mark.parametrize("name", sorted(DOCS))
def test_every_operation_has_exactly_one_handler(name: str) -> None:
    document, package, module_override = DOCS[name]
    expected: dict[str, set[str]] = {}
    for op in spec.operations(document):
        module = f"{package}.{module_override or op.tag}"
        expected.setdefault(module, set()).add(spec.handler_name(op.operation_id))
    for module_name, names in expected.items():
        module = importlib.import_module(module_name)
        handlers = {
            n
            for n, fn in vars(module).items()
            if isinstance(fn, types.FunctionType) and not n.startswith("_") and fn.__module__ == module.__name__
        }
        assert handlers == names, f"{module_name}: handlers {sorted(handlers)} != operations {sorted(names)}"


def test_operation_ids_are_unique_and_tagged() -> None:
    for document, _, _ in DOCS.values():
        ids = [op.operation_id for op in spec.operations(document)]
        assert len(ids) == len(set(ids))
        assert all(op.raw.get("tags") for op in spec.operations(document))


def test_idempotency_extension_names_existing_post_operations() -> None:
    document = DOCS["coverbase"][0]
    policy = spec.idempotency_policy(document)
    posts = {op.operation_id for op in spec.operations(document) if op.method == "POST"}
    assert policy.operation_ids and policy.operation_ids <= posts
    for op in spec.operations(document):
        marked = op.raw.get("x-idempotency") == "#/x-idempotency"
        assert marked == (op.operation_id in policy.operation_ids), op.operation_id
        params = [spec.resolve(document, p).get("name") for p in op.raw.get("parameters", [])]
        assert (policy.header in params) == marked


def test_every_catalog_code_is_documented_on_some_response() -> None:
    document = DOCS["coverbase"][0]
    used: set[str] = set()
    for op in spec.operations(document):
        for response in op.raw["responses"].values():
            media = spec.resolve(document, response).get("content", {}).get("application/json", {})
            examples = [media.get("example"), *(e.get("value") for e in (media.get("examples") or {}).values())]
            for example in examples:
                detail = example.get("detail") if isinstance(example, dict) else None
                if isinstance(detail, dict) and "code" in detail:
                    used.add(detail["code"])
    catalog = set(spec.error_catalog(document))
    assert used == catalog
    enum = set(spec.schema(document, "CodedError")["properties"]["detail"]["properties"]["code"]["enum"])
    assert enum == catalog
