"""Durable state in-process: a second runtime on the same --state file sees everything the first left."""

from __future__ import annotations

from pathlib import Path

from mock_server import spec
from mock_server.app import create_app
from mock_server.fixtures import load_fixtures
from mock_server.runtime import Runtime, build_runtime
from mock_server.store.sqlite import SqliteStore
from tests.support.api import ORG1_KEY, Api, auth

RUN = "/v1/workflows/quarterly-privacy-sweep/run"


def _runtime(path: Path) -> Runtime:
    return build_runtime(store=SqliteStore(path, load_fixtures(None, spec.load_document())))


def test_everything_survives_a_restart(tmp_path: Path) -> None:
    first = Api(create_app(_runtime(tmp_path / "s.db")))
    assert first.post("/_mock/clock", json={"advance_seconds": 7200}).status_code == 200
    created = first.post(RUN, headers=auth(ORG1_KEY, **{"Idempotency-Key": "persist"}), json={"input": {"a": 1}})
    assert created.status_code == 201
    run_id = created.json()["workflow_run_id"]
    journal = first.get("/_mock/requests").json()["data"]
    first.close()

    second = Api(create_app(_runtime(tmp_path / "s.db")))
    clock = second.get("/_mock/clock").json()
    assert clock["offset_seconds"] == 7200
    assert second.get(f"/v1/workflows/runs/{run_id}", headers=auth(ORG1_KEY)).status_code == 200
    replay = second.post(RUN, headers=auth(ORG1_KEY, **{"Idempotency-Key": "persist"}), json={"input": {"a": 1}})
    assert replay.content == created.content
    assert second.get("/_mock/requests").json()["data"][: len(journal)] == journal
    second.close()


def test_reset_works_on_sqlite(tmp_path: Path) -> None:
    api = Api(create_app(_runtime(tmp_path / "s.db")))
    seeded = api.get("/v1/workflows/runs", headers=auth(ORG1_KEY)).json()["total"]
    api.post("/_mock/clock", json={"advance_seconds": 60})
    api.post(RUN, headers=auth(ORG1_KEY, **{"Idempotency-Key": "r"}), json={})
    assert api.post("/_mock/reset").json()["offset_seconds"] == 0
    assert api.get("/v1/workflows/runs", headers=auth(ORG1_KEY)).json()["total"] == seeded
    assert api.get("/_mock/requests").json()["total"] == 1  # only the list call made after the reset
    again = api.post(RUN, headers=auth(ORG1_KEY, **{"Idempotency-Key": "r"}), json={})
    assert again.status_code == 201
    assert api.get("/v1/workflows/runs", headers=auth(ORG1_KEY)).json()["total"] == seeded + 1
    api.close()
