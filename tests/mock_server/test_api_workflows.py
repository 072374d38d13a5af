"""Workflows API: run, read, list - with the documented errors and org scoping."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from freezegun import freeze_time

from mock_server import spec
from mock_server.runtime import Runtime
from tests.support.api import DOC_RUN, ORG1_VENDOR, ORG2_KEY, Api, auth

T0 = "2026-05-07 00:00:00"
T0_UNIX = 1778112000


def at(unix: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(unix, tz=dt.UTC)


def run(api: Api, name: str = "quarterly-privacy-sweep", body: Any = None, **headers: str) -> Any:
    kwargs: dict[str, Any] = {"headers": auth(**headers)}
    if body is not None:
        kwargs["json"] = body
    return api.post(f"/v1/workflows/{name}/run", **kwargs)


def test_run_returns_201_started_with_input_echo(api: Api) -> None:
    with freeze_time(T0, real_asyncio=True):
        r = run(api, body={"input": {"vendor_filter": {"tags": ["processes_pii"]}, "due_date": "2026-06-30"}})
    assert r.status_code == 201
    body = r.json()
    assert body["status"] == "started"
    assert body["started_at"] == T0_UNIX
    assert body["workflow_name"] == "quarterly-privacy-sweep"
    assert body["input"] == {"vendor_filter": {"tags": ["processes_pii"]}, "due_date": "2026-06-30"}
    assert body["workflow_run_id"].startswith("cbwr_") and len(body["workflow_run_id"]) == 37


def test_run_without_body_or_input_defaults_to_empty_input(api: Api) -> None:
    assert run(api).json()["input"] == {}
    assert run(api, body={}).json()["input"] == {}


def test_created_run_is_readable_and_listed(api: Api) -> None:
    created = run(api, body={"input": {"vendor_id": ORG1_VENDOR}}).json()
    got = api.get(f"/v1/workflows/runs/{created['workflow_run_id']}", headers=auth())
    assert got.status_code == 200
    assert got.json()["workflow_run_id"] == created["workflow_run_id"]
    assert got.json()["workflow_definition_id"] == "cbwd_1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d"
    listed = api.get("/v1/workflows/runs", headers=auth()).json()
    assert listed["data"][0]["workflow_run_id"] == created["workflow_run_id"]


def test_unknown_workflow_is_404_workflow_not_found(api: Api) -> None:
    r = run(api, "no-such-flow")
    assert r.status_code == 404
    assert r.json() == {"detail": {"code": "workflow_not_found", "message": "Workflow 'no-such-flow' not found."}}


def test_disabled_workflow_is_409_and_creates_nothing(api: Api) -> None:
    before = api.get("/v1/workflows/runs", headers=auth()).json()["total"]
    r = run(api, "legacy-soc2-chase")
    assert r.status_code == 409
    assert r.json() == {"detail": {"code": "workflow_disabled", "message": "Workflow 'legacy-soc2-chase' is disabled."}}
    assert api.get("/v1/workflows/runs", headers=auth()).json()["total"] == before


def test_dispatch_failure_rehearsal_is_502_with_a_readable_failed_run(api: Api) -> None:
    armed = api.post("/_mock/rehearsals", json={"kind": "dispatch_failure", "workflow_name": "onboard-vendor"})
    assert armed.status_code == 201
    r = run(api, "onboard-vendor", body={"input": {}}, **{"Idempotency-Key": "ariba-req-7821"})
    assert r.status_code == 502
    detail = r.json()["detail"]
    assert detail["code"] == "workflow_dispatch_failed"
    run_id = detail["message"].split("(")[1].rstrip(").")
    failed = api.get(f"/v1/workflows/runs/{run_id}", headers=auth()).json()
    assert failed["status"] == "failed" and failed["steps"] == [] and failed["completed_at"] == failed["started_at"]
    # 502 is not stored: the retry with the same key starts a new, healthy run.
    retry = run(api, "onboard-vendor", body={"input": {}}, **{"Idempotency-Key": "ariba-req-7821"})
    assert retry.status_code == 201 and retry.json()["workflow_run_id"] != run_id


def test_input_must_be_an_object(api: Api) -> None:
    r = run(api, body={"input": [1, 2]})
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["body", "input"]


def test_unknown_body_field_is_ignored_and_reported(api: Api) -> None:
    r = run(api, body={"input": {}, "workflow_definition_id": "cbwd_x"})
    assert r.status_code == 201
    assert r.headers["x-coverbase-mock-ignored-input"] == "body.workflow_definition_id"


def test_get_unknown_run_is_404(api: Api) -> None:
    r = api.get("/v1/workflows/runs/cbwr_00000000000000000000000000000000", headers=auth())
    assert r.status_code == 404
    assert r.json() == {"detail": {"code": "workflow_run_not_found", "message": "Workflow run not found."}}


def test_other_orgs_run_is_404_exactly_like_a_missing_one(api: Api) -> None:
    theirs = api.get(f"/v1/workflows/runs/{DOC_RUN}", headers=auth(ORG2_KEY))
    missing = api.get("/v1/workflows/runs/cbwr_ffffffffffffffffffffffffffffffff", headers=auth(ORG2_KEY))
    assert theirs.status_code == missing.status_code == 404
    assert theirs.json() == missing.json()
    listed = api.get("/v1/workflows/runs", headers=auth(ORG2_KEY)).json()
    assert DOC_RUN not in {r["workflow_run_id"] for r in listed["data"]}


def test_path_parameter_with_newline_is_a_documented_404(api: Api) -> None:
    r = api.get("/v1/workflows/runs/cbwr_a%0Ab", headers=auth())
    assert r.status_code == 404
    assert r.json()["detail"]["code"] == "workflow_run_not_found"
    r = api.post("/v1/workflows/a%2Fb/run", headers=auth())
    assert r.status_code == 404
    assert r.json()["detail"] == {"code": "workflow_not_found", "message": "Workflow 'a/b' not found."}


# --- list runs -----------------------------------------------------------------------------------


def _seed_runs(api: Api, runtime: Runtime) -> list[str]:
    ids = []
    for i, name in enumerate(["quarterly-privacy-sweep", "onboard-vendor", "contract-guardian-check"] * 2):
        with freeze_time(at(T0_UNIX + i * 100), real_asyncio=True):
            ids.append(run(api, name).json()["workflow_run_id"])
    return ids


def test_list_is_newest_first_with_totals_and_pagination(api: Api, runtime: Runtime) -> None:
    ids = _seed_runs(api, runtime)
    with freeze_time(at(T0_UNIX + 1000), real_asyncio=True):
        page = api.get("/v1/workflows/runs?limit=2&offset=1&created_at_after=" + str(T0_UNIX), headers=auth()).json()
    assert page["total"] == 6
    assert page["limit"] == 2 and page["offset"] == 1
    assert [r["workflow_run_id"] for r in page["data"]] == list(reversed(ids))[1:3]
    assert all("steps" not in r and r["step_count"] >= 0 for r in page["data"])


def test_list_defaults_come_from_the_document(api: Api, runtime: Runtime) -> None:
    page = api.get("/v1/workflows/runs", headers=auth()).json()
    op = spec.operation(runtime.document, "listWorkflowRuns")
    limit = next(p for p in op.raw["parameters"] if p["name"] == "limit")
    assert page["limit"] == limit["schema"]["default"] == 100
    assert page["offset"] == 0


def test_list_filters_by_name_status_and_time(api: Api, runtime: Runtime) -> None:
    ids = _seed_runs(api, runtime)
    headers = auth()
    with freeze_time(at(T0_UNIX + 100000), real_asyncio=True):
        by_name = api.get("/v1/workflows/runs?workflow_name=onboard-vendor", headers=headers).json()
        assert {r["workflow_run_id"] for r in by_name["data"]} == {ids[1], ids[4]}
        failed = api.get("/v1/workflows/runs?status=failed&created_at_after=" + str(T0_UNIX), headers=headers).json()
        assert {r["workflow_run_id"] for r in failed["data"]} == {ids[2], ids[5]}
        both = api.get(
            f"/v1/workflows/runs?status=failed&status=completed&created_at_after={T0_UNIX}", headers=headers
        ).json()
        assert both["total"] == 6
        window = api.get(
            f"/v1/workflows/runs?created_at_after={T0_UNIX + 100}&created_at_before={T0_UNIX + 300}", headers=headers
        ).json()
        assert [r["workflow_run_id"] for r in window["data"]] == [ids[3], ids[2], ids[1]]
    with freeze_time(at(T0_UNIX + 1000), real_asyncio=True):
        started = api.get(f"/v1/workflows/runs?status=started&created_at_after={T0_UNIX}", headers=headers).json()
        # Only the two privacy sweeps (1830 s) are still running; the shorter workflows have finished.
        assert {r["workflow_run_id"] for r in started["data"]} == {ids[0], ids[3]}


@pytest.mark.parametrize("query", ["limit=0", "limit=501", "limit=abc", "offset=-1", "status=running"])
def test_list_rejects_bad_query_with_422(api: Api, query: str) -> None:
    r = api.get(f"/v1/workflows/runs?{query}", headers=auth())
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"][0] == "query"


@pytest.mark.parametrize("filtered", [False, True], ids=["unfiltered", "filtered"])
def test_list_offset_past_every_run_is_an_empty_page(api: Api, filtered: bool) -> None:
    """Seen in the thorough contract run: an offset near 2**63 made the unfiltered listing answer 500."""
    offset = 2**63 - 1
    query = f"limit=500&offset={offset}" + ("&workflow_name=onboard-vendor" if filtered else "")
    first = api.get(f"/v1/workflows/runs?{query.replace(str(offset), '0')}", headers=auth()).json()
    r = api.get(f"/v1/workflows/runs?{query}", headers=auth())
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["data"] == [] and body["offset"] == offset and body["total"] == first["total"]


def test_list_unknown_workflow_name_is_404(api: Api) -> None:
    r = api.get("/v1/workflows/runs?workflow_name=nope", headers=auth())
    assert r.status_code == 404
    assert r.json()["detail"]["code"] == "workflow_not_found"


def test_list_accepts_the_limit_bounds(api: Api) -> None:
    assert api.get("/v1/workflows/runs?limit=1", headers=auth()).status_code == 200
    assert api.get("/v1/workflows/runs?limit=500", headers=auth()).status_code == 200
