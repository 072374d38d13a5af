"""Idempotency-Key behaves as the document's x-idempotency extension says (read from it, not assumed)."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

import pytest
from freezegun import freeze_time

from mock_server import spec
from mock_server.runtime import Runtime
from tests.support.api import ORG1_CONTROL_SET, ORG1_VENDOR, ORG2_KEY, Api, auth

T0 = dt.datetime(2026, 5, 7, tzinfo=dt.UTC)
POLICY = spec.idempotency_policy(spec.load_document())
KEY = POLICY.header


def run(
    api: Api, key: str | None, name: str = "quarterly-privacy-sweep", api_key: str = "ak_live_xxx", **body: Any
) -> Any:
    headers = auth(api_key) if key is None else auth(api_key, **{KEY: key})
    return api.post(f"/v1/workflows/{name}/run", headers=headers, json={"input": body})


def total(api: Api, api_key: str = "ak_live_xxx") -> int:
    count: int = api.get("/v1/workflows/runs", headers=auth(api_key)).json()["total"]
    return count


def test_replay_returns_identical_status_and_body_and_creates_nothing(api: Api) -> None:
    first = run(api, "privacy-sweep-2026-q2", due_date="2026-06-30")
    before = total(api)
    again = run(api, "privacy-sweep-2026-q2", due_date="2026-06-30")
    assert again.status_code == first.status_code == 201
    assert again.content == first.content
    assert total(api) == before


def test_replay_with_a_different_body_returns_the_original(api: Api) -> None:
    first = run(api, "k-body", a=1)
    before = total(api)
    again = run(api, "k-body", a=2)
    assert again.json() == first.json() and again.json()["input"] == {"a": 1}
    assert total(api) == before


def test_replay_is_the_original_snapshot_after_the_run_progressed(api: Api) -> None:
    with freeze_time(T0, real_asyncio=True) as frozen:
        first = run(api, "snap")
        frozen.tick(5000)
        current = api.get(f"/v1/workflows/runs/{first.json()['workflow_run_id']}", headers=auth()).json()
        again = run(api, "snap")
    assert current["status"] == "completed"
    assert again.json() == first.json() and again.json()["status"] == "started"


def test_distinct_keys_make_distinct_runs(api: Api) -> None:
    ids = {run(api, f"key-{i}").json()["workflow_run_id"] for i in range(5)}
    assert len(ids) == 5


def test_same_key_on_another_path_or_endpoint_is_independent(api: Api) -> None:
    a = run(api, "shared-key", "quarterly-privacy-sweep").json()
    b = run(api, "shared-key", "onboard-vendor").json()
    c = api.post(
        "/v1/assessments",
        headers=auth(**{KEY: "shared-key"}),
        json={"vendor_id": ORG1_VENDOR, "control_set_ids": [ORG1_CONTROL_SET]},
    )
    assert a["workflow_run_id"] != b["workflow_run_id"]
    assert b["workflow_name"] == "onboard-vendor"
    assert c.status_code == 201 and c.json()["id"].startswith("cbqsrw_")


def test_same_key_in_another_org_is_independent_and_reveals_nothing(api: Api) -> None:
    mine = run(api, "cross-org", secret="org-a-only").json()
    theirs = run(api, "cross-org", api_key=ORG2_KEY).json()
    assert theirs["workflow_run_id"] != mine["workflow_run_id"]
    assert theirs["input"] == {}
    assert "org-a-only" not in str(theirs)


def test_window_boundary_is_exactly_as_documented(api: Api) -> None:
    with freeze_time(T0, real_asyncio=True) as frozen:
        first = run(api, "window").json()
        frozen.tick(POLICY.window_seconds - 1)
        assert run(api, "window").json() == first
        frozen.tick(1)
        after = run(api, "window").json()
    assert POLICY.boundary_exclusive
    assert after["workflow_run_id"] != first["workflow_run_id"]


def test_replays_do_not_extend_the_window(api: Api) -> None:
    with freeze_time(T0, real_asyncio=True) as frozen:
        first = run(api, "fixed-window").json()
        for _ in range(3):
            frozen.tick(POLICY.window_seconds // 4)
            assert run(api, "fixed-window").json() == first
        frozen.tick(POLICY.window_seconds // 4)
        assert run(api, "fixed-window").json() != first


def test_the_control_plane_clock_drives_the_window(api: Api) -> None:
    first = run(api, "virtual").json()
    api.post("/_mock/clock", json={"advance_seconds": POLICY.window_seconds})
    assert run(api, "virtual").json()["workflow_run_id"] != first["workflow_run_id"]


def test_unstored_outcomes_can_be_retried_with_the_same_key(api: Api) -> None:
    assert not POLICY.stores(404)
    r = run(api, "retry-me", "not-yet-created")
    assert r.status_code == 404
    r = run(api, "retry-me", "quarterly-privacy-sweep")
    assert r.status_code == 201


@pytest.mark.parametrize("bad", ["", "a" * 256, "has space", "tab\tkey", "caf\u00e9"])
def test_invalid_keys_are_422_and_start_nothing(api: Api, bad: str) -> None:
    before = total(api)
    r = api.post(
        "/v1/workflows/quarterly-privacy-sweep/run",
        headers=[("Authorization", "Bearer ak_live_xxx"), (KEY, bad.encode("utf-8"))],  # type: ignore[arg-type]
        json={},
    )
    assert r.status_code == POLICY.key.invalid_status
    assert all(item["loc"] == ["header", KEY] for item in r.json()["detail"])
    assert total(api) == before


def test_longest_valid_key_is_accepted(api: Api) -> None:
    key = "~" * POLICY.key.max_length
    assert run(api, key).status_code == 201
    assert run(api, key).status_code == 201


def test_concurrent_same_key_requests_execute_once(api: Api, runtime: Runtime) -> None:
    async def burst() -> list[Any]:
        calls = [
            api.client.post(
                "/v1/workflows/quarterly-privacy-sweep/run", headers=auth(**{KEY: "burst"}), json={"input": {"n": i}}
            )
            for i in range(25)
        ]
        return await asyncio.gather(*calls)

    before = total(api)
    responses = api.run(burst())
    assert {r.status_code for r in responses} == {201}
    assert len({r.content for r in responses}) == 1
    assert total(api) == before + 1


def test_expired_records_are_purged(api: Api, runtime: Runtime) -> None:
    with freeze_time(T0, real_asyncio=True) as frozen:
        for hour in range(72):
            for i in range(3):
                run(api, f"h{hour}-{i}")
            frozen.tick(3600)
            assert runtime.store.idempotency_count() <= 3 * 25
