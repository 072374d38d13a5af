"""Both lanes answer identically: the fast lane and connexion run one rule set, so every answer is the same.

The corpus covers every operation with valid and invalid credentials, parameters, content types,
bodies, idempotency keys, rehearsals, unknown routes and methods, and the control plane.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from freezegun import freeze_time

from mock_server.app import create_app
from mock_server.ids import SequentialIds
from mock_server.operations import Operation
from mock_server.runtime import build_runtime
from mock_server.settings import Settings
from tests.support.api import Api

T0 = dt.datetime(2026, 5, 7, tzinfo=dt.UTC)
K1 = "ak_live_xxx"
K2 = "ak_live_initech_4Qx7Zr2Lm9Tp1Vw8Ky3Hs6Bn0Dc5Fg"
V1 = "cbvndr_e448ba62882143f3ba0c140bb2e30162"
CS1 = "cbctst_9f4a1c0d7b2e4e9f8c1d2b3a4e5f6071"
SV1 = "cbsvc_3c2b1a098f7e6d5c4b3a2918374655ab"
A1 = "cbqsrw_2d5e8f1a4b7c0d3e6f9a2b5c8d1e4f7a"
R1 = "cbwr_a8f2c19e3d4b5e6f7a8b9c0d1e2f3a4b"
REQUESTS: list[tuple[str, str, dict[str, Any]]] = []


def _a(key: str = K1, **extra: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}", **extra}


def _add(method: str, url: str, **kwargs: Any) -> None:
    REQUESTS.append((method, url, kwargs))


RUN = "/v1/workflows/onboard-vendor/run"
# auth variants
for h in [
    {},
    {"Authorization": "Bearer"},
    {"Authorization": "Bearer nope"},
    {"Authorization": "Basic x"},
    {"Authorization": f"bearer {K1}"},
    {"Authorization": f"Bearer  {K1}"},
    _a(),
    _a(K2),
]:
    _add("GET", "/v1/utils/authtest", headers=h)
    _add("GET", f"/v1/workflows/runs/{R1}", headers=h)
    _add("POST", RUN, headers=h, json={"input": {}})
_add("GET", "/v1/utils/authtest", headers=[("Authorization", "Bearer nope"), ("Authorization", f"Bearer {K1}")])
_add("GET", "/v1/utils/authtest", headers=[("Authorization", f"Bearer {K1}"), ("Authorization", "Bearer nope")])
# runs
for body in [
    None,
    {},
    {"input": {}},
    {"input": {"x": [1, {"y": None}]}},
    {"input": []},
    {"input": 1},
    {"extra": 1},
    {"input": {}, "extra": 2},
    [],
    "x",
    1,
    None,
]:
    _add("POST", RUN, headers=_a(), json=body)
for raw, ct in [
    (b"{bad", "application/json"),
    (b"{}", "text/plain"),
    (b"{}", "application/json; charset=latin-1"),
    (b'{"input": {"a": "\xe9"}}', "application/json"),
    (b'{"input": {"a": "\xe9"}}', "application/json; charset=latin-1"),
    (b"\xef\xbb\xbf{}", "application/json"),
    (b"", "application/json"),
    (b"", "text/plain"),
    (b"{}", "application/merge-patch+json"),
    (b"{}", "APPLICATION/JSON"),
    (b"{}", "application/json;charset=UTF-8"),
    (b'{"input": NaN}', "application/json"),
    (b'{"input": 1e999999}', "application/json"),
    (b'{"input": ' + b"[" * 70 + b"]" * 70 + b"}", "application/json"),
    (b"{} x", "application/json"),
    (b'{"input": {}}', "application/x-www-form-urlencoded"),
    (b"input=1", "application/x-www-form-urlencoded"),
]:
    _add("POST", RUN, headers=_a(**{"Content-Type": ct}), content=raw)
_add("POST", RUN, headers=_a(), content=b"{}")
for key in ["k1", "k1", "", " ", "a b", "x" * 255, "x" * 256, "\t", "k\x7f", "k1"]:
    _add("POST", RUN, headers=_a(**{"Idempotency-Key": key}), json={"input": {"n": len(key)}})
_add(
    "POST",
    RUN,
    headers=[("Authorization", f"Bearer {K1}"), ("Idempotency-Key", "a"), ("Idempotency-Key", "b")],
    json={},
)
_add("POST", RUN, headers=_a(**{"Idempotency-Key": "bad key"}), json={"input": 1})
_add("POST", RUN, headers=[("Authorization", f"Bearer {K1}"), ("Idempotency-Key", "\xe9".encode("latin-1"))], json={})
_add(
    "POST",
    RUN,
    headers=_a(**{"Idempotency-Key": "bad key"}),
    content=b"{bad",
)
_add("POST", "/v1/workflows/nope/run", headers=_a(), json={})
_add("POST", "/v1/workflows/nope/run", headers=_a(), json={"input": 1})
_add("POST", "/v1/workflows/legacy-soc2-chase/run", headers=_a(), json={})
_add("POST", "/v1/workflows/contract-guardian-check/run", headers=_a(), json={})
_add("POST", "/v1/workflows/a%2Fb/run", headers=_a(), json={})
_add("POST", "/v1/workflows/a%0Ab/run", headers=_a(), json={})
_add("POST", "/v1/workflows/a%0Ab/run", headers={}, json={})
_add("POST", "/v1/workflows/a%20b/run", headers=_a(), json={})
_add("POST", "/v1/workflows/%C3%A9/run", headers=_a(), json={})
_add("POST", RUN, headers=_a(**{"X-Coverbase-Mock-Rehearse": "dispatch_failure"}), json={})
_add("POST", RUN, headers=_a(**{"X-Coverbase-Mock-Rehearse": "bogus"}), json={})
_add("POST", RUN, headers=_a(**{"X-Coverbase-Mock-Rehearse": "dispatch_failur"}), json={})
_add("POST", RUN, headers=_a(**{"X-Coverbase-Mock-Rehearse": "delay=abc"}), json={})
_add("POST", RUN, headers=_a("nope", **{"X-Coverbase-Mock-Rehearse": "delay=abc"}), json={"input": 1})
_add("GET", "/v1/utils/authtest", headers=_a(**{"X-Coverbase-Mock-Rehearse": "delay=0"}))
_add("GET", "/v1/nope", headers=_a(**{"X-Coverbase-Mock-Rehearse": "delay=0"}))
_add("POST", RUN, headers=_a(**{"X-Coverbase-Mock-Rehearse": "dispatch_failure", "Idempotency-Key": "rk"}), json={})
_add("POST", RUN, headers=_a(**{"Idempotency-Key": "rk"}), json={})
# get run
for rid in [R1, "cbwr_nope", "cbwr_" + "0" * 32, "x", "cbwr_a%2Fb", "%0A"]:
    _add("GET", f"/v1/workflows/runs/{rid}", headers=_a())
    _add("GET", f"/v1/workflows/runs/{rid}", headers=_a(K2))
_add("GET", f"/v1/workflows/runs/{R1}?x=1", headers=_a())
# list
for q in [
    "",
    "?limit=1",
    "?limit=0",
    "?limit=501",
    "?limit=abc",
    "?limit=5.5",
    "?limit=%205",
    "?limit=1&limit=2",
    "?offset=-1",
    "?offset=1",
    "?status=failed",
    "?status=failed&status=completed",
    "?status=failed,completed",
    "?status=bogus",
    "?workflow_name=nope",
    "?workflow_name=quarterly-privacy-sweep",
    "?created_at_after=-1",
    "?created_at_after=1746576000&created_at_before=1746576000",
    "?x=1",
    "?x=1&y=2&limit=abc",
    "?limit[a]=1",
    "?workflow_name=a&workflow_name=b",
    "?limit=",
    "?status=",
    "?limit=1_0",
    "?limit=+3",
]:
    _add("GET", "/v1/workflows/runs" + q, headers=_a())
_add("GET", "/v1/workflows/runs?limit=abc", headers={})
# assessments
good = {"vendor_id": V1, "control_set_ids": [CS1]}
for body in [
    good,
    {**good, "name": "N"},
    {**good, "trigger_workflow": "annual-reassessment-flow"},
    {**good, "trigger_workflow": "nope"},
    {**good, "trigger_workflow": "legacy-soc2-chase"},
    {**good, "vendor_id": "cbvndr_" + "0" * 32},
    {**good, "control_set_ids": ["cbctst_" + "0" * 32]},
    {**good, "service_ids": [SV1]},
    {**good, "service_ids": ["cbsvc_x"]},
    {**good, "assignee_id": "cbuser_x"},
    {**good, "supporting_document_ids": ["cbvdoc_x"]},
    {"vendor_id": V1},
    {},
    {**good, "extra": 1},
    {**good, "control_set_id": CS1},
    {**good, "assessment_name_format": "{vendor_name} {year} {quarter} {date} {x}"},
    {**good, "name": 1},
    {**good, "control_set_ids": "x"},
    {**good, "custom_fields": []},
]:
    _add("POST", "/v1/assessments", headers=_a(), json=body)
_add("POST", "/v1/assessments", headers=_a(**{"Idempotency-Key": "ak"}), json=good)
_add("POST", "/v1/assessments", headers=_a(**{"Idempotency-Key": "ak"}), json={**good, "name": "other"})
_add("POST", "/v1/assessments", headers=_a(K2, **{"Idempotency-Key": "ak"}), json=good)
for aid in [A1, "cbqsrw_nope", "cbqsrw_a%2Fb"]:
    for key in [K1, K2]:
        _add("GET", f"/v1/assessments/{aid}", headers=_a(key))
_add("DELETE", f"/v1/assessments/{A1}", headers=_a())
_add("DELETE", f"/v1/assessments/{A1}", headers=_a())
_add("GET", f"/v1/assessments/{A1}", headers=_a())
_add("DELETE", "/v1/assessments/cbqsrw_nope", headers=_a())
_add("DELETE", f"/v1/assessments/{A1}", headers=_a(K2))
# methods / routes
for m, u in [
    ("PUT", "/v1/assessments"),
    ("GET", "/v1/assessments"),
    ("PATCH", f"/v1/assessments/{A1}"),
    ("POST", f"/v1/assessments/{A1}"),
    ("GET", RUN),
    ("DELETE", "/v1/workflows/runs"),
    ("GET", "/v1/nope"),
    ("GET", "/v1/workflows/runs/"),
    ("GET", "/v1/utils/authtest/"),
    ("POST", "/v1/utils/authtest"),
    ("GET", "/nope"),
    ("HEAD", "/v1/utils/authtest"),
    ("OPTIONS", "/v1/utils/authtest"),
    ("GET", "/_mock/webhooks/deliver"),
    ("PUT", "/_mock/clock"),
    ("GET", "/_mock/nope"),
]:
    _add(m, u, headers=_a())
# imports
_add(
    "POST",
    "/v1/import/vendor-intake",
    headers=_a(),
    json={"data": [{"Name": "Acme X", "External Id": "e1", "Data Types": ["customer_pii"]}]},
)
_add(
    "POST",
    "/v1/import/vendor-intake",
    headers=_a(),
    json={
        "data": [
            {"Name": "Acme X", "External Id": "e1"},
            {"Name": "y"},
            {},
            1,
            {"Name": 2, "External Id": "e2"},
            {"Name": "z", "External Id": "e1"},
            {"Name": "q", "External Id": "e3", "Bogus": 1},
        ]
    },
)
_add("POST", "/v1/import/vendor-intake", headers=_a(), json={"data": [{}]})
_add("POST", "/v1/import/nope", headers=_a(), json={"data": [{}]})
_add("POST", "/v1/import/vendor-intake", headers=_a(), json={"data": []})
_add("POST", "/v1/import/vendor-intake", headers=_a(), json={})
_add("POST", "/v1/import/vendor-intake", headers=_a(K2), json={"data": [{}]})
_add("GET", "/v1/workflows/runs?workflow_name=onboard-vendor", headers=_a())
# vendors and services
VENDOR = f"/v1/vendors/{V1}"
for body in [
    {"name": "V1", "external_id": "ext-1"},
    {"name": "V1 again", "external_id": "ext-1"},
    {"name": "  "},
    {"name": "V", "watcher_ids": ["cbuser_x"]},
    {"name": "V", "primary_contact": {"email": "no"}},
    {"name": "V", "primary_contact": None, "website": None},
    {"website": "x"},
    {"name": 1},
    {"name": "V", "tier": "tier_1"},
]:
    _add("POST", "/v1/vendors", headers=_a(), json=body)
_add("POST", "/v1/vendors", headers=_a(**{"Idempotency-Key": "vk"}), json={"name": "K"})
_add("POST", "/v1/vendors", headers=_a(**{"Idempotency-Key": "vk"}), json={"name": "K2"})
for q in ["", "?name=acme", "?name=SUPPORT", "?external_id=ext-1", "?limit=0", "?limit=201", "?offset=-1", "?x=1"]:
    _add("GET", "/v1/vendors" + q, headers=_a())
for vid in [V1, "cbvndr_nope", "cbvndr_a%2Fb"]:
    for key in [K1, K2]:
        _add("GET", f"/v1/vendors/{vid}", headers=_a(key))
        _add("GET", f"/v1/vendors/{vid}/fact-sheet", headers=_a(key))
for body in [
    {},
    {"website": None, "description": "d"},
    {"tag_ids": ["cbtag_2a4c6e8b0d2f4a6c8e0b2d4f6a8c0e2b"], "watcher_ids": []},
    {"tag_ids": ["cbtag_x"]},
    {"status_id": "cbst_x"},
    {"external_id": "z", "tier": "t"},
    {"watcher_ids": "x"},
]:
    _add("PATCH", VENDOR, headers=_a(), json=body)
_add("PATCH", "/v1/vendors/cbvndr_nope", headers=_a(), json={})
for body in [{"name": "S"}, {"name": "S", "tag_ids": ["x"]}, {}, {"name": "S", "relationship_owner_ids": ["cbuser_x"]}]:
    _add("POST", f"{VENDOR}/services", headers=_a(**{"Idempotency-Key": "sk"}), json=body)
_add("POST", "/v1/vendors/cbvndr_nope/services", headers=_a(), json={"name": "S"})
for url, body in [
    (f"{VENDOR}/services/{SV1}", {"name": "S2", "description": None}),
    (f"{VENDOR}/services/{SV1}", {"watcher_ids": ["cbuser_x"]}),
    (f"{VENDOR}/services/cbsvc_nope", {}),
    (f"/v1/vendors/cbvndr_7d1f0e2a9c3b4d5e8f6a7b8c9d0e1f2a/services/{SV1}", {}),
]:
    _add("PATCH", url, headers=_a(), json=body)
_add("POST", f"{VENDOR}/fact-sheet/refresh", headers=_a())
_add("GET", f"{VENDOR}/fact-sheet", headers=_a())
_add("POST", "/v1/vendors/cbvndr_nope/fact-sheet/refresh", headers=_a())
# webhooks
HOOK = "/v1/webhooks/cbwh_5a7c9e1b3d5f7a9c1e3b5d7f9a1c3e5b"
for body in [
    {"url": "http://127.0.0.1:9/h", "events": ["Vendor.Created"], "secret": "s" * 16},
    {"url": "http://127.0.0.1:9/h", "events": ["Vendor.Created"], "secret": "short"},
    {"url": "https://example.com/h", "events": ["Vendor.Created"], "secret": "s" * 16},
    {"url": "http://[127.0.0.1]/h", "events": ["Vendor.Created"], "secret": "s" * 16},
    {"url": "http://127.0.0.1:99999/h", "events": ["Vendor.Created"], "secret": "s" * 16},
    {"url": "http://127.0.0.1:9/h", "events": ["vendor.created", "webhook.test"], "secret": "s" * 16},
    {"url": "http://127.0.0.1:9/h", "events": "Vendor.Created", "secret": "s" * 16},
    {"url": "http://127.0.0.1:9/h"},
]:
    _add("POST", "/v1/webhooks", headers=_a(), json=body)
_add("GET", "/v1/webhooks", headers=_a())
_add("GET", "/v1/webhooks", headers=_a(K2))
for body in [{"enabled": True, "description": None}, {"secret": "x"}, {"url": "ftp://x"}, {"events": ["Nope"]}, {}]:
    _add("PATCH", HOOK, headers=_a(), json=body)
_add("POST", f"{HOOK}/test", headers=_a())
_add("POST", f"{HOOK}/test", headers=_a(), json={"event_type": "X.Y", "payload": {"a": 1}})
_add("POST", f"{HOOK}/test", headers=_a(), json={"payload": []})
for q in ["", "?limit=0", "?limit=1000&offset=-3", "?limit=x"]:
    _add("GET", f"{HOOK}/deliveries{q}", headers=_a())
for suffix, method in [("", "PATCH"), ("", "DELETE"), ("/test", "POST"), ("/deliveries", "GET")]:
    _add(method, f"/v1/webhooks/cbwh_nope{suffix}", headers=_a(), json={} if method == "PATCH" else None)
_add("DELETE", "/v1/webhooks/cbwh_6b8d0f2a4c6e8b0d2f4a6c8e0b2d4f6b", headers=_a())
_add("DELETE", "/v1/webhooks/cbwh_6b8d0f2a4c6e8b0d2f4a6c8e0b2d4f6b", headers=_a())
_add("DELETE", HOOK, headers=_a(K2))
_add("PUT", HOOK, headers=_a())
_add(
    "POST",
    "/v1/import/service-intake",
    headers=_a(),
    json={"data": [{"Service Name": "S", "Service Id": "s", "Vendor Id": "e1"}]},
)
_add(
    "POST",
    "/v1/import/assessment-intake",
    headers=_a(),
    json={"data": [{"Assessment Name": "A", "Request Id": "r", "Vendor Id": "e1", "Control Sets": CS1}]},
)
# control plane
for m, u, kw in [
    ("GET", "/_mock/health", {}),
    ("GET", "/_mock/clock", {}),
    ("POST", "/_mock/clock", {"json": {"advance_seconds": 60}}),
    ("POST", "/_mock/clock", {"json": {"advance_seconds": -1}}),
    ("POST", "/_mock/clock", {"json": {"set": 1}}),
    ("POST", "/_mock/clock", {"json": {}}),
    ("POST", "/_mock/clock", {"json": {"x": 1}}),
    ("POST", "/_mock/clock", {"content": b"{bad", "headers": {"Content-Type": "application/json"}}),
    ("GET", "/_mock/requests?limit=3", {}),
    ("GET", "/_mock/requests?limit=0", {}),
    ("GET", "/_mock/fixtures", {}),
    ("GET", "/_mock/rehearsals", {}),
    ("POST", "/_mock/rehearsals", {"json": {"kind": "delay"}}),
    ("POST", "/_mock/rehearsals", {"json": {"kind": "nope"}}),
    ("POST", "/_mock/rehearsals", {"json": {"kind": "dispatch_failure", "operation_id": "nope"}}),
    ("POST", "/_mock/rehearsals", {"json": {"kind": "dispatch_failure", "workflow_name": "nope"}}),
    ("POST", "/_mock/rehearsals", {"json": {"kind": "dispatch_failure", "workflow_name": "legacy-soc2-chase"}}),
    (
        "POST",
        "/_mock/rehearsals",
        {"json": {"kind": "dispatch_failure", "workflow_name": "onboard-vendor", "count": 1}},
    ),
    ("GET", "/_mock/rehearsals", {}),
    ("DELETE", "/_mock/rehearsals", {}),
    ("POST", "/_mock/rehearsals", {"json": {"kind": "dispatch_failure", "workflow_name": "onboard-vendor"}}),
    ("POST", RUN, {"headers": _a(), "json": {}}),
    ("GET", "/_mock/webhooks", {}),
    (
        "POST",
        "/_mock/webhooks",
        {"json": {"url": "http://example.com/h", "events": ["WorkflowRun.Created"], "secret": "s" * 20}},
    ),
    (
        "POST",
        "/_mock/webhooks",
        {"json": {"url": "http://127.0.0.1:9/h", "events": ["WorkflowRun.Created"], "secret": "s" * 20}},
    ),
    ("GET", "/_mock/webhooks", {}),
    ("DELETE", "/_mock/webhooks/cbwh_nope", {}),
    ("GET", "/_mock/webhooks/deliveries", {}),
    ("POST", "/_mock/webhooks/deliver", {}),
    ("POST", "/_mock/clock", {"json": {"advance_seconds": 7200}}),
    ("GET", f"/v1/vendors/{V1}/fact-sheet", {"headers": _a()}),
    ("GET", f"/v1/assessments/{A1}", {"headers": _a()}),
    ("GET", "/_mock/webhooks/deliveries?webhook_id=cbwh_5a7c9e1b3d5f7a9c1e3b5d7f9a1c3e5b", {}),
    ("GET", "/_mock/webhooks/deliveries?event_type=x", {}),
    ("GET", "/_mock/requests", {}),
    ("DELETE", "/_mock/requests", {}),
    ("POST", "/_mock/reset", {}),
    ("GET", "/_mock/requests", {}),
]:
    REQUESTS.append((m, u, kw))


HEADERS = (
    "content-type",
    "content-length",
    "www-authenticate",
    "cache-control",
    "x-content-type-options",
    "allow",
    "x-coverbase-mock-ignored-input",
)


def replay(fast: bool) -> list[tuple[int, list[str | None], bytes]]:
    api = Api(create_app(build_runtime(Settings(fast_lane=fast), ids=SequentialIds())))
    out = []
    with freeze_time(T0, real_asyncio=True):
        for method, url, kwargs in REQUESTS:
            r = api.request(method, url, **kwargs)
            out.append((r.status_code, [r.headers.get(h) for h in HEADERS], r.content))
    journal = api.get("/_mock/requests").json()["data"]
    api.close()
    out.append((len(journal), [], b""))
    return out


def test_fast_and_slow_lanes_answer_identically() -> None:
    fast, slow = replay(fast=True), replay(fast=False)
    differing = [(REQUESTS[i][:2], f, s) for i, (f, s) in enumerate(zip(fast, slow, strict=True)) if f != s]
    assert differing == []
    assert len({status for status, _, _ in fast}) >= 10, "the corpus covers many kinds of answers"


def test_the_fast_lane_serves_valid_requests(monkeypatch: pytest.MonkeyPatch) -> None:
    """A valid request is validated once (fast lane); an invalid one twice (fast lane, then connexion)."""
    seen: list[str] = []
    original = Operation.validate

    def counting(self: Operation, *args: Any) -> Any:
        seen.append(self.id)
        return original(self, *args)

    monkeypatch.setattr(Operation, "validate", counting)
    api = Api(create_app(build_runtime()))
    assert api.get(f"/v1/workflows/runs/{R1}", headers=_a()).status_code == 200
    assert api.post(RUN, headers=_a(), json={"input": {}}).status_code == 201
    assert api.get("/v1/workflows/runs?limit=1", headers=_a()).status_code == 200
    assert seen == ["getWorkflowRun", "runWorkflow", "listWorkflowRuns"]
    seen.clear()
    assert api.post(RUN, headers=_a(), json={"input": 1}).status_code == 422
    assert seen == ["runWorkflow", "runWorkflow"]
    api.close()
