"""The namespace capacity benchmark runs end to end in tiny mode (no figure is asserted: see bench/)."""

from __future__ import annotations

import asyncio

from bench.namespaces import measure


def test_tiny_namespace_bench_measures_every_figure() -> None:
    figures = asyncio.run(measure(count=20, active=5, seconds=0.2))
    assert figures.count == 20 and figures.active == 5
    assert figures.create_p50_ms > 0 and figures.bytes_per_namespace > 0
    assert figures.rps_one > 0 and figures.rps_spread > 0
    assert "ratio 5 namespaces / 1" in figures.markdown()
