"""Bounded load: wrk with a generated Lua script when installed, else an asyncio keep-alive client."""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from bench.scenarios import Scenario

WRK_MARKER = "BENCH_JSON "


@dataclass(frozen=True)
class Load:
    duration: float
    connections: int
    threads: int = 2


@dataclass(frozen=True)
class Result:
    requests: int
    rps: float
    p50_ms: float
    p99_ms: float
    unexpected: int  # responses with another status than the scenario expects, plus socket errors


def _lua_string(value: str) -> str:
    return json.dumps(value)  # a JSON string literal is a valid Lua string literal for ASCII text


def wrk_script(scenario: Scenario, tag: str) -> str:
    """Lua for wrk: fixed headers, a per-thread counter for fresh keys, and a JSON summary line."""
    lines = [f"wrk.method = {_lua_string(scenario.method)}", f"wrk.path = {_lua_string(scenario.path)}"]
    if scenario.body:
        lines.append(f"wrk.body = {_lua_string(scenario.body)}")
    for name, value in scenario.headers.items():
        lines.append(f"wrk.headers[{_lua_string(name)}] = {_lua_string(value)}")
    lines.append(
        f"""
local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("tid", threads)
end
local counter = 0
local prefix = {_lua_string(tag)} .. "-"
function init(args)
  prefix = prefix .. tostring(tid) .. "-"
end
local fresh = {"true" if scenario.fresh_key else "false"}
request = function()
  if not fresh then return wrk.request() end
  counter = counter + 1
  local headers = {{}}
  for k, v in pairs(wrk.headers) do headers[k] = v end
  headers["Idempotency-Key"] = prefix .. counter
  return wrk.format(nil, nil, headers)
end
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('{WRK_MARKER}{{"requests":%d,"duration_us":%d,"p50_us":%d,"p99_us":%d,'
    .. '"socket_errors":%d,"status_errors":%d}}\\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.connect + e.read + e.write + e.timeout, e.status))
end
"""
    )
    return "\n".join(lines)


def run_wrk(base: str, scenario: Scenario, load: Load) -> Result:
    wrk = shutil.which("wrk")
    assert wrk is not None
    tag = f"bench-{uuid.uuid4().hex[:12]}"
    with tempfile.TemporaryDirectory(prefix="bench-wrk-") as tmp:
        script = Path(tmp) / "scenario.lua"
        script.write_text(wrk_script(scenario, tag))
        threads = max(1, min(load.threads, load.connections))
        argv = [
            wrk,
            f"-t{threads}",
            f"-c{load.connections}",
            f"-d{max(1, round(load.duration))}s",
            "--timeout",
            "5s",
            "-s",
            str(script),
            base,
        ]
        out = subprocess.run(argv, capture_output=True, text=True, check=True, timeout=load.duration + 60).stdout
    line = next((x for x in out.splitlines() if x.startswith(WRK_MARKER)), None)
    if line is None:
        raise RuntimeError(f"wrk printed no summary:\n{out}")
    data = json.loads(line[len(WRK_MARKER) :])
    seconds = data["duration_us"] / 1e6
    # A response() callback would slow wrk down; every expected status is 2xx, so non-2xx/3xx count as unexpected.
    return Result(
        requests=data["requests"],
        rps=data["requests"] / seconds if seconds else 0.0,
        p50_ms=data["p50_us"] / 1000,
        p99_ms=data["p99_us"] / 1000,
        unexpected=data["status_errors"] + data["socket_errors"],
    )


def _request_bytes(scenario: Scenario, host: str, key: str | None) -> bytes:
    headers = {"Host": host, **scenario.headers}
    if key is not None:
        headers["Idempotency-Key"] = key
    body = scenario.body.encode()
    if body:
        headers["Content-Length"] = str(len(body))
    head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    return f"{scenario.method} {scenario.path} HTTP/1.1\r\n{head}\r\n".encode("latin-1") + body


async def _read_response(reader: asyncio.StreamReader) -> int:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    length = 0
    for line in lines[1:]:
        name, _, value = line.partition(":")
        if name.strip().lower() == "content-length":
            length = int(value.strip())
    if length:
        await reader.readexactly(length)
    return status


async def _drive(base: str, scenario: Scenario, load: Load) -> tuple[list[float], int, float]:
    parts = urlsplit(base)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    tag = f"bench-{uuid.uuid4().hex[:12]}"
    latencies: list[float] = []
    unexpected = 0
    start = time.perf_counter()
    deadline = start + load.duration

    async def connection(index: int) -> None:
        nonlocal unexpected
        reader, writer = await asyncio.open_connection(host, port)
        fixed = _request_bytes(scenario, f"{host}:{port}", None)
        count = 0
        try:
            while time.perf_counter() < deadline:
                count += 1
                key = f"{tag}-{index}-{count}" if scenario.fresh_key else None
                payload = fixed if key is None else _request_bytes(scenario, f"{host}:{port}", key)
                sent = time.perf_counter()
                writer.write(payload)
                status = await asyncio.wait_for(_read_response(reader), timeout=5)
                latencies.append(time.perf_counter() - sent)
                if status != scenario.expect:
                    unexpected += 1
        finally:
            writer.close()

    outcomes = await asyncio.gather(*(connection(i) for i in range(load.connections)), return_exceptions=True)
    errors = sum(1 for o in outcomes if isinstance(o, BaseException))
    return latencies, unexpected + errors, time.perf_counter() - start


def percentile(values: list[float], pct: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(pct / 100 * len(ordered)) - 1))
    return ordered[index]


def run_python(base: str, scenario: Scenario, load: Load) -> Result:
    """The fallback generator: one process, so it saturates sooner than wrk; compare ratios only."""
    latencies, unexpected, elapsed = asyncio.run(_drive(base, scenario, load))
    return Result(
        requests=len(latencies),
        rps=len(latencies) / elapsed if elapsed else 0.0,
        p50_ms=percentile(latencies, 50) * 1000,
        p99_ms=percentile(latencies, 99) * 1000,
        unexpected=unexpected,
    )


def ensure_wrk() -> bool:
    """wrk from Debian's packages: installed with apt-get when missing and possible (root); else False."""
    if shutil.which("wrk"):
        return True
    apt = shutil.which("apt-get")
    if apt is None:
        return False
    try:
        subprocess.run([apt, "install", "-y", "-qq", "wrk"], capture_output=True, check=True, timeout=300)
    except (subprocess.SubprocessError, OSError):
        return False
    return shutil.which("wrk") is not None


def drive(base: str, scenario: Scenario, load: Load, generator: str) -> Result:
    if generator == "wrk":
        return run_wrk(base, scenario, load)
    return run_python(base, scenario, load)
