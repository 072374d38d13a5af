"""Vendors & Services API: create (idempotent), list, read, update, services, fact sheet; one population."""

from __future__ import annotations

from typing import Any

import pytest
from freezegun import freeze_time

from tests.support.api import ORG1_SERVICE, ORG1_USER, ORG1_VENDOR, ORG2_KEY, Api, auth

OTHER_USER = "cbuser_0f1e2d3c4b5a69788796a5b4c3d2e1f0"
TAG_PII = "cbtag_2a4c6e8b0d2f4a6c8e0b2d4f6a8c0e2b"
TAG_CRITICAL = "cbtag_3b5d7f9a1c3e5b7d9f1a3c5e7b9d1f3a"
STATUS_INTAKE = "cbst_2b4d6f8a0c2e4b6d8f0a2c4e6b8d0f2c"
LEVEL_HIGH = "cbsclvl_4c6e8a0b2d4f6a8c0e2b4d6f8a0c2e4b"
GLOBEX = {"name": "Globex Analytics", "website": "https://globex.example", "external_id": "ariba-req-7822"}
VENDOR_KEYS = {
    "id",
    "external_id",
    "name",
    "website",
    "description",
    "hq_location",
    "status",
    "status_id",
    "tags",
    "risk_analyst_ids",
    "relationship_owner_ids",
    "watcher_ids",
    "inherent_risk_level_id",
    "residual_risk_level_id",
    "engagement_type",
    "use_case",
    "tier",
    "primary_contact",
    "services",
    "created_at",
    "updated_at",
}


def create(api: Api, body: dict[str, Any], key: str = "ak_live_xxx", **headers: str) -> Any:
    return api.post("/v1/vendors", json=body, headers=auth(key, **headers))


def patch(api: Api, url: str, body: dict[str, Any]) -> Any:
    return api.request("PATCH", url, json=body, headers=auth())


def listed(api: Api, query: str = "", key: str = "ak_live_xxx") -> dict[str, Any]:
    r = api.get(f"/v1/vendors{query}", headers=auth(key))
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def test_create_returns_the_full_vendor(api: Api) -> None:
    with freeze_time("2026-05-07 00:00:00", real_asyncio=True):
        r = create(
            api,
            {
                **GLOBEX,
                "risk_analyst_ids": [ORG1_USER],
                "primary_contact": {"email": "sec@globex.example", "name": "H"},
            },
        )
    assert r.status_code == 201, r.text
    vendor = r.json()
    assert set(vendor) == VENDOR_KEYS and vendor["id"].startswith("cbvndr_")
    assert (vendor["name"], vendor["external_id"], vendor["website"]) == (
        "Globex Analytics",
        "ariba-req-7822",
        "https://globex.example",
    )
    assert vendor["risk_analyst_ids"] == [ORG1_USER] and vendor["watcher_ids"] == [] and vendor["tags"] == []
    assert vendor["primary_contact"] == {
        "email": "sec@globex.example",
        "name": "H",
        "title": None,
        "phone_number": None,
    }
    assert (vendor["status"], vendor["tier"], vendor["services"]) == (None, None, [])
    assert vendor["created_at"] == vendor["updated_at"] == 1778112000
    assert api.get(f"/v1/vendors/{vendor['id']}", headers=auth()).json() == vendor


def test_create_honours_idempotency_key(api: Api) -> None:
    first = create(api, GLOBEX, **{"Idempotency-Key": "acme-vendor-test1"})
    replay = create(api, {**GLOBEX, "name": "Other"}, **{"Idempotency-Key": "acme-vendor-test1"})
    assert (first.status_code, replay.status_code) == (201, 201) and replay.json() == first.json()
    assert listed(api, "?external_id=ariba-req-7822")["total"] == 1


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"name": "V", "watcher_ids": ["cbuser_ffffffffffffffffffffffffffffffff"]}, "User cbuser_ffff"),
        ({"name": "   "}, "Vendor name cannot be empty."),
        ({"name": "V", "relationship_owner_ids": ["cbuser_5e4d3c2b1a0f9e8d7c6b5a4f3e2d1c0b"]}, "not found"),
    ],
)
def test_invalid_vendor_is_400(api: Api, body: dict[str, Any], message: str) -> None:
    r = create(api, body)
    assert r.status_code == 400 and r.json()["detail"]["code"] == "invalid_vendor"
    assert message in r.json()["detail"]["message"]


