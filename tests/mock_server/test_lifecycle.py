"""Runs progress on the clock: steps appear and finish, then the run becomes terminal and stays so."""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

from freezegun import freeze_time

from tests.support.api import ORG1_VENDOR, Api, auth

T0 = dt.datetime(2026, 5, 7, tzinfo=dt.UTC)
T0_UNIX = int(T0.timestamp())


def start(api: Api, name: str, run_input: dict[str, Any] | None = None) -> str:
    r = api.post(f"/v1/workflows/{name}/run", headers=auth(), json={"input": run_input or {}})
    assert r.status_code == 201
    run_id: str = r.json()["workflow_run_id"]
    return run_id


def read(api: Api, run_id: str) -> dict[str, Any]:
    body: dict[str, Any] = api.get(f"/v1/workflows/runs/{run_id}", headers=auth()).json()
    return body


def test_run_progresses_step_by_step_to_completed(api: Api) -> None:
    # quarterly-privacy-sweep: steps of 600 s, 1200 s and 30 s.
    with freeze_time(T0, real_asyncio=True) as frozen:
        run_id = start(api, "quarterly-privacy-sweep", {"vendor_id": ORG1_VENDOR})
        at0 = read(api, run_id)
        frozen.tick(599)
        at599 = read(api, run_id)
        frozen.tick(1)
        at600 = read(api, run_id)
        frozen.tick(1230)
        done = read(api, run_id)
        frozen.tick(10**6)
        much_later = read(api, run_id)
    assert at0["status"] == "started" and at0["completed_at"] is None
    assert [s["status"] for s in at0["steps"]] == [None]
    assert at0["steps"][0]["artifacts"][0] == {"artifact_type": "vendor", "id": ORG1_VENDOR, "role": "trigger"}
    assert at599["steps"] == at0["steps"]
    assert [s["status"] for s in at600["steps"]] == ["success", None]
    assert at600["steps"][0]["updated_at"] == T0_UNIX + 600
    assert done["status"] == "completed" and done["completed_at"] == T0_UNIX + 1830
    assert [s["status"] for s in done["steps"]] == ["success", "success", "success"]
    assert much_later == done


def test_failing_workflow_ends_failed_with_a_message(api: Api) -> None:
    with freeze_time(T0, real_asyncio=True) as frozen:
        run_id = start(api, "contract-guardian-check")
        frozen.tick(120)
        done = read(api, run_id)
    assert done["status"] == "failed" and done["completed_at"] == T0_UNIX + 120
    assert done["steps"][-1]["status"] == "failed" and done["steps"][-1]["message"]


def test_steps_only_grow_and_status_moves_once(api: Api) -> None:
    with freeze_time(T0, real_asyncio=True) as frozen:
        run_id = start(api, "annual-reassessment-flow")
        seen: list[dict[str, Any]] = []
        for _ in range(40):
            seen.append(read(api, run_id))
            frozen.tick(97)
    statuses = [s["status"] for s in seen]
    first_terminal = statuses.index("completed")
    assert set(statuses[:first_terminal]) == {"started"} and set(statuses[first_terminal:]) == {"completed"}
    for before, after in itertools.pairwise(seen):
        assert len(after["steps"]) >= len(before["steps"])
        for old, new in zip(before["steps"], after["steps"][: len(before["steps"])], strict=True):
            assert old["step_id"] == new["step_id"]
            if old["status"] is not None:
                assert new == old
        assert (after["completed_at"] is None) == (after["status"] == "started")


def test_control_plane_clock_advances_runs(api: Api) -> None:
    run_id = start(api, "onboard-vendor")
    assert read(api, run_id)["status"] == "started"
    api.post("/_mock/clock", json={"advance_seconds": 330})
    assert read(api, run_id)["status"] == "completed"


def test_clock_cannot_move_backwards(api: Api) -> None:
    now = api.get("/_mock/clock").json()["now"]
    r = api.post("/_mock/clock", json={"set": now - 10})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "set"]
    assert api.post("/_mock/clock", json={"set": now + 10}).json()["now"] >= now + 10
    assert api.post("/_mock/clock", json={"advance_seconds": -1}).status_code == 422
    assert api.post("/_mock/clock", json={"advance_seconds": 1, "set": now}).status_code == 422


def test_reset_restores_fixtures_and_clock(api: Api) -> None:
    run_id = start(api, "onboard-vendor")
    api.post("/_mock/clock", json={"advance_seconds": 999})
    r = api.post("/_mock/reset")
    assert r.status_code == 200 and r.json()["offset_seconds"] == 0
    assert api.get(f"/v1/workflows/runs/{run_id}", headers=auth()).status_code == 404
    assert api.get("/v1/workflows/runs", headers=auth()).json()["total"] == 2


def test_reset_can_start_the_new_world_before_the_current_time(api: Api) -> None:
    api.post("/_mock/clock", json={"advance_seconds": 999})
    run_id = start(api, "onboard-vendor")
    r = api.post("/_mock/reset", json={"now": T0_UNIX})
    assert r.status_code == 200 and r.json()["now"] == T0_UNIX
    assert api.get(f"/v1/workflows/runs/{run_id}", headers=auth()).status_code == 404
    started = read(api, start(api, "onboard-vendor"))["started_at"]
    assert T0_UNIX <= started <= T0_UNIX + 5
    # Within the new world the clock still only moves forward.
    assert api.post("/_mock/clock", json={"set": T0_UNIX - 1}).status_code == 422


def test_reset_refuses_a_bad_start(api: Api) -> None:
    for body in ({"now": -1}, {"now": 253402300800}, {"now": "soon"}, {"later": 1}):
        r = api.post("/_mock/reset", json=body)
        assert r.status_code == 422, body
        assert r.json()["detail"][0]["loc"][0] == "body"
