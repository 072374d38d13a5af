"""make lint-spec: our documents pass; each rule catches a broken copy with a message naming pointer and fix."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from spec_tools.finding import Finding
from spec_tools.lint import lint_document, lint_file, main, structural_findings
from spec_tools.load import API_DOCUMENT, CONTROL_DOCUMENT, Document, load_document

DATA = Path(__file__).parents[1] / "data" / "spec_lint"
ASSESSMENT = "#/paths/~1v1~1assessments~1{assessment_id}"
CREATE = "#/paths/~1v1~1assessments/post"
RUN = "#/paths/~1v1~1workflows~1{workflow_name}~1run/post"
_API = load_document(API_DOCUMENT)


def broken(mutate: Callable[[Document], Any]) -> list[Finding]:
    """Findings on a copy of the API document changed by ``mutate``."""
    doc = copy.deepcopy(_API)
    mutate(doc)
    return lint_document(doc)


def only(findings: list[Finding], rule: str) -> list[Finding]:
    return [f for f in findings if f.rule == rule]


def test_our_documents_are_clean(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(API_DOCUMENT), str(CONTROL_DOCUMENT)]) == 0
    assert capsys.readouterr().out.count(": ok") == 2


def test_structural_errors_come_from_openapi_spec_validator(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(DATA / "missing_responses.yaml")]) == 1
    out = capsys.readouterr().out
    assert "[openapi-spec-validator]" in out
    assert "#/paths/~1v1~1things/get" in out and '"responses" is a required property' in out


def test_operation_metadata() -> None:
    def strip(doc: Document) -> None:
        op = doc["paths"]["/v1/assessments/{assessment_id}"]["get"]
        del op["summary"]
        op["tags"] = ["undeclared"]

    findings = only(broken(strip), "operation-metadata")
    messages = sorted(f.message for f in findings)
    assert any("has no summary" in m for m in messages)
    assert any("'undeclared'" in m for m in messages)
    assert {f.pointer for f in findings} == {f"{ASSESSMENT}/get", f"{ASSESSMENT}/get/tags"}


def test_missing_operation_id_is_reported_before_the_rules() -> None:
    """The mock lists operations by operationId, so the rules (which read through it) wait until every one has it."""

    def strip(doc: Document) -> None:
        op = doc["paths"]["/v1/assessments/{assessment_id}"]["get"]
        del op["summary"], op["operationId"]

    [finding] = broken(strip)
    assert (finding.pointer, finding.rule) == (f"{ASSESSMENT}/get", "operation-metadata")
    assert "has no operationId" in finding.message and "operationId" in finding.fix


def test_reference_the_mock_cannot_follow() -> None:
    """openapi-spec-validator accepts a $ref into a list; the mock's resolver does not, so lint says so."""

    def point_into_list(doc: Document) -> None:
        op = doc["paths"]["/v1/assessments/{assessment_id}"]["delete"]
        op["parameters"] = [{"$ref": "#/paths/~1v1~1assessments~1{assessment_id}/parameters/0"}]

    def mutated() -> Document:
        doc = copy.deepcopy(_API)
        point_into_list(doc)
        return doc

    assert structural_findings(mutated()) == []
    [finding] = broken(point_into_list)
    assert finding.rule == "mock-reader"
    assert finding.pointer == f"{ASSESSMENT}/delete/parameters/0/$ref"
    assert "#/components/schemas/<Name>" in finding.fix


def test_extension_the_mock_cannot_read() -> None:
    def drop_key_rule(doc: Document) -> None:
        del doc["x-idempotency"]["key"]["invalid_type"]
        del doc["x-error-catalog"]["plain"]["not_found"]["status"]

    findings = broken(drop_key_rule)
    assert [(f.pointer, f.rule) for f in findings] == [
        ("#/x-error-catalog", "mock-reader"),
        ("#/x-idempotency", "mock-reader"),
    ]
    assert "plain_errors: it has no 'status'" in findings[0].message
    assert "idempotency_policy: it has no 'invalid_type'" in findings[1].message


def test_key_pattern_the_mock_cannot_compile() -> None:
    def unbalanced(doc: Document) -> None:
        doc["x-idempotency"]["key"]["pattern"] = "^[\\x21-\\x7E+$"

    [finding] = broken(unbalanced)
    assert (finding.pointer, finding.rule) == ("#/x-idempotency", "mock-reader")
    assert "idempotency_policy: error: unterminated character set" in finding.message