def test_external_id_names_one_vendor(api: Api) -> None:
    assert create(api, GLOBEX).status_code == 201
    again = create(api, {**GLOBEX, "name": "Globex Two"})
    assert again.status_code == 400 and again.json()["detail"]["code"] == "invalid_vendor"
    assert "ariba-req-7822" in again.json()["detail"]["message"]
    imported = api.post(
        "/v1/import/vendor-intake", headers=auth(), json={"data": [{"Name": "Imp", "External Id": "imp-1"}]}
    )
    assert imported.status_code == 200
    assert create(api, {"name": "Clash", "external_id": "imp-1"}).status_code == 400
    # Another org may use the same external_id.
    assert create(api, GLOBEX, key=ORG2_KEY).status_code == 201


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        ({}, ["body", "name"]),
        ({"name": 1}, ["body", "name"]),
        ({"name": "V", "primary_contact": {"email": "not-an-address"}}, ["body", "primary_contact", "email"]),
        ({"name": "V", "primary_contact": {"name": "no email"}}, ["body", "primary_contact", "email"]),
        ({"name": "V", "watcher_ids": "cbuser_x"}, ["body", "watcher_ids"]),
    ],
)
def test_schema_violations_are_422(api: Api, body: dict[str, Any], loc: list[str]) -> None:
    r = create(api, body)
    assert r.status_code == 422 and loc in [item["loc"] for item in r.json()["detail"]]


def test_a_new_vendor_fires_its_bound_workflow(api: Api) -> None:
    quiet = create(api, {"name": "Quiet"}).json()
    bound = create(api, {"name": "Helpdesk Co", "use_case": "Customer support ticketing"}).json()
    runs = api.get("/v1/workflows/runs?workflow_name=onboard-vendor", headers=auth()).json()["data"]
    assert len(runs) == 1
    run = api.get(f"/v1/workflows/runs/{runs[0]['workflow_run_id']}", headers=auth()).json()
    assert run["steps"][0]["artifacts"][0] == {"artifact_type": "vendor", "id": bound["id"], "role": "trigger"}
    assert quiet["id"] != bound["id"]


def test_list_newest_first_with_filters_and_pages(api: Api) -> None:
    fixture_total = listed(api)["total"]
    made = [create(api, {"name": f"Vendor {n}", "external_id": f"ext-{n}"}).json()["id"] for n in range(3)]
    everything = listed(api)
    assert everything["total"] == fixture_total + 3
    assert [v["id"] for v in everything["items"][:3]] == made[::-1], "newest first"
    assert set(everything["items"][0]) == {
        "id",
        "external_id",
        "name",
        "website",
        "description",
        "hq_location",
        "status",
        "status_id",
        "tags",
        "use_case",
        "tier",
        "primary_contact",
        "created_at",
        "updated_at",
    }
    assert [v["id"] for v in listed(api, "?external_id=ext-1")["items"]] == [made[1]]
    assert listed(api, "?external_id=ext")["total"] == 0, "external_id matches exactly"
    assert {v["id"] for v in listed(api, "?name=vendor")["items"]} == set(made), "case-insensitive substring"
    assert [v["id"] for v in listed(api, "?name=support%20DESK")["items"]] == [ORG1_VENDOR], "a service's name"
    page = listed(api, "?limit=2&offset=1")
    assert (page["limit"], page["offset"], page["total"]) == (2, 1, fixture_total + 3)
    assert [v["id"] for v in page["items"]] == [made[1], made[0]]
    assert listed(api)["limit"] == 50


@pytest.mark.parametrize("query", ["limit=0", "limit=201", "offset=-1", "limit=x"])
def test_list_rejects_bad_paging(api: Api, query: str) -> None:
    assert api.get(f"/v1/vendors?{query}", headers=auth()).status_code == 422


def test_an_imported_vendor_is_found_by_its_external_id(api: Api) -> None:
    """Pattern 1 then Pattern 2: import, find the vendor's ID, assess it."""
    record = {"Name": "Acme Corporation", "External Id": "ariba-req-7821", "Status": "intake", "Website": "https://a.b"}
    api.post("/v1/import/vendor-intake", headers=auth(), json={"data": [record]})
    [found] = listed(api, "?external_id=ariba-req-7821")["items"]
    assert (found["name"], found["website"], found["status"], found["status_id"]) == (
        "Acme Corporation",
        "https://a.b",
        "intake",
        STATUS_INTAKE,
    )
    vendor = api.get(f"/v1/vendors/{found['id']}", headers=auth()).json()
    assert vendor["external_id"] == "ariba-req-7821" and vendor["services"] == []
    r = api.post("/v1/assessments", headers=auth(), json={"vendor_id": found["id"], "control_set_ids": []})
    assert r.status_code == 201


