"""The results as Markdown: machine description, the comparison table, scale figures."""

from __future__ import annotations

import datetime as dt
import os
import platform
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

from bench import prism
from bench.load import Result
from bench.scale import ScaleRow

RESULTS = Path(__file__).resolve().parent / "results"
SERVER_LABELS = {
    "ours": "coverbase-mock",
    "prism": "Prism",
    "bare": "bare Starlette",
    "baseline": "coverbase-mock (baseline)",
}


@dataclass
class Report:
    command: str
    settings: str
    generator: str
    servers: list[str]
    rows: dict[str, dict[str, Result]] = field(default_factory=dict)  # scenario -> server -> result
    scale: list[ScaleRow] = field(default_factory=list)
    memory_run: float | None = None
    memory_key: float | None = None
    startup: list[float] = field(default_factory=list)
    contract: str | None = None
    notes: list[str] = field(default_factory=list)


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.partition(":")[2].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "not installed"


def _wrk_version() -> str:
    wrk = shutil.which("wrk")
    if wrk is None:
        return "not installed"
    out = subprocess.run([wrk, "-v"], capture_output=True, text=True, timeout=10, check=False)
    match = re.search(r"wrk (\S+)", out.stdout + out.stderr)
    return match.group(1) if match else "unknown"


def machine() -> list[str]:
    return [
        f"- CPU: {_cpu_model()}, {os.cpu_count()} logical cores (shared with other jobs: compare ratios only)",
        f"- OS: {platform.platform()}",
        f"- Python {platform.python_version()}; connexion {_version('connexion')}, uvicorn {_version('uvicorn')}, "
        f"starlette {_version('starlette')}, jsonschema {_version('jsonschema')}",
        f"- Prism (@stoplight/prism-cli) {prism.version()}; wrk {_wrk_version()}",
    ]


def _ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}x" if b else "-"


def comparison_table(report: Report) -> list[str]:
    """One row per (endpoint, server); the last column is ours' throughput divided by that server's."""
    out = [
        "| Endpoint | Server | req/s | p50 ms | p99 ms | non-2xx/errors | ours / server (req/s) |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for scenario, by_server in report.rows.items():
        ours = by_server.get("ours")
        for name in report.servers:
            r = by_server.get(name)
            if r is None:
                continue
            ratio = _ratio(ours.rps, r.rps) if ours else "-"
            out.append(
                f"| {scenario} | {SERVER_LABELS[name]} | {r.rps:.0f} | {r.p50_ms:.2f} | {r.p99_ms:.2f} "
                f"| {r.unexpected} | {ratio} |"
            )
    return out


def scale_table(rows: list[ScaleRow]) -> list[str]:
    """Latency at each store size; the last two columns divide it by the reference mock's, measured alongside."""
    if not rows:
        return []
    out = [
        "| Stored runs | seed s | RSS MiB | GET run req/s | GET p50 ms | GET p99 ms | POST run req/s | POST p50 ms "
        f"| POST p99 ms | GET p50 / reference ({rows[0].runs}) | POST p50 / reference ({rows[0].runs}) |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        out.append(
            f"| {r.runs} | {r.seed_seconds:.1f} | {r.rss_bytes / 2**20:.0f} "
            f"| {r.get.rps:.0f} | {r.get.p50_ms:.2f} | {r.get.p99_ms:.2f} "
            f"| {r.post.rps:.0f} | {r.post.p50_ms:.2f} | {r.post.p99_ms:.2f} "
            f"| {_ratio(r.get.p50_ms, r.ref_get.p50_ms)} | {_ratio(r.post.p50_ms, r.ref_post.p50_ms)} |"
        )
    return out


def render(report: Report) -> str:
    lines = [
        f"# Benchmark {dt.datetime.now(dt.UTC).strftime('%Y-%m-%d %H:%M UTC')}",
        "",
        f"Command: `{report.command}`",
        "",
        f"Load: {report.settings}; generator: {report.generator}; all servers on 127.0.0.1, up together, each "
        "endpoint driven at one server at a time (the servers compared on a row are measured seconds apart).",
        "",
        "## Machine",
        "",
        *machine(),
        "",
        "## Throughput and latency",
        "",
        *comparison_table(report),
        "",
    ]
    if report.scale:
        lines += ["## Scale (coverbase-mock, runs seeded into the store)", "", *scale_table(report.scale), ""]
    figures = []
    if report.memory_run is not None:
        figures.append(f"- Memory per stored run (tracemalloc): {report.memory_run:.0f} bytes")
    if report.memory_key is not None:
        figures.append(f"- Memory per idempotency record (tracemalloc): {report.memory_key:.0f} bytes")
    if report.startup:
        shown = ", ".join(f"{s:.2f}" for s in report.startup)
        figures.append(f"- Start-up of coverbase-mock until /_mock/health answers: {shown} s")
    if report.contract:
        figures.append(f"- Contract suite: {report.contract}")
    if figures:
        lines += ["## Other figures", "", *figures, ""]
    if report.notes:
        lines += ["## Notes", "", *(f"- {n}" for n in report.notes), ""]
    return "\n".join(lines)


def write(text: str, description: str, output: Path | None = None) -> Path:
    """To `output`, or to bench/results/<date>-<description>.md."""
    slug = re.sub(r"[^a-z0-9]+", "-", description.lower()).strip("-") or "run"
    path = output or RESULTS / f"{dt.datetime.now(dt.UTC).strftime('%Y-%m-%d')}-{slug}.md"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path
