"""Every documented (operation, error status) is reachable, and answers the documented body shape."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from mock_server import spec
from mock_server.app import create_app
from mock_server.component_schemas import describe_errors, schema_validator
from mock_server.fixtures import load_fixtures
from mock_server.runtime import build_runtime
from mock_server.settings import Settings
from mock_server.store.memory import MemoryStore
from tests.support.api import DOC_ASSESSMENT, ORG1_CONTROL_SET, ORG1_SERVICE, ORG1_VENDOR, Api, auth
from tests.support.failing_storage import COMMIT, FailingStorage

DOC = spec.load_document()
BAD_AUTH = {"Authorization": "Bearer ak_live_unknown"}
NEW_ASSESSMENT = {"vendor_id": ORG1_VENDOR, "control_set_ids": [ORG1_CONTROL_SET]}
VENDOR = f"/v1/vendors/{ORG1_VENDOR}"
SERVICE = f"{VENDOR}/services/{ORG1_SERVICE}"
WEBHOOK = "/v1/webhooks/cbwh_5a7c9e1b3d5f7a9c1e3b5d7f9a1c3e5b"
NEW_WEBHOOK = {
    "url": "http://127.0.0.1:8765/coverbase",
    "events": ["Vendor.Created"],
    "secret": "whsec_0123456789abcdef",
}

# How to provoke each documented error. A new documented error without a recipe fails the test below.
RECIPES: dict[tuple[str, str], dict[str, Any]] = {
    ("authTest", "401"): {"method": "GET", "url": "/v1/utils/authtest", "headers": BAD_AUTH},
    ("createAssessment", "400"): {
        "method": "POST",
        "url": "/v1/assessments",
        "json": {**NEW_ASSESSMENT, "vendor_id": "x"},
    },
    ("createAssessment", "401"): {
        "method": "POST",
        "url": "/v1/assessments",
        "headers": BAD_AUTH,
        "json": NEW_ASSESSMENT,
    },
    ("createAssessment", "404"): {
        "method": "POST",
        "url": "/v1/assessments",
        "json": {**NEW_ASSESSMENT, "trigger_workflow": "nope"},
    },
    ("createAssessment", "409"): {
        "method": "POST",
        "url": "/v1/assessments",
        "json": {**NEW_ASSESSMENT, "trigger_workflow": "legacy-soc2-chase"},
    },
    ("createAssessment", "413"): {"method": "POST", "url": "/v1/assessments", "content": b" " * (1024 * 1024 + 1)},
    ("createAssessment", "422"): {"method": "POST", "url": "/v1/assessments", "json": {}},
    ("getAssessment", "401"): {"method": "GET", "url": f"/v1/assessments/{DOC_ASSESSMENT}", "headers": BAD_AUTH},
    ("getAssessment", "404"): {"method": "GET", "url": "/v1/assessments/cbqsrw_nope"},
    ("deleteAssessment", "401"): {"method": "DELETE", "url": f"/v1/assessments/{DOC_ASSESSMENT}", "headers": BAD_AUTH},
    ("deleteAssessment", "404"): {"method": "DELETE", "url": "/v1/assessments/cbqsrw_nope"},
    ("runWorkflow", "401"): {"method": "POST", "url": "/v1/workflows/onboard-vendor/run", "headers": BAD_AUTH},
    ("runWorkflow", "404"): {"method": "POST", "url": "/v1/workflows/nope/run"},
    ("runWorkflow", "409"): {"method": "POST", "url": "/v1/workflows/legacy-soc2-chase/run"},
    ("runWorkflow", "413"): {
        "method": "POST",
        "url": "/v1/workflows/onboard-vendor/run",
        "content": b" " * (1024 * 1024 + 1),
    },
    ("runWorkflow", "422"): {"method": "POST", "url": "/v1/workflows/onboard-vendor/run", "json": {"input": 1}},
    ("runWorkflow", "502"): {"method": "POST", "url": "/v1/workflows/onboard-vendor/run", "rehearse": True},
    ("getWorkflowRun", "401"): {"method": "GET", "url": "/v1/workflows/runs/cbwr_x", "headers": BAD_AUTH},
    ("getWorkflowRun", "404"): {"method": "GET", "url": "/v1/workflows/runs/cbwr_x"},
    ("listWorkflowRuns", "401"): {"method": "GET", "url": "/v1/workflows/runs", "headers": BAD_AUTH},
    ("listWorkflowRuns", "404"): {"method": "GET", "url": "/v1/workflows/runs?workflow_name=nope"},
    ("listWorkflowRuns", "422"): {"method": "GET", "url": "/v1/workflows/runs?limit=0"},
    ("importRecords", "400"): {"method": "POST", "url": "/v1/import/vendor-intake", "json": {"data": [{"Name": "x"}]}},
    ("importRecords", "401"): {
        "method": "POST",
        "url": "/v1/import/vendor-intake",
        "headers": BAD_AUTH,
        "json": {"data": [{}]},
    },
    ("importRecords", "404"): {"method": "POST", "url": "/v1/import/nope", "json": {"data": [{}]}},
    ("importRecords", "413"): {
        "method": "POST",
        "url": "/v1/import/vendor-intake",
        "content": b" " * (1024 * 1024 + 1),
    },
    ("importRecords", "422"): {"method": "POST", "url": "/v1/import/vendor-intake", "json": {"data": []}},
    # request_timeout: the body stops arriving (a mock whose body deadline is 50 ms).
    ("createAssessment", "408"): {"method": "POST", "url": "/v1/assessments", "slow": True},
    ("runWorkflow", "408"): {"method": "POST", "url": "/v1/workflows/onboard-vendor/run", "slow": True},
    ("importRecords", "408"): {"method": "POST", "url": "/v1/import/vendor-intake", "slow": True},
    # storage_unavailable: the state file's disk is full (the failing storage double fails every commit).
    ("createAssessment", "503"): {"method": "POST", "url": "/v1/assessments", "json": NEW_ASSESSMENT, "full": True},
    ("deleteAssessment", "503"): {"method": "DELETE", "url": f"/v1/assessments/{DOC_ASSESSMENT}", "full": True},
    ("runWorkflow", "503"): {"method": "POST", "url": "/v1/workflows/onboard-vendor/run", "full": True},
    ("importRecords", "503"): {
        "method": "POST",
        "url": "/v1/import/vendor-intake",
        "json": {"data": [{"Name": "x", "External Id": "x"}]},
        "full": True,
    },
    ("createVendor", "400"): {
        "method": "POST",
        "url": "/v1/vendors",
        "json": {"name": "V", "watcher_ids": ["cbuser_x"]},
    },
    ("createVendor", "401"): {"method": "POST", "url": "/v1/vendors", "headers": BAD_AUTH, "json": {"name": "V"}},
    ("createVendor", "413"): {"method": "POST", "url": "/v1/vendors", "content": b" " * (1024 * 1024 + 1)},
    ("createVendor", "422"): {"method": "POST", "url": "/v1/vendors", "json": {"website": "https://v.example"}},
    ("listVendors", "401"): {"method": "GET", "url": "/v1/vendors", "headers": BAD_AUTH},
    ("listVendors", "422"): {"method": "GET", "url": "/v1/vendors?limit=201"},
    ("getVendor", "401"): {"method": "GET", "url": f"/v1/vendors/{ORG1_VENDOR}", "headers": BAD_AUTH},
    ("getVendor", "404"): {"method": "GET", "url": "/v1/vendors/cbvndr_nope"},
    ("updateVendor", "400"): {"method": "PATCH", "url": VENDOR, "json": {"tag_ids": ["cbtag_x"]}},
    ("updateVendor", "401"): {"method": "PATCH", "url": VENDOR, "headers": BAD_AUTH, "json": {}},
    ("updateVendor", "404"): {"method": "PATCH", "url": "/v1/vendors/cbvndr_nope", "json": {}},
    ("updateVendor", "413"): {"method": "PATCH", "url": VENDOR, "content": b" " * (1024 * 1024 + 1)},
    ("updateVendor", "422"): {"method": "PATCH", "url": VENDOR, "json": {"watcher_ids": "cbuser_x"}},
    ("createVendorService", "400"): {
        "method": "POST",
        "url": f"{VENDOR}/services",
        "json": {"name": "S", "tag_ids": ["x"]},
    },
    ("createVendorService", "401"): {"method": "POST", "url": f"{VENDOR}/services", "headers": BAD_AUTH, "json": {}},
    ("createVendorService", "404"): {
        "method": "POST",
        "url": "/v1/vendors/cbvndr_nope/services",
        "json": {"name": "S"},
    },
    ("createVendorService", "413"): {
        "method": "POST",
        "url": f"{VENDOR}/services",
        "content": b" " * (1024 * 1024 + 1),
    },
    ("createVendorService", "422"): {"method": "POST", "url": f"{VENDOR}/services", "json": {}},
    ("updateVendorService", "400"): {"method": "PATCH", "url": SERVICE, "json": {"watcher_ids": ["cbuser_x"]}},
    ("updateVendorService", "401"): {"method": "PATCH", "url": SERVICE, "headers": BAD_AUTH, "json": {}},
    ("updateVendorService", "404"): {"method": "PATCH", "url": f"{VENDOR}/services/cbsvc_nope", "json": {}},
    ("updateVendorService", "413"): {"method": "PATCH", "url": SERVICE, "content": b" " * (1024 * 1024 + 1)},
    ("updateVendorService", "422"): {"method": "PATCH", "url": SERVICE, "json": {"name": 7}},
    ("getVendorFactSheet", "401"): {"method": "GET", "url": f"{VENDOR}/fact-sheet", "headers": BAD_AUTH},
    ("getVendorFactSheet", "404"): {"method": "GET", "url": "/v1/vendors/cbvndr_nope/fact-sheet"},
    ("refreshVendorFactSheet", "401"): {"method": "POST", "url": f"{VENDOR}/fact-sheet/refresh", "headers": BAD_AUTH},
    ("refreshVendorFactSheet", "404"): {"method": "POST", "url": "/v1/vendors/cbvndr_nope/fact-sheet/refresh"},
    ("createWebhook", "400"): {"method": "POST", "url": "/v1/webhooks", "json": {**NEW_WEBHOOK, "secret": "short"}},
    ("createWebhook", "401"): {"method": "POST", "url": "/v1/webhooks", "headers": BAD_AUTH, "json": NEW_WEBHOOK},
    ("createWebhook", "413"): {"method": "POST", "url": "/v1/webhooks", "content": b" " * (1024 * 1024 + 1)},
    ("createWebhook", "422"): {"method": "POST", "url": "/v1/webhooks", "json": {**NEW_WEBHOOK, "events": ["x"]}},
    ("listWebhooks", "401"): {"method": "GET", "url": "/v1/webhooks", "headers": BAD_AUTH},
    ("updateWebhook", "400"): {"method": "PATCH", "url": WEBHOOK, "json": {"url": "https://hooks.example.com/x"}},
    ("updateWebhook", "401"): {"method": "PATCH", "url": WEBHOOK, "headers": BAD_AUTH, "json": {}},
    ("updateWebhook", "404"): {"method": "PATCH", "url": "/v1/webhooks/cbwh_nope", "json": {}},
    ("updateWebhook", "413"): {"method": "PATCH", "url": WEBHOOK, "content": b" " * (1024 * 1024 + 1)},
    ("updateWebhook", "422"): {"method": "PATCH", "url": WEBHOOK, "json": {"events": ["vendor.created"]}},
    ("deleteWebhook", "401"): {"method": "DELETE", "url": WEBHOOK, "headers": BAD_AUTH},
    ("deleteWebhook", "404"): {"method": "DELETE", "url": "/v1/webhooks/cbwh_nope"},
    ("testWebhook", "401"): {"method": "POST", "url": f"{WEBHOOK}/test", "headers": BAD_AUTH},
    ("testWebhook", "404"): {"method": "POST", "url": "/v1/webhooks/cbwh_nope/test"},
    ("testWebhook", "413"): {"method": "POST", "url": f"{WEBHOOK}/test", "content": b" " * (1024 * 1024 + 1)},
    ("testWebhook", "422"): {"method": "POST", "url": f"{WEBHOOK}/test", "json": {"payload": [1]}},
    ("listWebhookDeliveries", "401"): {"method": "GET", "url": f"{WEBHOOK}/deliveries", "headers": BAD_AUTH},
    ("listWebhookDeliveries", "404"): {"method": "GET", "url": "/v1/webhooks/cbwh_nope/deliveries"},
    ("listWebhookDeliveries", "422"): {"method": "GET", "url": f"{WEBHOOK}/deliveries?limit=many"},
}
# Coded errors a (operation, status) answers besides the one its recipe shows: each must be reachable too.
MORE_CODES: list[tuple[str, str, dict[str, Any]]] = [
    ("createWebhook", "invalid_url", {"method": "POST", "url": "/v1/webhooks", "json": {**NEW_WEBHOOK, "url": "x"}}),
    ("updateWebhook", "weak_secret", {"method": "PATCH", "url": WEBHOOK, "json": {"secret": "short"}}),
    ("createWebhook", "", {"method": "POST", "url": "/v1/webhooks", "json": {"url": "x"}}),
]


async def _stalled_body() -> AsyncIterator[bytes]:
    """A body that starts and then stops arriving (the client stalls far past the mock's deadline)."""
    yield b'{"input": '
    await asyncio.sleep(3600)


def documented_errors() -> dict[tuple[str, str], dict[str, Any]]:
    found = {}
    for op in spec.operations(DOC):
        for status, response in op.raw["responses"].items():
            if int(status) >= 400:
                found[(op.operation_id, status)] = spec.resolve(DOC, response)
    return found


def test_every_documented_error_has_a_recipe() -> None:
    assert set(documented_errors()) == set(RECIPES)


@pytest.mark.parametrize("key", sorted(RECIPES), ids=lambda k: f"{k[0]}-{k[1]}")
def test_documented_error_is_reachable_with_its_body(api: Api, key: tuple[str, str]) -> None:
    response_doc = documented_errors().get(key)
    if response_doc is None:
        pytest.fail(f"{key} has a recipe but is not documented")
    recipe = dict(RECIPES[key])
    if recipe.pop("slow", False):
        api = Api(create_app(build_runtime(Settings(body_timeout=0.05))))
        recipe["content"] = _stalled_body()
    if recipe.pop("full", False):
        api = Api(create_app(build_runtime(store=FailingStorage(MemoryStore(load_fixtures(None, DOC)), COMMIT))))
    if recipe.pop("rehearse", False):
        api.post("/_mock/rehearsals", json={"kind": "dispatch_failure"})
    headers = recipe.pop("headers", auth())
    r = api.request(recipe.pop("method"), recipe.pop("url"), headers=headers, **recipe)
    assert str(r.status_code) == key[1], r.text
    schema = response_doc["content"]["application/json"]["schema"]
    assert describe_errors(schema_validator(DOC, schema), r.json(), "response") == []
    for name, header in response_doc.get("headers", {}).items():
        if header.get("required"):
            assert name.lower() in r.headers, f"{key}: the required header {name} is missing"


@pytest.mark.parametrize("case", MORE_CODES, ids=lambda c: f"{c[0]}-{c[1] or 'validation'}")
def test_every_shape_of_a_shared_status_is_reachable(api: Api, case: tuple[str, str, dict[str, Any]]) -> None:
    """A status documenting two codes (or a code and the validation array) answers each, in its schema."""
    operation, code, recipe = case
    recipe = dict(recipe)
    r = api.request(recipe.pop("method"), recipe.pop("url"), headers=auth(), **recipe)
    detail = r.json()["detail"]
    assert (detail["code"] if code else detail[0]["type"]) == (code or "missing"), r.text
    response_doc = documented_errors()[(operation, str(r.status_code))]
    schema = response_doc["content"]["application/json"]["schema"]
    assert describe_errors(schema_validator(DOC, schema), r.json(), "response") == []
