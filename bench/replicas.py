"""`python -m bench.replicas` (`make bench-replicas`): one replica on SQLite vs replicas on PostgreSQL, one run.

Configurations, all up at once on 127.0.0.1 (each endpoint is driven at each in turn, seconds apart):

- `sqlite-1`: one `coverbase-mock --state FILE` process: the single-machine setup;
- `sqlite-2w`: `--state FILE --workers 2`: the most the SQLite store does on one machine;
- `pg-1`: one replica on PostgreSQL: what the database round trips cost by themselves;
- `pg-2`: two replicas on one PostgreSQL database, the load split evenly over their two ports (what a
  load balancer does), their figures added up.

Besides throughput and latency, it measures where the CPU went while each configuration was under load
(the mock processes, the PostgreSQL server, everything else - mostly the load generator), per request,
and how many statements - database round trips, BEGIN and COMMIT included - a request costs
(pg_stat_statements, where installed). The PostgreSQL cluster is local and throwaway; by default it keeps
the durability of the SQLite store (a commit survives the process that made it, not an OS crash: fsync
off); `--cluster full` fsyncs every commit.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shlex
import statistics
import sys
import tempfile
import threading
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psycopg

from bench import report as rep
from bench import servers
from bench.load import Load, Result, drive, ensure_wrk
from bench.run import _call, _created_run
from bench.scenarios import SCENARIO_NAMES, Scenario, scenarios
from tools.postgres import Cluster, server_bindir

CONFIGS = ("sqlite-1", "sqlite-2w", "pg-1", "pg-2")
LABELS = {
    "sqlite-1": "1 replica, SQLite",
    "sqlite-2w": "1 replica, SQLite, 2 workers",
    "pg-1": "1 replica, PostgreSQL",
    "pg-2": "2 replicas, PostgreSQL",
}
CLUSTER_SETTINGS = {
    # A commit survives the mock process and the database server, not an OS crash: SQLite's synchronous=NORMAL.
    "process": ("fsync=off",),
    "full": (),
}
TICKS = os.sysconf("SC_CLK_TCK")


@dataclass
class Measured:
    result: Result
    mock_cpu_ms: float  # CPU of the mock processes, per request
    db_cpu_ms: float  # CPU of the PostgreSQL server, per request (all databases: idle ones cost nothing)
    other_cpu_ms: float  # the rest of the machine (the load generator, other jobs), per request
    db_statements: float | None  # database statements (round trips) per request (PostgreSQL only)


@dataclass
class Config:
    name: str
    bases: list[str]
    pgids: list[int]
    database: str | None = None  # the database name, for its transaction count
    rows: dict[str, Measured] = field(default_factory=dict)
    rounds: dict[str, list[Measured]] = field(default_factory=dict)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="bench.replicas", description=__doc__)
    p.add_argument("--duration", type=float, default=5.0, help="seconds of measured load per endpoint (default 5)")
    p.add_argument("--warmup", type=float, default=1.0, help="seconds of unmeasured load first (default 1)")
    p.add_argument("--connections", type=int, default=50, help="concurrent connections in all (default 50)")
    p.add_argument("--threads", type=int, default=2, help="wrk threads per load generator (default 2)")
    p.add_argument("--only", default=",".join(CONFIGS), help=f"configurations (default {','.join(CONFIGS)})")
    p.add_argument("--rounds", type=int, default=1, help="measure every endpoint this many times; medians (default 1)")
    p.add_argument("--generator", choices=["auto", "wrk", "python"], default="auto")
    p.add_argument("--cluster", choices=sorted(CLUSTER_SETTINGS), default="process", help="database durability")
    p.add_argument("--tiny", action="store_true", help="a seconds-long smoke run (what the test suite uses)")
    p.add_argument("--description", default="replicas", help="words for the results file name")
    p.add_argument("--output", type=Path, default=None, help="results file (default bench/results/<date>-<desc>.md)")
    return p


# --- CPU accounting from /proc -----------------------------------------------------------------------------


def _stats() -> Iterator[tuple[int, int, int, int]]:
    """(pid, ppid, pgid, CPU ticks) of every process."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            text = (entry / "stat").read_text()
        except OSError:
            continue
        fields = text[text.rindex(")") + 2 :].split()
        yield int(entry.name), int(fields[1]), int(fields[2]), int(fields[11]) + int(fields[12])


