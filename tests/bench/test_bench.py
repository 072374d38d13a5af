"""The benchmark runs end to end with a tiny load against the mock and the bare-Starlette reference."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bench import harness, run
from bench.report import SERVER_LABELS
from bench.scenarios import SCENARIO_NAMES


def _row_cells(text: str) -> list[list[str]]:
    return [[c.strip() for c in line.strip("|").split("|")] for line in text.splitlines() if line.startswith("| ")]


def test_tiny_bench_writes_a_row_per_server_and_endpoint(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "tiny.md"
    # No Prism here: it would need npm and the network.
    assert run.main(["--tiny", "--only", "ours,bare", "--output", str(out)]) == 0

    text = out.read_text()
    assert text in capsys.readouterr().out
    rows = _row_cells(text)
    for scenario in SCENARIO_NAMES:
        for server in ("ours", "bare"):
            matching = [r for r in rows if r[0] == scenario and r[1] == SERVER_LABELS[server]]
            assert len(matching) == 1, (scenario, server)
            requests_per_second = float(matching[0][2])
            assert requests_per_second > 0
            assert matching[0][5] == "0", f"{server} answered {scenario} with unexpected statuses"
    assert not any(r[1] == SERVER_LABELS["prism"] for r in rows)
    assert "## Scale" in text
    assert {r[0] for r in rows} >= {"100", "1000"}, "the tiny scale sweep has a row per stored-run count"
    assert "Memory per idempotency record" in text
    assert "Start-up of coverbase-mock" in text


def test_harness_figures_have_a_row_each(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "harness.md"
    assert harness.main(["--runs", "1", "--cycles", "3", "--output", str(out)]) == 0
    text = out.read_text()
    assert text in capsys.readouterr().out
    rows = {r[0]: r[1:] for r in _row_cells(text)}
    startup = next(cells for name, cells in rows.items() if name.startswith("ours ("))
    assert float(startup[0].split()[0]) > 0 and float(startup[1].split()[0]) > 0
    for what in ("every test: handle + release (one test)", "every test: reset", "every test: GET /_mock/health"):
        assert float(rows[what][0].split()[0]) > 0, what
    assert float(rows[next(n for n in rows if n.startswith("first test of a process"))][0].split()[0]) > 0


def test_tiny_replica_bench_compares_sqlite_with_two_postgres_replicas(
    postgres_cluster: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The session's cluster only proves the PostgreSQL binaries exist (else skip); the bench starts its own."""
    from bench import replicas

    out = tmp_path / "replicas.md"
    assert replicas.main(["--tiny", "--only", "sqlite-1,pg-2", "--output", str(out)]) == 0
    text = out.read_text()
    assert text in capsys.readouterr().out
    rows = _row_cells(text)
    for scenario in SCENARIO_NAMES:
        for config in ("sqlite-1", "pg-2"):
            matching = [r for r in rows if r[0] == scenario and r[1] == replicas.LABELS[config]]
            assert len(matching) == 1, (scenario, config)
            assert float(matching[0][2]) > 0
            assert matching[0][6] == "0", f"{config} answered {scenario} with unexpected statuses"
        pg = next(r for r in rows if r[0] == scenario and r[1] == replicas.LABELS["pg-2"])
        assert float(pg[8]) > 0, "the PostgreSQL server's CPU is accounted"