def test_get_other_orgs_vendor_is_404_like_a_missing_one(api: Api) -> None:
    theirs = api.get(f"/v1/vendors/{ORG1_VENDOR}", headers=auth(ORG2_KEY))
    missing = api.get("/v1/vendors/cbvndr_ffffffffffffffffffffffffffffffff", headers=auth(ORG2_KEY))
    assert theirs.status_code == missing.status_code == 404
    assert theirs.json() == missing.json() == {"detail": {"code": "vendor_not_found", "message": "Vendor not found."}}
    assert ORG1_VENDOR not in [v["id"] for v in listed(api, key=ORG2_KEY)["items"]]


def test_patch_null_is_unchanged_arrays_replace(api: Api) -> None:
    url = f"/v1/vendors/{ORG1_VENDOR}"
    before = api.get(url, headers=auth()).json()
    with freeze_time("2030-01-01 00:00:00", real_asyncio=True):
        r = patch(
            api,
            url,
            {
                "website": None,
                "description": "Support desk vendor",
                "tag_ids": [TAG_CRITICAL],
                "watcher_ids": [OTHER_USER],
                "risk_analyst_ids": [],
                "status_id": STATUS_INTAKE,
                "inherent_risk_level_id": LEVEL_HIGH,
            },
        )
    assert r.status_code == 200, r.text
    after = r.json()
    assert after["website"] == before["website"] == "https://acmecorp.com"
    assert after["description"] == "Support desk vendor"
    assert after["tags"] == ["critical_supplier"] and after["watcher_ids"] == [OTHER_USER]
    assert after["risk_analyst_ids"] == [] and (after["status"], after["status_id"]) == ("Intake", STATUS_INTAKE)
    assert after["inherent_risk_level_id"] == LEVEL_HIGH and after["updated_at"] == 1893456000
    assert after["services"] == before["services"] and after["created_at"] == before["created_at"]


def test_patch_cannot_change_external_id_or_tier(api: Api) -> None:
    url = f"/v1/vendors/{ORG1_VENDOR}"
    r = patch(api, url, {"external_id": "changed", "tier": "tier_3"})
    assert r.status_code == 200 and (r.json()["external_id"], r.json()["tier"]) == (None, "tier_1")
    assert r.headers["x-coverbase-mock-ignored-input"] == "body.external_id, body.tier"


def test_a_patch_that_changes_nothing_keeps_updated_at(api: Api) -> None:
    url = f"/v1/vendors/{ORG1_VENDOR}"
    before = api.get(url, headers=auth()).json()
    with freeze_time("2030-01-01 00:00:00", real_asyncio=True):
        same = patch(api, url, {"name": "Acme Corporation", "tag_ids": [TAG_PII], "website": None}).json()
    assert same == before


@pytest.mark.parametrize(
    "body",
    [
        {"tag_ids": ["cbtag_ffffffffffffffffffffffffffffffff"]},
        {"status_id": "cbst_ffffffffffffffffffffffffffffffff"},
        {"residual_risk_level_id": "cbsclvl_x"},
        {"watcher_ids": ["cbuser_5e4d3c2b1a0f9e8d7c6b5a4f3e2d1c0b"]},
    ],
)
def test_patch_with_a_foreign_reference_is_invalid_update(api: Api, body: dict[str, Any]) -> None:
    url = f"/v1/vendors/{ORG1_VENDOR}"
    before = api.get(url, headers=auth()).json()
    r = patch(api, url, body)
    assert r.status_code == 400 and r.json()["detail"]["code"] == "invalid_update"
    assert api.get(url, headers=auth()).json() == before, "nothing changed"


def test_services_are_not_idempotent(api: Api) -> None:
    url = f"/v1/vendors/{ORG1_VENDOR}/services"
    body = {"name": "Acme Analytics", "tag_ids": [TAG_PII], "relationship_owner_ids": [OTHER_USER]}
    first = api.post(url, json=body, headers=auth(**{"Idempotency-Key": "svc-1"}))
    retry = api.post(url, json=body, headers=auth(**{"Idempotency-Key": "svc-1"}))
    assert (first.status_code, retry.status_code) == (201, 201)
    assert first.json()["id"] != retry.json()["id"], "a retry creates a second service"
    service = first.json()
    assert service["vendor_id"] == ORG1_VENDOR and service["tags"] == ["processes_pii"]
    assert service["relationship_owner_ids"] == [OTHER_USER] and service["watcher_ids"] == []
    services = api.get(f"/v1/vendors/{ORG1_VENDOR}", headers=auth()).json()["services"]
    assert [s["id"] for s in services] == [ORG1_SERVICE, service["id"], retry.json()["id"]]
    r = api.post(
        "/v1/assessments",
        headers=auth(),
        json={"vendor_id": ORG1_VENDOR, "control_set_ids": [], "service_ids": [service["id"]]},
    )
    assert r.status_code == 201, "a new service can be assessed"