def _cpu_of(pgids: list[int], postmaster: int | None) -> tuple[float, float]:
    """CPU seconds so far of the processes in `pgids`, and of the PostgreSQL server (postmaster and backends)."""
    mock = db = 0
    for pid, ppid, pgid, ticks in _stats():
        if pgid in pgids:
            mock += ticks
        elif postmaster is not None and postmaster in (pid, ppid):
            db += ticks
    return mock / TICKS, db / TICKS


def _machine_cpu() -> float:
    """CPU seconds spent by the whole machine so far (all cores, idle excluded)."""
    fields = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = fields[3] + fields[4]
    return (sum(fields[:8]) - idle) / TICKS


def _postmaster(cluster: Cluster) -> int | None:
    try:
        return int((cluster.data / "postmaster.pid").read_text().splitlines()[0])
    except (OSError, ValueError, IndexError):
        return None


def _statement_counting() -> tuple[str, ...]:
    """Server settings that count every statement (pg_stat_statements), where the module is installed."""
    bindir = server_bindir()
    if bindir is None or not (bindir.parent / "lib" / "pg_stat_statements.so").exists():
        return ()
    return ("shared_preload_libraries=pg_stat_statements", "pg_stat_statements.track_utility=on")


def _statements(cluster: Cluster, database: str) -> int | None:
    """Statements executed so far in `database` (each is one round trip, BEGIN and COMMIT included)."""
    try:
        with psycopg.connect(cluster.url(), autocommit=True) as connection:
            connection.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
            row = connection.execute(
                "SELECT coalesce(sum(s.calls), 0) FROM pg_stat_statements AS s"
                " JOIN pg_database AS d ON d.oid = s.dbid WHERE d.datname = %s",
                (database,),
            ).fetchone()
    except psycopg.Error:
        return None  # the module is not loaded: no count
    return int(row[0]) if row else 0


# --- load ----------------------------------------------------------------------------------------------------


def _split_drive(bases: list[str], scenario: Scenario, load: Load, generator: str) -> Result:
    """Drive every base at once (one generator each, `load` each); add their throughput, keep the worse latency."""
    results: list[Result] = []
    lock = threading.Lock()

    def one(base: str) -> None:
        result = drive(base, scenario, load, generator)
        with lock:
            results.append(result)

    threads = [threading.Thread(target=one, args=(base,)) for base in bases]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return Result(
        requests=sum(r.requests for r in results),
        rps=sum(r.rps for r in results),
        p50_ms=max(r.p50_ms for r in results),
        p99_ms=max(r.p99_ms for r in results),
        unexpected=sum(r.unexpected for r in results),
    )


@contextlib.contextmanager
def _mock(name: str, args: list[str]) -> Iterator[servers.Server]:
    def command(port: int) -> list[str]:
        return [*servers.mock_command(port), *args]

    with servers.serve(name, make_command=command) as server:
        yield server


@contextlib.contextmanager
def configurations(names: list[str], cluster: Cluster, workdir: Path) -> Iterator[list[Config]]:
    with contextlib.ExitStack() as stack:
        found: list[Config] = []
        for name in names:
            if name.startswith("sqlite"):
                workers = ["--workers", "2"] if name == "sqlite-2w" else []
                server = stack.enter_context(_mock(name, ["--state", str(workdir / f"{name}.db"), *workers]))
                found.append(Config(name, [server.base], [server.pid]))
                continue
            database = name.replace("-", "_")
            url = cluster.create_database(database)
            count = 2 if name == "pg-2" else 1
            started = [stack.enter_context(_mock(f"{name}.{i}", ["--state", url])) for i in range(count)]
            found.append(Config(name, [s.base for s in started], [s.pid for s in started], database))
        yield found


def _median(values: list[float]) -> float:
    return statistics.median(values) if values else 0.0


