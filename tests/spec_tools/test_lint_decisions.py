"""make lint-spec: the decision-marker rule (x-decision objects with a unique kebab-case id and a one-line rule)."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from spec_tools.finding import Finding
from spec_tools.lint import lint_document
from spec_tools.load import API_DOCUMENT, CONTROL_DOCUMENT, Document, load_document

_API = load_document(API_DOCUMENT)
KEY_PARAMETER = "#/components/parameters/IdempotencyKey/x-decision"


def findings(mutate: Callable[[Document], Any]) -> list[Finding]:
    doc = copy.deepcopy(_API)
    mutate(doc)
    return [f for f in lint_document(doc) if f.rule == "decision-marker"]


def test_our_documents_mark_their_decisions_well() -> None:
    for path in (API_DOCUMENT, CONTROL_DOCUMENT):
        assert [f for f in lint_document(load_document(path)) if f.rule == "decision-marker"] == []


def test_a_marker_needs_a_kebab_case_id_and_a_one_line_rule() -> None:
    def spoil(doc: Document) -> None:
        doc["components"]["parameters"]["IdempotencyKey"]["x-decision"] = {"id": "Key Format", "rule": "a\nb"}

    found = findings(spoil)
    assert [f.pointer for f in found] == [KEY_PARAMETER, KEY_PARAMETER]
    assert "not kebab-case" in found[0].message + found[1].message
    assert any("one-line rule" in f.message for f in found)
    assert all(f.fix for f in found)


def test_ids_are_unique_and_keys_known() -> None:
    def spoil(doc: Document) -> None:
        marker = {"id": "id-references-are-plain-strings", "rule": "Copied.", "when": "always"}
        doc["components"]["schemas"]["WorkflowRunRequest"]["x-decision"] = marker

    messages = sorted(f.message for f in findings(spoil))
    assert any("also used at #/components/schemas/AssessmentCreate/x-decision" in m for m in messages), messages
    assert any("Unknown key(s) when" in m for m in messages), messages


def test_applies_to_names_a_key_of_the_extension() -> None:
    def spoil(doc: Document) -> None:
        doc["x-idempotency"]["x-decision"][0]["applies_to"] = "window_boundry"

    found = findings(spoil)
    assert [f.pointer for f in found] == ["#/x-idempotency/x-decision/0"]
    assert "window_boundry" in found[0].message


def test_a_marker_that_is_not_an_object() -> None:
    found = findings(lambda doc: doc["components"]["schemas"]["ImportRecordError"].update({"x-decision": "yes"}))
    assert [f.message for f in found] == ["An x-decision is not an object."]
