"""One execution, one transaction: a failure at any write boundary leaves nothing behind, and the same
Idempotency-Key then executes exactly once (issue 14, item 1)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from mock_server import spec
from mock_server.app import create_app
from mock_server.fixtures import load_fixtures
from mock_server.runtime import build_runtime
from mock_server.store import Store
from mock_server.store.memory import MemoryStore
from mock_server.store.sqlite import SqliteStore
from tests.support.api import ORG1_KEY, Api, auth

ORG1 = "cborg_5f0c3a7e9b1d4f6a8c2e0b4d6f8a1c3e"
PRIVACY_SET = "cbctst_2b4d6f8a0c1e3a5c7e9b1d3f5a7c9e0b"
VENDOR = "cbvndr_e448ba62882143f3ba0c140bb2e30162"
# An assessment with trigger_workflow against the privacy control set writes: the triggered run, the
# assessment, the run its Assessment.Created binding starts, and the stored outcome of the key.
BODY = {"vendor_id": VENDOR, "control_set_ids": [PRIVACY_SET], "trigger_workflow": "annual-reassessment-flow"}
WRITES = (
    "put_run",
    "put_assessment",
    "put_vendor",
    "put_service",
    "put_webhook",
    "add_delivery",
    "idempotency_put",
    "next_sequence",
)


class StorageFailed(Exception):
    pass


class FailingStore:
    """A store that fails the n-th write of the next execution (a full disk, a lost connection...)."""

    def __init__(self, base: Store) -> None:
        self._base = base
        self.fail_at: int | None = None
        self.writes = 0

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._base, name)
        if name not in WRITES:
            return attribute

        def write(*args: Any, **kwargs: Any) -> Any:
            self.writes += 1
            if self.fail_at is not None and self.writes == self.fail_at:
                raise StorageFailed(f"write {self.writes} ({name}) failed")
            return attribute(*args, **kwargs)

        return write


def _state(store: Store) -> tuple[Any, ...]:
    runs = [r.workflow_run_id for r in store.runs_newest_first(ORG1)]
    return runs, store.idempotency_count()


def _make(kind: str, path: Path) -> Store:
    fixtures = load_fixtures(None, spec.load_document())
    return MemoryStore(fixtures) if kind == "memory" else SqliteStore(path, fixtures)


def _count_writes(kind: str, path: Path) -> int:
    store = FailingStore(_make(kind, path))
    api = Api(create_app(build_runtime(store=store)))  # type: ignore[arg-type]
    response = api.post("/v1/assessments", headers=auth(**{"Idempotency-Key": "count"}), json=BODY)
    assert response.status_code == 201
    api.close()
    return store.writes


@pytest.mark.parametrize("kind", ["memory", "sqlite"])
def test_a_failure_at_every_write_boundary_leaves_nothing_and_the_retry_executes_once(
    kind: str, tmp_path: Path
) -> None:
    writes = _count_writes(kind, tmp_path / "count.db")
    assert writes >= 6, "triggered run, assessment, bound run, sequences and the stored outcome"
    for boundary in range(1, writes + 1):
        store = FailingStore(_make(kind, tmp_path / f"s{boundary}.db"))
        rt = build_runtime(store=store)  # type: ignore[arg-type]
        api = Api(create_app(rt))
        before = _state(store)
        store.writes, store.fail_at = 0, boundary
        failed = api.post("/v1/assessments", headers=auth(ORG1_KEY, **{"Idempotency-Key": "k"}), json=BODY)
        assert failed.status_code >= 500, (boundary, failed.status_code, failed.text)
        assert _state(store) == before, f"a failure at write {boundary} left state behind"
        assert store.deliveries() == [], "no event of a rolled-back execution is queued"
        store.fail_at = None
        retried = api.post("/v1/assessments", headers=auth(ORG1_KEY, **{"Idempotency-Key": "k"}), json=BODY)
        assert retried.status_code == 201, (boundary, retried.text)
        replayed = api.post("/v1/assessments", headers=auth(ORG1_KEY, **{"Idempotency-Key": "k"}), json=BODY)
        assert replayed.content == retried.content
        runs, records = _state(store)
        assert len(runs) == len(before[0]) + 2 and records == 1, f"boundary {boundary}: executed exactly once"
        created = retried.json()
        assert store.get_assessment(ORG1, created["id"]) is not None
        api.close()