def _medians(rounds: list[Measured]) -> Measured:
    """Each figure's median over the rounds (requests and errors are summed)."""
    statements = [m.db_statements for m in rounds if m.db_statements is not None]
    return Measured(
        Result(
            requests=sum(m.result.requests for m in rounds),
            rps=_median([m.result.rps for m in rounds]),
            p50_ms=_median([m.result.p50_ms for m in rounds]),
            p99_ms=_median([m.result.p99_ms for m in rounds]),
            unexpected=sum(m.result.unexpected for m in rounds),
        ),
        mock_cpu_ms=_median([m.mock_cpu_ms for m in rounds]),
        db_cpu_ms=_median([m.db_cpu_ms for m in rounds]),
        other_cpu_ms=_median([m.other_cpu_ms for m in rounds]),
        db_statements=_median(statements) if statements else None,
    )


def measure(
    configs: list[Config], cluster: Cluster, load: Load, warmup: float, generator: str, rounds: int = 1
) -> list[str]:
    notes: list[str] = []
    for round_ in range(rounds):
        if rounds > 1:
            print(f"round {round_ + 1} of {rounds}", flush=True)
        notes += _measure_round(configs, cluster, load, warmup, generator)
    for config in configs:
        config.rows = {title: _medians(found) for title, found in config.rounds.items()}
    return notes


