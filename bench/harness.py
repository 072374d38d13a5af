"""`python -m bench.harness`: what a test pays for the mock - start-up to the first answer, the pytest plugin's
first-test overhead, and its per-test reset; with `--baseline DIR`, start-up of another copy of the code alongside.

Start-up figures run each tree in turn, `--runs` times, so both are measured under the same load; the machines
are shared: read the medians side by side, never as absolute promises.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import re
import shlex
import socket
import statistics
import subprocess
import sys
import textwrap
import time
import urllib.error
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "bench" / "results"
HOST = "127.0.0.1"

FIRST_TEST = textwrap.dedent(
    """
    import time
    started = time.perf_counter()
    from mock_server.testing import MockSession
    session = MockSession.start()
    mock = session.handle()
    print(time.perf_counter() - started)
    session.release(mock)
    session.close()
    """
)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def _env(tree: Path) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(tree), "PYTHONWARNINGS": "ignore"}


def exec_to_health(tree: Path, timeout: float = 60.0) -> float:
    """Seconds from spawning `python -m mock_server` (code from `tree`) until /_mock/health answers 200."""
    port = _free_port()
    url = f"http://{HOST}:{port}/_mock/health"
    started = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "mock_server", "--host", HOST, "--port", str(port)],
        cwd=tree,
        env=_env(tree),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        while time.perf_counter() - started < timeout:
            if proc.poll() is not None:
                raise RuntimeError(f"the mock from {tree} exited with {proc.returncode}")
            try:
                with urllib.request.urlopen(url, timeout=1) as answer:
                    if answer.status == 200:
                        return time.perf_counter() - started
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(0.005)  # polling interval while the port opens
        raise TimeoutError(f"{url} did not answer within {timeout:g} s")
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def import_seconds(tree: Path) -> float:
    """Cumulative import time of `mock_server.app` (with uvicorn) in a fresh interpreter, from -X importtime."""
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "import uvicorn, mock_server.app"],
        cwd=tree,
        env=_env(tree),
        capture_output=True,
        text=True,
        check=True,
    )
    total = 0
    for line in proc.stderr.splitlines():
        found = re.match(r"import time:\s+\d+ \|\s+(\d+) \| (\S+)$", line)
        if found and found.group(2) in ("uvicorn", "mock_server.app"):
            total += int(found.group(1))
    return total / 1e6


def first_test_seconds() -> float:
    """A fresh interpreter's first `coverbase_mock`: import, build the app, serve it from a thread, first reset."""
    proc = subprocess.run(
        [sys.executable, "-c", FIRST_TEST], cwd=REPO, env=_env(REPO), capture_output=True, text=True, check=True
    )
    return float(proc.stdout.strip().splitlines()[-1])


def per_test_ms(cycles: int) -> dict[str, float]:
    """Median milliseconds of what the fixture does around each test, and of one request for scale."""
    import httpx

    from mock_server.testing import MockSession

    session = MockSession.start()
    try:
        timings: dict[str, list[float]] = {"handle + release (one test)": [], "reset": [], "GET /_mock/health": []}
        with httpx.Client(base_url=session.url) as plain:
            for _ in range(cycles):
                started = time.perf_counter()
                mock = session.handle()
                session.release(mock)
                timings["handle + release (one test)"].append(time.perf_counter() - started)
            mock = session.handle()
            for _ in range(cycles):
                started = time.perf_counter()
                mock.reset()
                timings["reset"].append(time.perf_counter() - started)
                started = time.perf_counter()
                plain.get("/_mock/health")
                timings["GET /_mock/health"].append(time.perf_counter() - started)
            session.release(mock)
        return {name: statistics.median(values) * 1000 for name, values in timings.items()}
    finally:
        session.close()


def _load() -> str:
    try:
        return ", ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "unknown"


def report(args: argparse.Namespace, argv: list[str]) -> str:
    trees = {"ours": REPO}
    if args.baseline is not None:
        trees["baseline"] = args.baseline.resolve()
    load_before = _load()
    startup: dict[str, list[float]] = {name: [] for name in trees}
    imports: dict[str, list[float]] = {name: [] for name in trees}
    for _ in range(args.runs):
        for name, tree in trees.items():  # interleaved: both trees meet the same load
            startup[name].append(exec_to_health(tree))
            imports[name].append(import_seconds(tree))
    first = [first_test_seconds() for _ in range(args.runs)]
    cycle = per_test_ms(args.cycles)
    lines = [
        f"# Test harness and start-up figures ({dt.date.today().isoformat()})",
        "",
        f"Command: `python -m bench.harness {shlex.join(argv)}`",
        f"Machine: {os.cpu_count()} logical cores, load average {load_before} before / {_load()} after;"
        f" Python {sys.version.split()[0]}. Medians of {args.runs} runs (start-up) and {args.cycles} cycles"
        " (per test). Shared machine: compare figures of one run only.",
        "",
        "## Start-up",
        "",
        "| tree | exec to first /_mock/health 200, median (min) | import uvicorn + mock_server.app, median |",
        "|---|---:|---:|",
    ]
    for name in trees:
        lines.append(
            f"| {name} ({trees[name]}) | {statistics.median(startup[name]):.3f} s ({min(startup[name]):.3f} s)"
            f" | {statistics.median(imports[name]):.3f} s |"
        )
    if "baseline" in trees:
        ratio = statistics.median(startup["ours"]) / statistics.median(startup["baseline"])
        lines += ["", f"ours / baseline, exec to first answer: {ratio:.2f}"]
    lines += [
        "",
        "## The pytest plugin",
        "",
        "| what | median |",
        "|---|---:|",
        "| first test of a process: import, build and serve the mock in a thread, first reset"
        f" | {statistics.median(first):.3f} s |",
    ]
    for name, value in cycle.items():
        lines.append(f"| every test: {name} | {value:.2f} ms |")
    return "\n".join(lines) + "\n"


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="bench.harness", description=__doc__)
    p.add_argument("--runs", type=int, default=7, help="start-up measurements per tree (default 7)")
    p.add_argument("--cycles", type=int, default=200, help="per-test cycles (default 200)")
    p.add_argument("--baseline", type=Path, default=None, help="another copy holding mock_server/ and openapi/")
    p.add_argument("--output", type=Path, default=None, help="write the Markdown here too")
    return p


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parser().parse_args(argv)
    text = report(args, argv)
    print(text)
    if args.output is not None:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
