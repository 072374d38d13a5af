"""Failure rehearsal: dispatch failure, delay and dropped connection, per request or armed; journaled."""

from __future__ import annotations

import httpx
import pytest

from tests.support.api import Api, auth
from tests.support.mockserver import serve

RUN = "/v1/workflows/onboard-vendor/run"
HEADER = "X-Coverbase-Mock-Rehearse"


def journal(api: Api) -> list[dict[str, object]]:
    entries: list[dict[str, object]] = api.get("/_mock/requests").json()["data"]
    return entries


def runs(api: Api) -> int:
    total: int = api.get("/v1/workflows/runs?workflow_name=onboard-vendor", headers=auth()).json()["total"]
    return total


def test_dispatch_failure_by_header(api: Api) -> None:
    r = api.post(RUN, headers=auth(**{HEADER: "dispatch_failure"}))
    assert r.status_code == 502 and r.json()["detail"]["code"] == "workflow_dispatch_failed"
    assert journal(api)[-1]["rehearsal"] == "dispatch_failure"
    assert api.post(RUN, headers=auth()).status_code == 201  # only that one request


def test_dispatch_failure_header_is_ignored_elsewhere(api: Api) -> None:
    r = api.get("/v1/utils/authtest", headers=auth(**{HEADER: "dispatch_failure"}))
    assert r.status_code == 200


def test_unknown_rehearsal_header_values_are_ignored(api: Api) -> None:
    for value in ("explode", "delay=0", "delay=999999", "delay=abc"):
        assert api.post(RUN, headers=auth(**{HEADER: value})).status_code == 201
        assert journal(api)[-1]["rehearsal"] is None


def test_delay_by_header_still_answers_correctly(api: Api) -> None:
    r = api.post(RUN, headers=auth(**{HEADER: "delay=20"}))
    assert r.status_code == 201
    assert journal(api)[-1]["rehearsal"] == "delay=20"


def test_armed_rehearsals_match_their_operation_and_are_used_up(api: Api) -> None:
    armed = api.post("/_mock/rehearsals", json={"kind": "delay", "delay_ms": 5, "operation_id": "getWorkflowRun"})
    assert armed.status_code == 201 and armed.json()["remaining"] == 1
    api.get("/v1/utils/authtest", headers=auth())
    assert journal(api)[-1]["rehearsal"] is None
    api.get("/v1/workflows/runs/cbwr_a8f2c19e3d4b5e6f7a8b9c0d1e2f3a4b", headers=auth())
    assert journal(api)[-1]["rehearsal"] == "delay=5"
    assert api.get("/_mock/rehearsals").json()["data"] == []


@pytest.mark.parametrize(
    "body",
    [
        {"kind": "delay"},
        {"kind": "explode"},
        {"kind": "delay", "delay_ms": 0},
        {"kind": "drop_after_commit", "operation_id": "nope"},
    ],
)
def test_bad_rehearsal_requests_are_422(api: Api, body: dict[str, object]) -> None:
    assert api.post("/_mock/rehearsals", json=body).status_code == 422


def test_dropped_connection_in_process_commits_then_replays(api: Api) -> None:
    before = runs(api)
    with pytest.raises(AssertionError):  # httpx's ASGI transport: the response never completed
        api.post(RUN, headers=auth(**{HEADER: "drop_after_commit", "Idempotency-Key": "drop-1"}))
    assert runs(api) == before + 1
    retry = api.post(RUN, headers=auth(**{"Idempotency-Key": "drop-1"}))
    assert retry.status_code == 201
    assert runs(api) == before + 1
    assert [e["rehearsal"] for e in journal(api) if e["path"] == RUN] == ["drop_after_commit", None]


def test_dropped_connection_over_http_and_the_retry_replays() -> None:
    with serve() as base, httpx.Client(base_url=base, timeout=10) as client:
        armed = client.post("/_mock/rehearsals", json={"kind": "drop_after_commit", "operation_id": "runWorkflow"})
        assert armed.status_code == 201
        headers = {**auth(), "Idempotency-Key": "ariba-req-7821"}
        with pytest.raises(httpx.RemoteProtocolError):
            client.post(RUN, headers=headers, json={"input": {}})
        retry = client.post(RUN, headers=headers, json={"input": {}})
        assert retry.status_code == 201
        listed = client.get("/v1/workflows/runs?workflow_name=onboard-vendor", headers=auth()).json()
        assert listed["total"] == 1 and listed["data"][0]["workflow_run_id"] == retry.json()["workflow_run_id"]
