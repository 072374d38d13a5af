"""Assessments API: create (with references, trigger_workflow), read, archive."""

from __future__ import annotations

from typing import Any

import pytest
from freezegun import freeze_time

from tests.support.api import (
    DOC_ASSESSMENT,
    ORG1_CONTROL_SET,
    ORG1_SERVICE,
    ORG1_VENDOR,
    ORG2_CONTROL_SET,
    ORG2_KEY,
    ORG2_VENDOR,
    Api,
    auth,
)


def body(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"vendor_id": ORG1_VENDOR, "control_set_ids": [ORG1_CONTROL_SET]}
    base.update(overrides)
    return base


def create(api: Api, payload: dict[str, Any], key: str | None = None, **headers: str) -> Any:
    return api.post("/v1/assessments", json=payload, headers=auth(key or "ak_live_xxx", **headers))


def test_create_returns_the_documented_shape(api: Api) -> None:
    with freeze_time("2025-05-07 00:00:00", real_asyncio=True):
        r = create(api, body(name="Acme Q2 2026 Reassessment", service_ids=[ORG1_SERVICE]))
    assert r.status_code == 201
    got = r.json()
    assert got["id"].startswith("cbqsrw_")
    assert got == {
        "id": got["id"],
        "vendor_id": ORG1_VENDOR,
        "name": "Acme Q2 2026 Reassessment",
        "status": "created",
        "control_set_ids": [ORG1_CONTROL_SET],
        "service_ids": [ORG1_SERVICE],
        "assignee_id": None,  # no default: the current docs give none (only superseded ones did)
        "score_percent": None,
        "findings_count": 0,
        "initiated_at": None,
        "created_at": 1746576000,
        "updated_at": 1746576000,
        "workflow_run_id": None,
    }


def test_created_assessment_reads_back_without_workflow_run_id(api: Api) -> None:
    created = create(api, body(trigger_workflow="annual-reassessment-flow")).json()
    got = api.get(f"/v1/assessments/{created['id']}", headers=auth())
    assert got.status_code == 200
    expected = {k: v for k, v in created.items() if k != "workflow_run_id"}
    expected["custom_fields"] = []
    assert got.json() == expected


def test_trigger_workflow_starts_a_run_targeting_the_assessment(api: Api) -> None:
    created = create(api, body(trigger_workflow="annual-reassessment-flow")).json()
    run_id = created["workflow_run_id"]
    assert run_id and run_id.startswith("cbwr_")
    run = api.get(f"/v1/workflows/runs/{run_id}", headers=auth()).json()
    assert run["workflow_name"] == "annual-reassessment-flow"
    assert run["status"] == "started"
    triggers = [a for step in run["steps"] for a in step["artifacts"] if a["role"] == "trigger"]
    assert {"artifact_type": "assessment", "id": created["id"], "role": "trigger"} in triggers


def test_name_format_and_default_name(api: Api) -> None:
    with freeze_time("2026-05-07 12:00:00", real_asyncio=True):
        templated = create(api, body(assessment_name_format="{vendor_name} {year} {quarter} review")).json()
        default = create(api, body()).json()
    assert templated["name"] == "Acme Corporation 2026 Q2 review"
    assert default["name"] == "Acme Corporation Assessment"


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"vendor_id": "cbvndr_00000000000000000000000000000000"}, "Vendor cbvndr_00000000000000000000000000000000"),
        ({"vendor_id": ORG2_VENDOR}, f"Vendor {ORG2_VENDOR} not found."),
        ({"control_set_ids": [ORG2_CONTROL_SET]}, f"Control set {ORG2_CONTROL_SET} not found."),
        ({"service_ids": ["cbsvc_8e7d6c5b4a39281706f5e4d3c2b1a090"]}, "not found for vendor"),
        ({"assignee_id": "cbuser_ffffffffffffffffffffffffffffffff"}, "User cbuser_ffff"),
        ({"supporting_document_ids": ["cbvdoc_x"]}, "Document cbvdoc_x not found."),
    ],
)
def test_invalid_references_are_the_free_form_400(api: Api, overrides: dict[str, Any], message: str) -> None:
    r = create(api, body(**overrides))
    assert r.status_code == 400
    assert set(r.json()) == {"detail"} and set(r.json()["detail"]) == {"error"}
    assert message in r.json()["detail"]["error"]


