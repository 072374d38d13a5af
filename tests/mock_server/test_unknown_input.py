"""Undocumented input (x-unknown-input): ignored and reported by default, a 422 under --strict-input."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest

from mock_server import spec
from mock_server.app import create_app
from mock_server.runtime import build_runtime
from mock_server.settings import Settings
from tests.support.api import ORG1_CONTROL_SET, ORG1_VENDOR, Api, auth

HEADER = "x-coverbase-mock-ignored-input"
SUPERSEDED = {"vendor_id": ORG1_VENDOR, "control_set_ids": [], "control_set_id": ORG1_CONTROL_SET, "risk_type": "x"}


@pytest.fixture
def strict() -> Iterator[Api]:
    client = Api(create_app(build_runtime(Settings(strict_input=True))))
    yield client
    client.close()


def test_the_document_ignores_unknown_input() -> None:
    document = spec.load_document()
    assert document["x-unknown-input"]["body_fields"] == document["x-unknown-input"]["query_parameters"] == "ignored"
    assert not spec.rejects_unknown_input(document)
    header = spec.load_control_document()["x-ignored-input-header"]["name"]
    assert header.lower() == HEADER


def test_unknown_body_fields_are_ignored_and_named(api: Api, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="coverbase_mock.input"):
        r = api.post("/v1/assessments", json=SUPERSEDED, headers=auth())
    assert r.status_code == 201, r.text
    assert r.headers[HEADER] == "body.control_set_id, body.risk_type"
    assert "control_set_id" not in r.json() and r.json()["control_set_ids"] == []
    lines = [rec.getMessage() for rec in caplog.records if rec.name == "coverbase_mock.input"]
    assert len(lines) == 1 and "body.control_set_id, body.risk_type" in lines[0] and "--strict-input" in lines[0]
    [entry] = [e for e in api.get("/_mock/requests").json()["data"] if e["path"] == "/v1/assessments"]
    assert entry["ignored"] == ["body.control_set_id", "body.risk_type"]


def test_unknown_query_parameters_are_ignored_and_named(api: Api) -> None:
    r = api.get("/v1/workflows/runs?limit=1&page=2", headers=auth())
    assert r.status_code == 200 and r.json()["limit"] == 1
    assert r.headers[HEADER] == "query.page"


def test_a_huge_unknown_query_parameter_is_ignored_too(api: Api) -> None:
    name = "x" + "y" * 10_000
    r = api.get(f"/v1/workflows/runs?{name}=1&limit=1", headers=auth())
    assert r.status_code == 200 and r.headers[HEADER] == f"query.{name}"


def test_any_field_name_makes_a_valid_header_line(api: Api) -> None:
    body = {"input": {}, "caf\u00e9 \U0009b664": 1, "a\r\nX-Injected: 1": 2, "x,y%": 3}
    r = api.post("/v1/workflows/onboard-vendor/run", json=body, headers=auth())
    assert r.status_code == 201 and "x-injected" not in r.headers
    assert r.headers[HEADER] == "body.caf%C3%A9%20%F2%9B%99%A4, body.a%0D%0AX-Injected:%201, body.x%2Cy%25"
    [entry] = [e for e in api.get("/_mock/requests").json()["data"] if e["status"] == 201]
    assert entry["ignored"] == ["body.caf\u00e9 \U0009b664", "body.a\r\nX-Injected: 1", "body.x,y%"]


def test_an_error_answer_names_them_too(api: Api) -> None:
    r = api.post("/v1/workflows/nope/run", json={"input": {}, "extra": 1}, headers=auth())
    assert r.status_code == 404 and r.headers[HEADER] == "body.extra"


def test_documented_input_and_free_form_objects_are_not_reported(api: Api) -> None:
    r = api.post("/v1/workflows/onboard-vendor/run", json={"input": {"anything": {"goes": 1}}}, headers=auth())
    assert r.status_code == 201 and HEADER not in r.headers
    entries = api.get("/_mock/requests").json()["data"]
    assert entries[-1]["ignored"] == []


@pytest.mark.parametrize(
    ("method", "url", "body", "loc"),
    [
        ("POST", "/v1/assessments", SUPERSEDED, ["body", "control_set_id"]),
        ("POST", "/v1/workflows/onboard-vendor/run", {"input": {}, "workflow_definition_id": "x"}, None),
        ("GET", "/v1/workflows/runs?page=2", None, ["query", "page"]),
        ("POST", "/v1/import/vendor-intake", {"data": [{"Name": "x"}], "mode": "replace"}, ["body", "mode"]),
    ],
)
def test_strict_input_rejects_them(strict: Api, method: str, url: str, body: Any, loc: list[str] | None) -> None:
    r = strict.request(method, url, json=body, headers=auth())
    assert r.status_code == 422 and HEADER not in r.headers
    items = r.json()["detail"]
    extra = [i for i in items if i["type"] == "extra_forbidden"]
    assert extra, items
    if loc is not None:
        assert {"loc": loc, "msg": "Extra inputs are not permitted", "type": "extra_forbidden"} in items


def test_the_control_plane_always_refuses_unknown_fields(api: Api) -> None:
    assert api.post("/_mock/clock", json={"advance_seconds": 1, "x": 1}).status_code == 422
