"""Import API: upsert on external_id, per-record errors, 200/400, and Vendor.Created triggers (Pattern 1)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.api import ORG1_CONTROL_SET, ORG2_KEY, Api, auth

ACME = {
    "Name": "Acme Corporation",
    "External Id": "ariba-req-7821",
    "Website": "https://acmecorp.com",
    "Status": "intake",
    "Business Unit": "Engineering",
    "Requested Use": "Customer support ticketing",
    "Data Types": ["customer_pii", "support_transcripts"],
}


def imp(api: Api, records: list[Any], report: str = "vendor-intake", key: str = "ak_live_xxx") -> Any:
    return api.post(f"/v1/import/{report}", headers=auth(key), json={"data": records})


def onboarding_runs(api: Api) -> list[dict[str, Any]]:
    listed = api.get("/v1/workflows/runs?workflow_name=onboard-vendor", headers=auth()).json()
    runs: list[dict[str, Any]] = listed["data"]
    return runs


def test_docs_example_creates_a_vendor_and_fires_the_bound_workflow(api: Api) -> None:
    r = imp(api, [ACME])
    assert r.status_code == 200
    body = r.json()
    assert (body["received_count"], body["created_count"], body["updated_count"], body["failed_count"]) == (1, 1, 0, 0)
    vendor_id = body["results"][0]["coverbase_id"]
    assert body["results"][0] == {
        "external_id": "ariba-req-7821",
        "coverbase_id": vendor_id,
        "action": "created",
        "status": "success",
    }
    runs = onboarding_runs(api)
    assert len(runs) == 1
    run = api.get(f"/v1/workflows/runs/{runs[0]['workflow_run_id']}", headers=auth()).json()
    assert run["steps"][0]["artifacts"][0] == {"artifact_type": "vendor", "id": vendor_id, "role": "trigger"}


def test_reimport_updates_and_fires_nothing(api: Api) -> None:
    first = imp(api, [ACME]).json()
    again = imp(api, [{**ACME, "Website": "https://acme.example"}]).json()
    assert again["results"][0]["action"] == "updated"
    assert again["results"][0]["coverbase_id"] == first["results"][0]["coverbase_id"]
    assert len(onboarding_runs(api)) == 1


def test_conditions_decide_which_vendors_start_the_workflow(api: Api) -> None:
    quiet = {"Name": "Paper Clips Ltd", "External Id": "ariba-req-9000", "Data Types": ["none"]}
    assert imp(api, [quiet]).json()["created_count"] == 1
    assert onboarding_runs(api) == []


def test_imported_vendor_can_be_assessed_and_fires_assessment_created(api: Api) -> None:
    vendor_id = imp(api, [ACME]).json()["results"][0]["coverbase_id"]
    privacy_set = "cbctst_2b4d6f8a0c1e3a5c7e9b1d3f5a7c9e0b"
    created = api.post(
        "/v1/assessments", headers=auth(), json={"vendor_id": vendor_id, "control_set_ids": [privacy_set]}
    )
    assert created.status_code == 201 and created.json()["name"] == "Acme Corporation Assessment"
    review = api.get("/v1/workflows/runs?workflow_name=privacy-review", headers=auth()).json()
    assert review["total"] == 1
    # An assessment without the privacy control set does not match the binding.
    api.post("/v1/assessments", headers=auth(), json={"vendor_id": vendor_id, "control_set_ids": [ORG1_CONTROL_SET]})
    assert api.get("/v1/workflows/runs?workflow_name=privacy-review", headers=auth()).json()["total"] == 1


def test_archiving_cancels_runs_started_by_assessment_bindings(api: Api) -> None:
    privacy_set = "cbctst_2b4d6f8a0c1e3a5c7e9b1d3f5a7c9e0b"
    created = api.post(
        "/v1/assessments",
        headers=auth(),
        json={"vendor_id": "cbvndr_e448ba62882143f3ba0c140bb2e30162", "control_set_ids": [privacy_set]},
    ).json()
    api.delete(f"/v1/assessments/{created['id']}", headers=auth())
    runs = api.get("/v1/workflows/runs?workflow_name=privacy-review", headers=auth()).json()["data"]
    assert [r["status"] for r in runs] == ["canceled"]


def test_partial_success_is_200_with_per_record_errors(api: Api) -> None:
    r = imp(
        api,
        [ACME, {"Name": "No Id"}, {**ACME, "Name": "Dup"}, "not an object", {**ACME, "External Id": "x2", "Fax": "1"}],
    )
    assert r.status_code == 200
    body = r.json()
    assert (body["created_count"], body["failed_count"]) == (2, 3)
    codes = [(e["index"], e["error_code"]) for e in body["errors"]]
    assert codes == [
        (1, "missing_required_field"),
        (2, "duplicate_external_id"),
        (3, "invalid_field_value"),
        (4, "unmapped_field"),
    ]
    assert body["errors"][0]["field"] == "External Id"


def test_all_failed_is_400_with_the_same_result_shape(api: Api) -> None:
    r = imp(api, [{"Name": "No Id"}, {"External Id": "no-name"}])
    assert r.status_code == 400
    body = r.json()
    assert body["failed_count"] == 2 and body["results"] == []
    assert {e["error_code"] for e in body["errors"]} == {"missing_required_field"}


def test_unknown_report_is_404(api: Api) -> None:
    r = imp(api, [ACME], report="vendor-intak")
    assert r.status_code == 404
    assert r.json() == {
        "detail": {"code": "import_report_not_found", "message": "Import report 'vendor-intak' not found."}
    }


@pytest.mark.parametrize("payload", [{}, {"data": []}, {"data": {"Name": "x"}}, [ACME]])
def test_malformed_batches_are_422(api: Api, payload: Any) -> None:
    r = api.post("/v1/import/vendor-intake", headers=auth(), json=payload)
    assert r.status_code == 422


def test_imports_are_org_scoped(api: Api) -> None:
    vendor_id = imp(api, [ACME]).json()["results"][0]["coverbase_id"]
    assert imp(api, [ACME], key=ORG2_KEY).status_code == 404  # org 2 has no such report
    r = api.post("/v1/assessments", headers=auth(ORG2_KEY), json={"vendor_id": vendor_id, "control_set_ids": []})
    assert r.status_code == 400


def test_service_and_assessment_reports_upsert_under_an_imported_vendor(api: Api) -> None:
    vendor_id = imp(api, [ACME]).json()["results"][0]["coverbase_id"]
    service = {"Service Name": "Acme Chat", "Service Id": "svc-77", "Vendor Id": "ariba-req-7821"}
    created = imp(api, [service], report="service-intake").json()
    assert created["base_object"] == "service" and created["results"][0]["action"] == "created"
    service_id = created["results"][0]["coverbase_id"]
    assert service_id.startswith("cbsvc_")
    again = imp(api, [{**service, "Description": "Live chat"}], report="service-intake").json()
    assert (again["results"][0]["action"], again["results"][0]["coverbase_id"]) == ("updated", service_id)
    vendor = api.get(f"/v1/vendors/{vendor_id}", headers=auth()).json()
    assert [(s["id"], s["description"], s["external_id"]) for s in vendor["services"]] == [
        (service_id, "Live chat", "svc-77")
    ]
    request = {"Assessment Name": "Acme intake review", "Request Id": "req-1", "Vendor Id": "ariba-req-7821"}
    assessed = imp(api, [{**request, "Control Sets": ORG1_CONTROL_SET}], report="assessment-intake").json()
    assessment_id = assessed["results"][0]["coverbase_id"]
    got = api.get(f"/v1/assessments/{assessment_id}", headers=auth()).json()
    assert (got["vendor_id"], got["name"], got["control_set_ids"], got["status"]) == (
        vendor_id,
        "Acme intake review",
        [ORG1_CONTROL_SET],
        "created",
    )
    renamed = imp(api, [{**request, "Assessment Name": "Renamed"}], report="assessment-intake").json()
    assert (renamed["results"][0]["action"], renamed["results"][0]["coverbase_id"]) == ("updated", assessment_id)
    assert api.get(f"/v1/assessments/{assessment_id}", headers=auth()).json()["name"] == "Renamed"


def test_a_service_or_assessment_of_an_unknown_vendor_fails_the_record(api: Api) -> None:
    for report, record in (
        ("service-intake", {"Service Name": "S", "Service Id": "s1", "Vendor Id": "nobody"}),
        ("assessment-intake", {"Assessment Name": "A", "Request Id": "r1", "Vendor Id": "nobody"}),
        ("assessment-intake", {"Assessment Name": "A", "Request Id": "r1", "Vendor Id": None}),
    ):
        r = imp(api, [record], report=report)
        assert r.status_code == 400, r.text
        [error] = r.json()["errors"]
        assert (error["error_code"], error["field"]) in {
            ("invalid_field_value", "Vendor Id"),
            ("missing_required_field", "Vendor Id"),
        }


def test_an_assessment_record_with_a_foreign_control_set_fails(api: Api) -> None:
    imp(api, [ACME])
    record = {"Assessment Name": "A", "Request Id": "r1", "Vendor Id": "ariba-req-7821", "Control Sets": "cbctst_x"}
    [error] = imp(api, [record], report="assessment-intake").json()["errors"]
    assert (error["error_code"], error["field"]) == ("invalid_field_value", "Control Sets")


def test_mapped_vendor_fields_must_have_their_types(api: Api) -> None:
    r = imp(api, [{**ACME, "Website": 42}])
    assert r.status_code == 400
    [error] = r.json()["errors"][-1:]
    assert (error["error_code"], error["field"]) == ("invalid_field_value", "Website")