def _measure_round(configs: list[Config], cluster: Cluster, load: Load, warmup: float, generator: str) -> list[str]:
    notes: list[str] = []
    # Every round starts from the fixtures, so each measures the same store sizes (POSTs add thousands of runs).
    for config in configs:
        request = urllib.request.Request(f"{config.bases[0]}/_mock/reset", method="POST")
        with urllib.request.urlopen(request, timeout=60) as response:
            if response.status != 200:
                raise RuntimeError(f"{config.name}: reset answered {response.status}")
    # One run per configuration for GET (created through its first replica, read through all of them).
    run_ids = {c.name: _created_run(c.bases[0]) for c in configs}
    postmaster = _postmaster(cluster)
    for index, title in enumerate(SCENARIO_NAMES):
        for config in configs:
            scenario = scenarios(run_ids[config.name])[index]
            for base in config.bases:
                status, body = _call(base, scenario, key="bench-precheck" if scenario.fresh_key else None)
                if status != scenario.expect:
                    notes.append(
                        f"{config.name}: {title} answered {status} instead of {scenario.expect}: {body[:200]!r}"
                    )
            share = Load(load.duration, max(1, load.connections // len(config.bases)), load.threads)
            if warmup > 0:
                _split_drive(config.bases, scenario, Load(warmup, share.connections, share.threads), generator)
            mock0, db0 = _cpu_of(config.pgids, postmaster)
            machine0 = _machine_cpu()
            statements0 = _statements(cluster, config.database) if config.database else None
            result = _split_drive(config.bases, scenario, share, generator)
            mock1, db1 = _cpu_of(config.pgids, postmaster)
            machine1 = _machine_cpu()
            statements1 = _statements(cluster, config.database) if config.database else None
            n = max(1, result.requests)
            mock_ms, db_ms = (mock1 - mock0) * 1000 / n, (db1 - db0) * 1000 / n
            config.rounds.setdefault(title, []).append(
                Measured(
                    result,
                    mock_cpu_ms=mock_ms,
                    db_cpu_ms=db_ms,
                    other_cpu_ms=max(0.0, (machine1 - machine0) * 1000 / n - mock_ms - db_ms),
                    db_statements=(statements1 - statements0) / n
                    if statements0 is not None and statements1 is not None
                    else None,
                )
            )
            print(f"  {config.name:10} {title:32} {result.rps:8.0f} req/s", flush=True)
    return notes


def _ceilings(configs: list[Config]) -> list[str]:
    """What the CPU per request implies where each process has a core of its own (an extrapolation)."""
    sqlite = next((c for c in configs if c.name == "sqlite-1"), None)
    pg = next((c for c in configs if c.name == "pg-2"), None) or next((c for c in configs if c.name == "pg-1"), None)
    if sqlite is None or pg is None:
        return []
    out = [
        "## Ceilings implied by the CPU per request",
        "",
        "A mock process serves requests on one event loop, so it can use one core; the database uses a core per "
        "busy connection. Where each has its own cores (unlike on this machine, where everything - the load "
        "generator included - shares two), the CPU per request above implies:",
        "",
        "| Endpoint | one SQLite process, req/s | per PostgreSQL replica, req/s | per database core, req/s "
        "| replicas to pass one SQLite process |",
        "|---|---:|---:|---:|---:|",
    ]
    for title in SCENARIO_NAMES:
        one, many = sqlite.rows.get(title), pg.rows.get(title)
        if one is None or many is None or not one.mock_cpu_ms or not many.mock_cpu_ms or not many.db_cpu_ms:
            continue
        single, replica, database = 1000 / one.mock_cpu_ms, 1000 / many.mock_cpu_ms, 1000 / many.db_cpu_ms
        out.append(f"| {title} | {single:.0f} | {replica:.0f} | {database:.0f} | {int(single // replica) + 1} |")
    return [*out, ""]


def render(command: str, settings: str, configs: list[Config], notes: list[str], cluster_mode: str) -> str:
    reference = next((c for c in configs if c.name == "sqlite-1"), configs[0])
    lines = [
        "# Replicas: one SQLite process vs replicas on PostgreSQL",
        "",
        f"Command: `{command}`",
        "",
        f"Load: {settings}. All configurations up together; each endpoint driven at one configuration at a time.",
        f"PostgreSQL: a local throwaway cluster, durability `{cluster_mode}` "
        f"({', '.join(CLUSTER_SETTINGS[cluster_mode]) or 'the server defaults: fsync on every commit'}).",
        "",
        "## Machine",
        "",
        *rep.machine(),
        "",
        "## Throughput, latency and where the CPU went",
        "",
        f"CPU columns are milliseconds of CPU per request (all cores); the ratio divides by `{reference.name}`.",
        "",
        "| Endpoint | Configuration | req/s | / " + reference.name + " | p50 ms | p99 ms | non-2xx/errors "
        "| mock CPU ms | PostgreSQL CPU ms | other CPU ms | DB round trips / request |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for title in SCENARIO_NAMES:
        ref = reference.rows.get(title)
        for config in configs:
            m = config.rows.get(title)
            if m is None:
                continue
            r = m.result
            ratio = f"{r.rps / ref.result.rps:.2f}x" if ref and ref.result.rps else "-"
            statements = f"{m.db_statements:.1f}" if m.db_statements is not None else "-"
            lines.append(
                f"| {title} | {LABELS[config.name]} | {r.rps:.0f} | {ratio} | {r.p50_ms:.2f} | {r.p99_ms:.2f} "
                f"| {r.unexpected} | {m.mock_cpu_ms:.2f} | {m.db_cpu_ms:.2f} | {m.other_cpu_ms:.2f} | {statements} |"
            )
    lines.append("")
    lines += _ceilings(configs)
    if notes:
        lines += ["## Notes", "", *(f"- {n}" for n in notes), ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    names = [n.strip() for n in args.only.split(",") if n.strip()]
    unknown = set(names) - set(CONFIGS)
    if unknown:
        raise SystemExit(f"unknown configurations: {', '.join(sorted(unknown))} (choose from {', '.join(CONFIGS)})")
    if args.tiny:
        args.duration, args.warmup, args.connections = 0.5, 0.0, 4
        if args.generator == "auto":
            args.generator = "python"
    generator = args.generator
    if generator == "auto":
        generator = "wrk" if ensure_wrk() else "python"
    elif generator == "wrk" and not ensure_wrk():
        raise SystemExit("wrk is not installed and could not be installed with apt-get")
    load = Load(args.duration, args.connections, args.threads)
    command = "python -m bench.replicas " + shlex.join(argv if argv is not None else sys.argv[1:])
    settings = (
        f"{args.connections} connections in all, {args.duration:g} s per endpoint after {args.warmup:g} s warm-up"
    )
    settings += f", generator {generator}" + (f" ({args.threads} threads each)" if generator == "wrk" else "")
    with (
        tempfile.TemporaryDirectory(prefix="bench-replicas-") as tmp,
        Cluster(durable=True, settings=CLUSTER_SETTINGS[args.cluster] + _statement_counting()) as cluster,
        configurations(names, cluster, Path(tmp)) as configs,
    ):
        notes = measure(configs, cluster, load, args.warmup, generator, max(1, args.rounds))
    if generator == "python":
        notes.append("Python load generator: it saturates sooner than wrk and shares the CPU; compare ratios only.")
    text = render(command.strip(), settings, configs, notes, args.cluster)
    print()
    print(text)
    path = rep.write(text, args.description, args.output)
    print(f"written to {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
