"""Background work outlives a failing store: webhook delivery rounds go on after one raises (a database restart)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from mock_server import app
from mock_server.app import _background


class _Flaky:
    """A world's webhooks whose first delivery rounds fail as a restarting database would."""

    def __init__(self, failures: int, done: asyncio.Event) -> None:
        self.calls = 0
        self.failures = failures
        self.done = done

    async def deliver_due(self) -> None:
        self.calls += 1
        if self.calls <= self.failures:
            raise OSError("terminating connection due to administrator command")
        self.done.set()


class _World:
    def __init__(self, webhooks: _Flaky) -> None:
        self.webhooks = webhooks


class _Worlds:
    def __init__(self, world: _World) -> None:
        self.world = world

    def loaded(self) -> list[_World]:
        return [self.world]


def test_delivery_rounds_go_on_after_a_failing_one(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(app, "publish_status_changes", lambda world: 0)  # these worlds hold no assessments

    async def scenario() -> int:
        done = asyncio.Event()
        flaky = _Flaky(failures=3, done=done)
        worlds: Any = _Worlds(_World(flaky))
        loop = asyncio.create_task(_background(worlds, maintain_every=3600, poll_seconds=0))
        await asyncio.wait_for(done.wait(), timeout=10)
        loop.cancel()
        return flaky.calls

    assert asyncio.run(scenario()) >= 4, "rounds went on after three failing ones"
    failures = [r for r in caplog.records if "webhook delivery failed" in r.getMessage()]
    assert len(failures) == 1, "logged once per outage"
