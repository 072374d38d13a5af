"""The fast lane answers exactly like connexion: same status, headers and bytes, for valid and invalid requests."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from freezegun import freeze_time

from mock_server import fastpath
from mock_server.app import build_runtime, create_app
from mock_server.ids import SequentialIds
from mock_server.runtime import Settings
from tests.support.api import DOC_RUN, ORG2_KEY, Api, auth

T0 = dt.datetime(2026, 5, 7, tzinfo=dt.UTC)
RUN = "/v1/workflows/onboard-vendor/run"
KEY = "Idempotency-Key"

REQUESTS: list[tuple[str, str, dict[str, Any]]] = [
    ("GET", f"/v1/workflows/runs/{DOC_RUN}", {"headers": auth()}),
    ("GET", f"/v1/workflows/runs/{DOC_RUN}", {"headers": auth(ORG2_KEY)}),
    ("GET", "/v1/workflows/runs/cbwr_nope", {"headers": auth()}),
    ("GET", f"/v1/workflows/runs/{DOC_RUN}", {"headers": {"Authorization": "Bearer nope"}}),
    ("GET", f"/v1/workflows/runs/{DOC_RUN}", {}),
    ("GET", "/v1/workflows/runs", {"headers": auth()}),
    ("GET", "/v1/workflows/runs?limit=1", {"headers": auth()}),
    ("GET", "/v1/workflows/runs?limit=0", {"headers": auth()}),
    ("POST", RUN, {"headers": auth()}),
    ("POST", RUN, {"headers": auth(), "json": {"input": {"vendor_id": "cbvndr_e448ba62882143f3ba0c140bb2e30162"}}}),
    ("POST", RUN, {"headers": auth(**{KEY: "same"}), "json": {"input": {}}}),
    ("POST", RUN, {"headers": auth(**{KEY: "same"}), "json": {"input": {"other": 1}}}),
    ("POST", RUN, {"headers": auth(**{KEY: ""}), "json": {}}),
    ("POST", RUN, {"headers": auth(**{KEY: "has space"}), "json": {}}),
    ("POST", RUN, {"headers": auth(), "json": {"input": []}}),
    ("POST", RUN, {"headers": auth(), "json": {"extra": 1}}),
    ("POST", RUN, {"headers": auth(), "content": b"{bad"}),
    ("POST", RUN, {"headers": auth(**{"Content-Type": "text/plain"}), "content": b"{}"}),
    ("POST", "/v1/workflows/nope/run", {"headers": auth(), "json": {}}),
    ("POST", "/v1/workflows/legacy-soc2-chase/run", {"headers": auth(), "json": {}}),
    ("POST", RUN, {"headers": auth(**{"X-Coverbase-Mock-Rehearse": "dispatch_failure"}), "json": {}}),
]


HEADERS = ("content-type", "content-length", "www-authenticate", "cache-control", "x-content-type-options", "allow")


def replay(fast: bool) -> list[tuple[int, list[str | None], bytes]]:
    runtime = build_runtime(ids=SequentialIds(), settings=Settings(fast_path=fast))
    api = Api(create_app(runtime))
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
    assert replay(fast=True) == replay(fast=False)


def test_the_fast_lane_serves_valid_requests(monkeypatch: pytest.MonkeyPatch) -> None:
    refused: list[str] = []
    original = fastpath.FastPathMiddleware._admit

    async def counting(self: Any, lane: Any, scope: Any, receive: Any, messages: Any) -> Any:
        try:
            return await original(self, lane, scope, receive, messages)
        except fastpath._NotForUs:
            refused.append(lane.operation_id)
            raise

    monkeypatch.setattr(fastpath.FastPathMiddleware, "_admit", counting)
    api = Api(create_app(build_runtime()))
    assert api.get(f"/v1/workflows/runs/{DOC_RUN}", headers=auth()).status_code == 200
    assert api.post(RUN, headers=auth(), json={"input": {}}).status_code == 201
    assert refused == []
    assert api.post(RUN, headers=auth(), json={"input": 1}).status_code == 422
    assert refused == ["runWorkflow"]
    api.close()
