"""`python -m bench.run` (`make bench`): ours vs Prism vs bare Starlette, scale figures, one Markdown report."""

from __future__ import annotations

import argparse
import contextlib
import json
import shlex
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from bench import report as rep
from bench import scale, servers
from bench.load import Load, Result, drive, ensure_wrk
from bench.scenarios import SCENARIO_NAMES, Scenario, scenarios

ALL_SERVERS = ("ours", "prism", "bare", "baseline")
DEFAULT_SERVERS = "ours,prism,bare"


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="bench.run", description=__doc__)
    p.add_argument("--duration", type=float, default=5.0, help="seconds of measured load per endpoint (default 5)")
    p.add_argument("--warmup", type=float, default=1.0, help="seconds of unmeasured load first (default 1)")
    p.add_argument("--connections", type=int, default=50, help="concurrent keep-alive connections (default 50)")
    p.add_argument("--threads", type=int, default=2, help="wrk threads (default 2)")
    p.add_argument("--only", default=DEFAULT_SERVERS, help=f"servers to run (default {DEFAULT_SERVERS})")
    p.add_argument(
        "--baseline",
        type=Path,
        default=None,
        help="a directory holding another copy of mock_server/ (e.g. before a change): adds it as 'baseline'",
    )
    p.add_argument("--generator", choices=["auto", "wrk", "python"], default="auto")
    p.add_argument("--scale", default="1000,100000,1000000", help="stored-run counts for the scale table")
    p.add_argument("--no-scale", action="store_true", help="skip the scale, memory and start-up figures")
    p.add_argument("--contract", action="store_true", help="also time coverbase-contract against the mock")
    p.add_argument("--tiny", action="store_true", help="a seconds-long smoke run (what the test suite uses)")
    p.add_argument("--description", default="ours-prism-bare", help="words for the results file name")
    p.add_argument("--output", type=Path, default=None, help="results file (default bench/results/<date>-<desc>.md)")
    return p


def _call(base: str, scenario: Scenario, key: str | None = None) -> tuple[int, bytes]:
    headers = dict(scenario.headers)
    if key is not None:
        headers["Idempotency-Key"] = key
    request = urllib.request.Request(
        base + scenario.path, data=scenario.body.encode() or None, headers=headers, method=scenario.method
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def _created_run(base: str) -> str:
    """POST one run so GET has something to read; Prism answers with its example ID."""
    post = scenarios("x")[-1]
    status, body = _call(base, post, key="bench-setup")
    if status != 201:
        raise RuntimeError(f"{base}: POST run answered {status}: {body[:300]!r}")
    run_id: str = json.loads(body)["workflow_run_id"]
    return run_id


def measure(
    names: list[str], load: Load, warmup: float, generator: str, notes: list[str], baseline: Path | None
) -> dict[str, dict[str, Result]]:
    """All servers up at once (idle ones cost nothing); each endpoint is driven at each server in turn, so
    the servers compared on one endpoint are measured within seconds of each other on a shared machine."""
    found: dict[str, dict[str, Result]] = {}
    with contextlib.ExitStack() as stack:
        bases: dict[str, str] = {}
        for name in names:
            where = baseline if name == "baseline" and baseline else servers.REPO
            bases[name] = stack.enter_context(servers.serve(name, cwd=where)).base
        run_ids = {name: _created_run(base) for name, base in bases.items()}
        for index, title in enumerate(SCENARIO_NAMES):
            for name, base in bases.items():
                scenario = scenarios(run_ids[name])[index]
                status, body = _call(base, scenario, key="bench-precheck" if scenario.fresh_key else None)
                if status != scenario.expect:
                    notes.append(f"{name}: {title} answered {status} instead of {scenario.expect}: {body[:200]!r}")
                if warmup > 0:
                    drive(base, scenario, Load(warmup, load.connections, load.threads), generator)
                result = drive(base, scenario, load, generator)
                found.setdefault(title, {})[name] = result
                print(f"  {name:8} {title:32} {result.rps:8.0f} req/s", flush=True)
    return found


def contract_wall_time() -> str:
    exe = Path(sys.executable).with_name("coverbase-contract")
    if not exe.exists():
        return "skipped: coverbase-contract is not installed in this environment yet"
    from mock_server import spec
    from mock_server.fixtures import load_fixtures

    # A key of the second fixture organization turns on the suite's isolation checks.
    second_key = load_fixtures(None, spec.load_document()).orgs[1].api_keys[0]
    parts = []
    with servers.serve("ours") as server:
        for profile in ("quick", "thorough"):
            started = time.perf_counter()
            proc = subprocess.run(
                [
                    *(str(exe), "--base-url", server.base, "--api-key", servers.API_KEY),
                    *("--second-api-key", second_key, "--profile", profile, "--quiet"),
                ],
                capture_output=True,
                timeout=1800,
                check=False,
            )
            parts.append(f"{profile} {time.perf_counter() - started:.1f} s (exit {proc.returncode})")
    return "; ".join(parts)


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    chosen = [s.strip() for s in args.only.split(",") if s.strip()]
    unknown = set(chosen) - set(ALL_SERVERS)
    if unknown:
        raise SystemExit(f"unknown servers: {', '.join(sorted(unknown))} (choose from {', '.join(ALL_SERVERS)})")
    if args.tiny:
        args.duration, args.warmup, args.connections = 0.5, 0.0, 4
        args.scale = "100,1000"
        # wrk measures whole seconds; the Python generator does half a second and needs nothing installed.
        if args.generator == "auto":
            args.generator = "python"
    if args.baseline is not None and "baseline" not in chosen:
        chosen.append("baseline")
    if "baseline" in chosen and args.baseline is None:
        raise SystemExit("--only baseline needs --baseline DIR")
    generator = args.generator
    if generator == "auto":
        generator = "wrk" if ensure_wrk() else "python"
    elif generator == "wrk" and not ensure_wrk():
        raise SystemExit("wrk is not installed and could not be installed with apt-get")
    load = Load(args.duration, args.connections, args.threads)
    command = "python -m bench.run " + shlex.join(argv if argv is not None else sys.argv[1:])
    settings = f"{args.connections} connections, {args.duration:g} s per endpoint after {args.warmup:g} s warm-up"
    if generator == "wrk":
        settings += f", {args.threads} wrk threads"
    report = rep.Report(command.strip(), settings, generator, [s for s in ALL_SERVERS if s in chosen])
    if generator == "python":
        why = "chosen" if args.generator == "python" else "used because wrk is not available"
        report.notes.append(f"Python load generator {why}: it saturates sooner than wrk; compare ratios only.")
    if "prism" in chosen:
        report.notes.append("Prism runs `prism mock` on the same document with `-v error` (no per-request logging).")

    report.rows = measure(report.servers, load, args.warmup, generator, report.notes, args.baseline)

    if not args.no_scale:
        sizes = [int(x) for x in args.scale.split(",") if x.strip()]
        scale_load = Load(args.duration, min(args.connections, 10), args.threads)
        report.scale = scale.latency_sweep(sizes, scale_load, generator, args.warmup)
        count = 200 if args.tiny else 20000
        report.memory_run = scale.memory_per_run(count)
        report.memory_key = scale.memory_per_idempotency_record(count)
        report.startup = scale.startup_seconds(1 if args.tiny else 3)
    if args.contract:
        report.contract = contract_wall_time()

    text = rep.render(report)
    print()
    print(text)
    path = rep.write(text, args.description, args.output)
    print(f"written to {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