def test_service_errors(api: Api) -> None:
    url = f"/v1/vendors/{ORG1_VENDOR}/services"
    r = api.post(url, json={"name": "S", "watcher_ids": ["cbuser_x"]}, headers=auth())
    assert r.status_code == 400 and r.json()["detail"]["code"] == "invalid_service"
    r = api.post("/v1/vendors/cbvndr_nope/services", json={"name": "S"}, headers=auth())
    assert r.status_code == 404 and r.json()["detail"]["code"] == "vendor_not_found"


def test_patch_service_of_its_vendor_only(api: Api) -> None:
    url = f"/v1/vendors/{ORG1_VENDOR}/services/{ORG1_SERVICE}"
    r = patch(api, url, {"name": "Acme Support Desk (EU)", "description": None, "watcher_ids": [OTHER_USER]})
    assert r.status_code == 200
    assert (r.json()["name"], r.json()["description"], r.json()["watcher_ids"]) == (
        "Acme Support Desk (EU)",
        None,
        [OTHER_USER],
    )
    other_vendor = "cbvndr_7d1f0e2a9c3b4d5e8f6a7b8c9d0e1f2a"
    for wrong in (
        f"/v1/vendors/{other_vendor}/services/{ORG1_SERVICE}",
        f"/v1/vendors/cbvndr_x/services/{ORG1_SERVICE}",
    ):
        r = patch(api, wrong, {"name": "x"})
        assert r.status_code == 404 and r.json() == {
            "detail": {"code": "service_not_found", "message": "Service not found."}
        }
    r = patch(api, url, {"tag_ids": ["cbtag_x"]})
    assert r.status_code == 400 and r.json()["detail"]["code"] == "invalid_service"


def test_events_of_vendors_and_services(api: Api) -> None:
    api.request(
        "PATCH",
        "/v1/webhooks/cbwh_5a7c9e1b3d5f7a9c1e3b5d7f9a1c3e5b",
        json={"enabled": True, "events": ["Vendor.Created", "Vendor.Updated", "Service.Created", "Service.Updated"]},
        headers=auth(),
    )
    vendor = create(api, {"name": "Evented"}).json()
    patch(api, f"/v1/vendors/{vendor['id']}", {"name": "Evented"})  # no change: no event
    patch(api, f"/v1/vendors/{vendor['id']}", {"website": "https://e.example"})
    service = api.post(f"/v1/vendors/{vendor['id']}/services", json={"name": "S"}, headers=auth()).json()
    patch(api, f"/v1/vendors/{vendor['id']}/services/{service['id']}", {"name": "S2"})
    events = [(e["event_type"], e["payload"]) for e in api.get("/_mock/webhooks/deliveries").json()["data"]]
    assert events == [
        ("Vendor.Created", {"vendor_id": vendor["id"], "event_type": "Vendor.Created"}),
        ("Vendor.Updated", {"vendor_id": vendor["id"], "event_type": "Vendor.Updated"}),
        ("Service.Created", {"service_id": service["id"], "event_type": "Service.Created"}),
        ("Service.Updated", {"service_id": service["id"], "event_type": "Service.Updated"}),
    ]


def test_fact_sheet_is_generated_over_virtual_time(api: Api) -> None:
    url = f"/v1/vendors/{ORG1_VENDOR}/fact-sheet"
    never = api.get(url, headers=auth()).json()
    assert (never["status"], never["entity_id"], never["progress"], never["generated_at"]) == (None, None, [], None)
    assert never["company_profile"] is None and never["security_posture"] is None
    with freeze_time("2026-05-07 00:00:00", real_asyncio=True):
        queued = api.post(f"{url}/refresh", headers=auth())
        assert queued.status_code == 202
        body = queued.json()
        assert body["status"] == "pending" and body["entity_id"].startswith("cbentity_")
        assert body["message"] == "Fact sheet regeneration has been queued."
        assert api.get(url, headers=auth()).json()["progress"] == []
        api.post("/_mock/clock", json={"advance_seconds": 120})
        half = api.get(url, headers=auth()).json()
        assert half["status"] == "pending" and half["progress"] == ["company_profile", "products", "public_perception"]
        assert half["company_profile"]["name"] == "Acme Corporation" and half["financials"] is None
        api.post("/_mock/clock", json={"advance_seconds": 120})
        done = api.get(url, headers=auth()).json()
        assert done["status"] == "completed" and done["generated_at"] == 1778112240 and len(done["progress"]) == 7
        again = api.post(f"{url}/refresh", headers=auth()).json()
        assert again["entity_id"] == body["entity_id"], "the entity stays"
        cleared = api.get(url, headers=auth()).json()
        assert (cleared["status"], cleared["progress"], cleared["company_profile"]) == ("pending", [], None)