def test_reference_cycle_is_a_finding_not_a_crash() -> None:
    def cycle(doc: Document) -> None:
        schemas = doc["components"]["schemas"]
        schemas["Assessment"]["properties"]["custom_fields"] = {"$ref": "#/components/schemas/Loop"}
        schemas["Loop"] = {"$ref": "#/components/schemas/Loop2"}
        schemas["Loop2"] = {"$ref": "#/components/schemas/Loop"}

    [finding] = broken(cycle)
    assert (finding.pointer, finding.rule) == ("#", "openapi-spec-validator")
    assert "leads back to itself" in finding.message


def test_error_response_must_use_a_documented_error_body() -> None:
    def inline(doc: Document) -> None:
        doc["paths"]["/v1/workflows/{workflow_name}/run"]["post"]["responses"]["409"]["content"]["application/json"][
            "schema"
        ] = {"type": "object"}

    [finding] = only(broken(inline), "error-body")
    assert finding.pointer == f"{RUN}/responses/409"
    assert "inline schema" in finding.message and "CodedError" in finding.fix


def test_error_code_must_be_catalogued() -> None:
    def rename(doc: Document) -> None:
        response = doc["paths"]["/v1/workflows/{workflow_name}/run"]["post"]["responses"]["502"]
        response["content"]["application/json"]["example"]["detail"]["code"] = "dispatch_failed"

    findings = only(broken(rename), "error-catalog")
    texts = [f.render("coverbase.yaml") for f in findings]
    assert any(f"{RUN}/responses/502" in t and "'dispatch_failed'" in t and "x-error-catalog" in t for t in texts)
    # The renamed example was the only use of workflow_dispatch_failed, so the catalog entry is now unused.
    assert any(f.pointer == "#/x-error-catalog/codes/workflow_dispatch_failed" for f in findings)


def test_error_code_status_must_match_catalog() -> None:
    def move(doc: Document) -> None:
        doc["x-error-catalog"]["codes"]["workflow_disabled"]["status"] = 422

    findings = only(broken(move), "error-catalog")
    assert {f.pointer for f in findings} == {f"{CREATE}/responses/409", f"{RUN}/responses/409"}
    assert all("catalogued with status 422 but used in a 409" in f.message for f in findings)


def test_uncatalogued_code_in_fixture_fails_the_cli(capsys: pytest.CaptureFixture[str]) -> None:
    lines = lint_file(DATA / "uncatalogued_code.yaml")
    assert any("'thing_missing'" in line and "[error-catalog]" in line for line in lines)
    assert any("'thing_not_found' is not used" in line for line in lines)


def test_examples_must_match_their_schema() -> None:
    def corrupt(doc: Document) -> None:
        body = doc["paths"]["/v1/assessments"]["post"]["requestBody"]["content"]["application/json"]
        body["examples"]["minimal"]["value"]["vendor_id"] = 42
        [limit] = [p for p in doc["paths"]["/v1/workflows/runs"]["get"]["parameters"] if p["name"] == "limit"]
        limit["example"] = 0

    findings = only(broken(corrupt), "example-schema")
    pointers = {f.pointer for f in findings}
    assert f"{CREATE}/requestBody/content/application~1json/examples/minimal/value/vendor_id" in pointers
    assert any(
        p.startswith("#/paths/~1v1~1workflows~1runs/get/parameters/") and p.endswith("/example") for p in pointers
    )
    assert any("0 is less than the minimum of 1" in f.message for f in findings)
    assert any("42 is not of type 'string'" in f.message for f in findings)


def test_response_examples_are_checked_in_shared_components() -> None:
    def corrupt(doc: Document) -> None:
        doc["components"]["responses"]["AssessmentNotFound"]["content"]["application/json"]["example"] = {"x": 1}

    findings = only(broken(corrupt), "example-schema")
    # Reported once, where the example is written, although two operations use the response.
    assert {f.pointer for f in findings} == {
        "#/components/responses/AssessmentNotFound/content/application~1json/example"
    }
    assert any("'detail' is a required property" in f.message for f in findings)


def test_idempotency_key_fixture_fails_the_cli(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(DATA / "idempotency_key_mismatch.yaml")]) == 1
    lines = [line for line in capsys.readouterr().out.splitlines() if "[idempotency-key]" in line]
    header = "#/components/parameters/IdempotencyKey/schema"
    assert len(lines) == 4, lines
    assert any(f"{header}: " in line and "no minLength" in line and "add `minLength: 1`" in line for line in lines)
    assert any(
        f"{header}/maxLength: " in line and "maxLength 128" in line and "`maxLength: 255`" in line for line in lines
    )
    assert any(f"{header}/pattern: " in line and '`pattern: "^[\\\\x21-\\\\x7E]+$"`' in line for line in lines)
    assert any(
        "#/paths/~1v1~1others/post: " in line and '$ref: "#/components/parameters/IdempotencyKey"' in line
        for line in lines
    )


