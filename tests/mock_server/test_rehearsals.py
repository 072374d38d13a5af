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


@pytest.mark.parametrize("value", ["dispatch_failur", "explode", "Dispatch_Failure", "delay", "delay=0", "delay=abc"])
def test_an_unknown_rehearsal_header_value_is_422_naming_the_known_values(api: Api, value: str) -> None:
    before = runs(api)
    r = api.post(RUN, headers=auth(**{HEADER: value}))
    assert r.status_code == 422
    [item] = r.json()["detail"]
    assert item["loc"] == ["header", HEADER] and item["type"] == "value_error"
    if value.startswith("delay"):
        assert "from 1 to 30000" in item["msg"] and "delay=1500" in item["msg"]
    else:
        assert all(known in item["msg"] for known in ("'dispatch_failure'", "'delay=<ms>'", "'drop_after_commit'"))
    assert runs(api) == before, "the call was not executed"
    assert [e["status"] for e in journal(api) if e["path"] == RUN] == [422]


def test_a_delay_out_of_range_and_a_repeated_header_are_422(api: Api) -> None:
    assert api.post(RUN, headers=auth(**{HEADER: "delay=999999"})).status_code == 422
    twice = [("Authorization", "Bearer ak_live_xxx"), (HEADER, "delay=1"), (HEADER, "delay=1")]
    r = api.post(RUN, headers=twice)
    assert r.status_code == 422 and r.json()["detail"][0]["msg"] == "Header must be sent once"


def test_a_bad_rehearsal_header_on_an_unknown_route_leaves_the_404(api: Api) -> None:
    assert api.get("/v1/nowhere", headers=auth(**{HEADER: "explode"})).status_code == 404


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


@pytest.mark.parametrize(
    ("body", "loc", "says"),
    [
        (
            {"kind": "dispatch_failure", "workflow_name": "onboard-vendr"},
            "workflow_name",
            "No workflow 'onboard-vendr' in the fixtures; their workflows are: annual-reassessment-flow, ",
        ),
        ({"kind": "delay", "delay_ms": 5, "workflow_name": "nope"}, "workflow_name", "tps-report-review"),
        ({"kind": "dispatch_failure", "workflow_name": "legacy-soc2-chase"}, "workflow_name", "is disabled"),
        (
            {"kind": "drop_after_commit", "operation_id": "createAssessment", "workflow_name": "onboard-vendor"},
            "workflow_name",
            "matches only runWorkflow calls",
        ),
        ({"kind": "dispatch_failure", "operation_id": "getWorkflowRun"}, "operation_id", "only in runWorkflow"),
    ],
)
def test_a_rehearsal_that_could_never_fire_is_422_saying_why(
    api: Api, body: dict[str, object], loc: str, says: str
) -> None:
    r = api.post("/_mock/rehearsals", json=body)
    assert r.status_code == 422
    [item] = r.json()["detail"]
    assert item["loc"] == ["body", loc] and says in item["msg"]
    assert api.get("/_mock/rehearsals").json()["data"] == [], "nothing was armed"


def test_a_rehearsal_of_a_disabled_workflow_may_delay_it(api: Api) -> None:
    """Only a dispatch failure cannot happen to a disabled workflow; its 409 can still be delayed."""
    body = {"kind": "delay", "delay_ms": 1, "workflow_name": "legacy-soc2-chase"}
    assert api.post("/_mock/rehearsals", json=body).status_code == 201


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