def test_unknown_trigger_workflow_is_404_and_creates_nothing(api: Api, runtime: Any) -> None:
    before = sum(1 for _ in runtime.store.runs_newest_first(runtime.fixtures.orgs[0].id))
    r = create(api, body(trigger_workflow="annual-reassesment-flow"), **{"Idempotency-Key": "typo-1"})
    assert r.status_code == 404
    assert r.json() == {
        "detail": {"code": "workflow_not_found", "message": "Workflow 'annual-reassesment-flow' not found."}
    }
    journal_ids = [e for e in runtime.store.journal() if e["status"] == 201]
    assert journal_ids == []
    assert sum(1 for _ in runtime.store.runs_newest_first(runtime.fixtures.orgs[0].id)) == before
    # Not stored: the corrected request with the same key succeeds.
    fixed = create(api, body(trigger_workflow="annual-reassessment-flow"), **{"Idempotency-Key": "typo-1"})
    assert fixed.status_code == 201


def test_disabled_trigger_workflow_is_409(api: Api) -> None:
    r = create(api, body(trigger_workflow="legacy-soc2-chase"))
    assert r.status_code == 409
    assert r.json()["detail"]["code"] == "workflow_disabled"


@pytest.mark.parametrize(
    ("payload", "loc", "type_"),
    [
        ({"control_set_ids": []}, ["body", "vendor_id"], "missing"),
        ({"vendor_id": ORG1_VENDOR}, ["body", "control_set_ids"], "missing"),
        ({"vendor_id": ORG1_VENDOR, "control_set_ids": "x"}, ["body", "control_set_ids"], "list_type"),
        ({"vendor_id": 7, "control_set_ids": []}, ["body", "vendor_id"], "string_type"),
        # A field of superseded docs is ignored (x-unknown-input): the required one is still missing.
        ({"vendor_id": ORG1_VENDOR, "control_set_id": ORG1_CONTROL_SET}, ["body", "control_set_ids"], "missing"),
    ],
)
def test_schema_violations_are_422_validation_arrays(
    api: Api, payload: dict[str, Any], loc: list[str], type_: str
) -> None:
    r = create(api, payload)
    assert r.status_code == 422
    assert {"loc": loc, "type": type_} in [{"loc": d["loc"], "type": d["type"]} for d in r.json()["detail"]]


def test_empty_control_set_list_is_allowed(api: Api) -> None:
    assert create(api, body(control_set_ids=[])).status_code == 201


def test_get_fixture_assessment_matches_the_docs_example(api: Api) -> None:
    got = api.get(f"/v1/assessments/{DOC_ASSESSMENT}", headers=auth()).json()
    assert got["status"] == "complete" and got["score_percent"] == 0.82 and got["findings_count"] == 3
    assert got["custom_fields"][0]["field_name"] == "Review Cycle"


def test_other_orgs_assessment_is_404_like_a_missing_one(api: Api) -> None:
    for method in ("GET", "DELETE"):
        theirs = api.request(method, f"/v1/assessments/{DOC_ASSESSMENT}", headers=auth(ORG2_KEY))
        missing = api.request(method, "/v1/assessments/cbqsrw_ffffffffffffffffffffffffffffffff", headers=auth(ORG2_KEY))
        assert theirs.status_code == missing.status_code == 404
        assert (
            theirs.json()
            == missing.json()
            == {"detail": {"code": "assessment_not_found", "message": "Assessment not found."}}
        )
    assert api.get(f"/v1/assessments/{DOC_ASSESSMENT}", headers=auth()).json()["status"] == "complete"


def test_delete_cancels_in_flight_assessment_and_its_run_and_is_idempotent(api: Api) -> None:
    with freeze_time("2026-05-07 00:00:00", real_asyncio=True) as frozen:
        created = create(api, body(trigger_workflow="annual-reassessment-flow")).json()
        frozen.tick(120)
        first = api.delete(f"/v1/assessments/{created['id']}", headers=auth())
        frozen.tick(60)
        again = api.delete(f"/v1/assessments/{created['id']}", headers=auth())
        run = api.get(f"/v1/workflows/runs/{created['workflow_run_id']}", headers=auth()).json()
        frozen.tick(100000)
        later = api.get(f"/v1/workflows/runs/{created['workflow_run_id']}", headers=auth()).json()
    assert first.status_code == again.status_code == 200
    assert first.json() == again.json()
    assert first.json() == {"id": created["id"], "status": "canceled", "is_archived": True, "archived_at": 1778112120}
    read = api.get(f"/v1/assessments/{created['id']}", headers=auth()).json()
    assert read["status"] == "canceled"
    assert run["status"] == "canceled" and run["completed_at"] == 1778112120
    assert later == run  # a terminal run never changes
    assert [s["status"] for s in run["steps"]] == ["success", "skipped"]


def test_delete_of_a_finished_assessment_keeps_its_status(api: Api) -> None:
    r = api.delete(f"/v1/assessments/{DOC_ASSESSMENT}", headers=auth())
    assert r.status_code == 200
    assert r.json()["status"] == "complete" and r.json()["is_archived"] is True
    assert api.get(f"/v1/assessments/{DOC_ASSESSMENT}", headers=auth()).status_code == 200
