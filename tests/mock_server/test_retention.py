"""A mock that runs for weeks stays bounded: closed idempotency windows and objects past retention go, and a
--state file gives freed pages back (issue 14, item 4)."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import httpx

from mock_server.app import create_app
from mock_server.runtime import Runtime, build_runtime
from mock_server.settings import Settings
from tests.support.api import DOC_ASSESSMENT, DOC_RUN, ORG1_KEY, auth

ORG1 = "cborg_5f0c3a7e9b1d4f6a8c2e0b4d6f8a1c3e"
RUN = "/v1/workflows/quarterly-privacy-sweep/run"
DAY = 86400


async def _create(rt: Runtime, count: int, prefix: str) -> list[str]:
    app = create_app(rt)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://mock") as client:
        ids = []
        for i in range(count):
            response = await client.post(
                RUN, headers=auth(ORG1_KEY, **{"Idempotency-Key": f"{prefix}-{i}"}), json={"input": {"i": i}}
            )
            assert response.status_code == 201
            ids.append(response.json()["workflow_run_id"])
        return ids


def test_records_past_their_window_and_runs_past_retention_are_deleted() -> None:
    rt = build_runtime(Settings(retention_days=30))
    app = create_app(rt)  # registers the world in its Worlds
    seeded = rt.store.run_count(ORG1)
    old = asyncio.run(_create(rt, 50, "old"))
    assert rt.store.idempotency_count() == 50
    rt.clock.advance(DAY)
    assert app.worlds.maintain() >= 50
    assert rt.store.idempotency_count() == 0, "the 24-hour window closed: the records are gone"
    assert rt.store.run_count(ORG1) == seeded + 50, "the runs stay within retention"
    rt.clock.advance(30 * DAY)
    recent = asyncio.run(_create(rt, 5, "recent"))
    app.worlds.maintain()
    assert rt.store.run_count(ORG1) == seeded + 5
    assert all(rt.store.get_run(ORG1, run_id) is None for run_id in old)
    assert all(rt.store.get_run(ORG1, run_id) is not None for run_id in recent)
    assert rt.store.get_run(ORG1, DOC_RUN) is not None and rt.store.get_assessment(ORG1, DOC_ASSESSMENT) is not None


def test_retention_zero_keeps_everything() -> None:
    rt = build_runtime(Settings(retention_days=0))
    app = create_app(rt)
    seeded = rt.store.run_count(ORG1)
    asyncio.run(_create(rt, 3, "k"))
    rt.clock.advance(365 * DAY)
    app.worlds.maintain()
    assert rt.store.run_count(ORG1) == seeded + 3


def test_a_state_file_gives_freed_pages_back(tmp_path: Path) -> None:
    rt = build_runtime(Settings(state_path=tmp_path / "state.db", retention_days=1))
    app = create_app(rt)
    asyncio.run(_create(rt, 400, "fill"))

    def pages() -> int:
        with sqlite3.connect(tmp_path / "state.db") as db:
            return int(db.execute("PRAGMA page_count").fetchone()[0])

    full = pages()
    rt.clock.advance(3 * DAY)
    app.worlds.maintain()
    with sqlite3.connect(tmp_path / "state.db") as db:
        assert db.execute("PRAGMA auto_vacuum").fetchone()[0] == 2, "incremental auto-vacuum"
        assert db.execute("PRAGMA freelist_count").fetchone()[0] == 0, "freed pages were given back"
    assert pages() < full