def test_idempotency_key_rules_must_agree_with_the_header_schema() -> None:
    """Our document agrees today; a change on one side only is caught where it is written."""

    def narrow(doc: Document) -> None:
        doc["x-idempotency"]["key"]["max_length"] = 64

    [finding] = only(broken(narrow), "idempotency-key")
    assert finding.pointer == "#/components/parameters/IdempotencyKey/schema/maxLength"
    assert "maxLength 255, but #/x-idempotency/key/max_length is 64" in finding.message

    def drop_header(doc: Document) -> None:
        doc["paths"]["/v1/workflows/{workflow_name}/run"]["post"]["parameters"] = []

    [finding] = only(broken(drop_header), "idempotency-key")
    assert finding.pointer == RUN
    assert "declares no `Idempotency-Key` header parameter" in finding.message


def test_idempotency_references() -> None:
    def point_wrong(doc: Document) -> None:
        doc["x-idempotency"]["operations"] = ["createAssessment", "getAssessment", "runWorkflows"]
        doc["paths"]["/v1/assessments"]["post"]["x-idempotency"] = "#/x-idempotent"

    findings = only(broken(point_wrong), "idempotency-ref")
    messages = " | ".join(f.message for f in findings)
    assert "'getAssessment' is GET /v1/assessments/{assessment_id}" in messages
    assert "'runWorkflows' is not an operationId" in messages
    assert "'#/x-idempotent', which names no top-level key" in messages
    # runWorkflow still points at the policy but was dropped from its list.
    assert any(f.pointer == f"{RUN}/x-idempotency" and "not in that policy" in f.message for f in findings)


def test_links_must_target_existing_operations_and_parameters() -> None:
    def break_links(doc: Document) -> None:
        created = doc["paths"]["/v1/assessments"]["post"]["responses"]["201"]["links"]
        created["GetAssessment"]["operationId"] = "getAssesment"
        created["GetTriggeredRun"]["parameters"] = {"run_id": "$response.body#/workflow_run_id"}

    findings = only(broken(break_links), "link")
    assert {f.pointer for f in findings} == {
        f"{CREATE}/responses/201/links/GetAssessment",
        f"{CREATE}/responses/201/links/GetTriggeredRun/parameters/run_id",
    }
    assert any("workflow_run_id" in f.fix for f in findings)


def test_unused_components() -> None:
    def orphan(doc: Document) -> None:
        doc["components"]["schemas"]["Orphan"] = {
            "type": "object",
            "properties": {"n": {"$ref": "#/components/schemas/Leaf"}},
        }
        doc["components"]["schemas"]["Leaf"] = {"type": "string"}
        doc["components"]["parameters"]["Unused"] = {"name": "q", "in": "query", "schema": {"type": "string"}}

    pointers = {f.pointer for f in only(broken(orphan), "unused-component")}
    # Leaf is referenced, but only from an unused schema, so it is unused too.
    assert pointers == {"#/components/schemas/Orphan", "#/components/schemas/Leaf", "#/components/parameters/Unused"}


def test_ids_carry_a_prefix() -> None:
    def unprefix(doc: Document) -> None:
        schemas = doc["components"]["schemas"]
        del schemas["AssessmentCreated"]["properties"]["id"]["pattern"]
        schemas["WorkflowRun"]["properties"]["workflow_definition_id"]["pattern"] = "^[0-9a-f]{32}$"
        del schemas["AssessmentCreate"]["properties"]["service_ids"]["items"]["x-id-prefix"]
        del doc["components"]["parameters"]["AssessmentId"]["x-id-prefix"]

    findings = only(broken(unprefix), "id-prefix")
    assert {f.pointer for f in findings} == {
        "#/components/schemas/AssessmentCreated/properties/id",
        "#/components/schemas/WorkflowRun/properties/workflow_definition_id",
        "#/components/schemas/AssessmentCreate/properties/service_ids",
        "#/components/parameters/AssessmentId",
    }
    assert any("its items" in f.fix for f in findings)


def test_control_plane_is_exempt_from_id_prefixes() -> None:
    doc = load_document(CONTROL_DOCUMENT)
    assert doc["components"]["schemas"]["Rehearsal"]["properties"]["id"].get("pattern") is None
    assert lint_document(doc) == []
