"""Spectral (`spectral:oas`) and Redocly (`recommended`) on the documents, after our own rules (`make lint-spec`).

Both are npm packages. `spec_tools/npm/package-lock.json` pins them with their whole dependency tree (so a new
release of a ruleset cannot change a verdict overnight), and the first run installs exactly that tree with
`npm ci` into `spec_tools/npm/node_modules` (gitignored), as bench/ installs Prism; later runs only compare a
stamp with the lockfile. To upgrade, change the versions in `spec_tools/npm/package.json` and run
`npm install --package-lock-only --prefix spec_tools/npm`; the next run reinstalls.

Their findings are printed in our shape - file:line, JSON pointer, tool and rule, severity, message, and the
rule's documentation when the tool names it - sorted, errors first. Any error fails the run; warnings are
printed and do not. A tool that fails by itself (crash, unreadable output) fails the run with its raw output.
Without node or npm, or with a Node.js too old for Redocly, the run stops with one line saying what to install.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from spec_tools.load import pointer

NPM_DIR = Path(__file__).resolve().parent / "npm"
LOCKFILE = NPM_DIR / "package-lock.json"
MODULES = NPM_DIR / "node_modules"
STAMP = MODULES / ".installed-from-lock"
INSTALL_LOCK = NPM_DIR / ".install.lock"
MIN_NODE = (20, 19)  # @redocly/cli's engines field: ">=22.12.0 || >=20.19.0 <21.0.0"
INSTALL_HINT = "install Node.js >= 20.19 with npm (e.g. `apt-get install nodejs npm`, or from https://nodejs.org/)"
SEVERITY_RANK = {"error": 0, "warning": 1, "info": 2, "hint": 3}
TOOL_ENV = {
    "REDOCLY_TELEMETRY": "off",
    "REDOCLY_SUPPRESS_UPDATE_NOTICE": "true",
    "NO_COLOR": "1",
    "FORCE_COLOR": "0",
}


class ToolchainError(Exception):
    """Node.js or npm is missing, too old, or the install failed: one line saying what to do."""


@dataclass(frozen=True, order=True)
class ToolFinding:
    source: str
    rank: int
    line: int
    pointer: str
    tool: str
    rule: str
    message: str
    url: str = ""

    @property
    def severity(self) -> str:
        return {rank: name for name, rank in SEVERITY_RANK.items()}.get(self.rank, "hint")

    def render(self) -> str:
        see = f" See {self.url}" if self.url else ""
        text = " ".join(self.message.split())
        return f"{self.source}:{self.line}: {self.pointer}: [{self.tool} {self.rule}] {self.severity}: {text}{see}"


@dataclass
class ToolRun:
    """One tool's verdict on the documents; `failure` holds its raw output when it failed by itself."""

    tool: str
    version: str
    ruleset: str
    findings: list[ToolFinding] = field(default_factory=list)
    failure: str | None = None

    @property
    def errors(self) -> int:
        return sum(1 for f in self.findings if f.rank == 0)

    @property
    def failed(self) -> bool:
        return self.failure is not None or self.errors > 0

    def summary(self) -> str:
        if self.failure is not None:
            return f"{self.tool} {self.version} ({self.ruleset}) failed to run:\n{self.failure.rstrip()}"
        warnings = sum(1 for f in self.findings if f.rank == 1)
        others = len(self.findings) - self.errors - warnings
        counts = f"{_count(self.errors, 'error')}, {_count(warnings, 'warning')}"
        counts += f", {others} info/hint" if others else ""
        return f"{self.tool} {self.version} ({self.ruleset}): {counts}"


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


@dataclass(frozen=True)
class Tool:
    name: str
    package: str
    ruleset: str
    arguments: tuple[str, ...]

    @property
    def binary(self) -> Path:
        return MODULES / ".bin" / self.name

    def version(self) -> str:
        manifest = MODULES / self.package / "package.json"
        return str(json.loads(manifest.read_text(encoding="utf-8"))["version"]) if manifest.exists() else "?"


SPECTRAL = Tool(
    "spectral",
    "@stoplight/spectral-cli",
    "spectral:oas",
    ("lint", "--ruleset", str(NPM_DIR / ".spectral.yaml"), "--format", "json", "--quiet"),
)
REDOCLY = Tool(
    "redocly", "@redocly/cli", "recommended", ("lint", "--config", str(NPM_DIR / "redocly.yaml"), "--format", "json")
)


def _lock_digest() -> str:
    return hashlib.sha256(LOCKFILE.read_bytes()).hexdigest()


def node_version() -> tuple[int, ...]:
    """The version of `node` on PATH; ToolchainError when there is none."""
    node = shutil.which("node")
    if node is None:
        raise ToolchainError(f"Spectral and Redocly need Node.js, which is not on PATH: {INSTALL_HINT}.")
    out = subprocess.run([node, "--version"], capture_output=True, text=True, check=False, timeout=30).stdout
    found = re.match(r"v?(\d+)\.(\d+)", out.strip())
    return (int(found.group(1)), int(found.group(2))) if found else (0, 0)


@contextlib.contextmanager
def _install_lock() -> Iterator[None]:
    """One installer at a time (two `make` runs may start together); the others wait and then find it done."""
    with open(INSTALL_LOCK, "a", encoding="utf-8") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def installed() -> bool:
    """The locked tree is in node_modules: the stamp matches the lockfile and both commands are there."""
    if not (STAMP.exists() and SPECTRAL.binary.exists() and REDOCLY.binary.exists()):
        return False
    return STAMP.read_text(encoding="utf-8").strip() == _lock_digest()


def ensure_installed() -> bool:
    """Install the locked tree unless the stamp says it is there; True when this call installed it."""
    version = node_version()
    if version < MIN_NODE:
        shown = ".".join(map(str, version))
        raise ToolchainError(f"Redocly needs Node.js >= 20.19 but `node` is {shown}: {INSTALL_HINT}.")
    if installed():
        return False
    with _install_lock():
        if installed():
            return False
        npm = shutil.which("npm")
        if npm is None:
            raise ToolchainError(f"Spectral and Redocly are installed with npm, which is not on PATH: {INSTALL_HINT}.")
        command = [npm, "ci", "--prefix", str(NPM_DIR), "--no-audit", "--no-fund", "--loglevel=error"]
        try:
            result = subprocess.run(command, capture_output=True, text=True, check=False, timeout=900)
        except subprocess.TimeoutExpired as exc:
            raise ToolchainError(f"`npm ci` in {NPM_DIR} did not finish in {exc.timeout:.0f} s.") from exc
        if result.returncode != 0 or not SPECTRAL.binary.exists() or not REDOCLY.binary.exists():
            reason = _npm_reason(result.stderr or result.stdout) or f"exit status {result.returncode}"
            raise ToolchainError(f"`npm ci` in {NPM_DIR} failed: {reason}; check the npm registry is reachable.")
        STAMP.write_text(_lock_digest() + "\n", encoding="utf-8")
        return True


def _npm_reason(output: str) -> str:
    """The line of npm's error output that says what went wrong (not its code, stack or log location)."""
    for line in output.splitlines():
        text = re.sub(r"^npm (error|ERR!)\s?", "", line).rstrip()
        if text and not text[0].isspace() and not re.match(r"(code |errno |syscall |A complete log|[{}])", text):
            return text
    return ""


def parse_spectral(output: str, names: dict[str, str]) -> list[ToolFinding]:
    """Spectral's `--format json`: a list of results with a path (keys) and a 0-based range."""
    findings = []
    for item in json.loads(output or "[]"):
        source = str(item.get("source", ""))
        rank = int(item.get("severity", 0))
        findings.append(
            ToolFinding(
                names.get(source, source),
                rank,
                int(item.get("range", {}).get("start", {}).get("line", -1)) + 1,
                pointer(*item.get("path", [])),
                "spectral",
                str(item.get("code", "")),
                str(item.get("message", "")),
            )
        )
    return findings


def parse_redocly(output: str, names: dict[str, str]) -> list[ToolFinding]:
    """Redocly's `--format json`: one JSON object per document, each with its `problems`."""
    decoder, index = json.JSONDecoder(), 0
    findings: list[ToolFinding] = []
    while True:
        while index < len(output) and output[index].isspace():
            index += 1
        if index >= len(output):
            return findings
        report, index = decoder.raw_decode(output, index)
        for problem in report.get("problems", []):
            location = (problem.get("location") or [{}])[0]
            source = str(location.get("source", {}).get("ref", ""))
            severity = "warning" if problem.get("severity") == "warn" else str(problem.get("severity", "error"))
            findings.append(
                ToolFinding(
                    names.get(source, names.get(str(Path(source).resolve()), source)),
                    SEVERITY_RANK.get(severity, 0),
                    int(location.get("start", {}).get("line", 0)),
                    str(location.get("pointer", "#")),
                    "redocly",
                    str(problem.get("ruleId", "")),
                    str(problem.get("message", "")),
                    str(problem.get("reference") or ""),
                )
            )


PARSERS = {"spectral": parse_spectral, "redocly": parse_redocly}


@dataclass
class Started:
    """Both tools running on the documents (they work while our own rules run)."""

    processes: list[tuple[Tool, subprocess.Popen[str]]]
    names: dict[str, str]

    def finish(self, timeout: float = 300) -> list[ToolRun]:
        runs = []
        for tool, process in self.processes:
            try:
                out, err = process.communicate(timeout=timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                out, err = process.communicate()
                err += f"\n(stopped after {timeout:.0f} s)"
            runs.append(_verdict(tool, process.returncode, out, err, self.names))
        return runs


def start(documents: list[Path]) -> Started:
    """Install the tools if needed, then start both on the documents at once."""
    ensure_installed()
    names = {str(path.resolve()): str(path) for path in documents} | {str(path): str(path) for path in documents}
    env = {**os.environ, **TOOL_ENV}
    return Started(
        [
            (tool, subprocess.Popen([str(tool.binary), *tool.arguments, *map(str, documents)], **_pipes(env)))
            for tool in (SPECTRAL, REDOCLY)
        ],
        names,
    )


def run(documents: list[Path]) -> list[ToolRun]:
    """Both tools on the documents; installs them first if needed."""
    return start(documents).finish()


def _pipes(env: dict[str, str]) -> dict[str, Any]:
    return {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE, "text": True, "env": env, "cwd": os.getcwd()}


def _verdict(tool: Tool, status: int, out: str, err: str, names: dict[str, str]) -> ToolRun:
    verdict = ToolRun(tool.name, tool.version(), tool.ruleset)
    try:
        verdict.findings = sorted(PARSERS[tool.name](out, names))
    except (ValueError, TypeError, AttributeError):
        verdict.failure = (out + "\n" + err).strip() or f"exit status {status}"
        return verdict
    # Exit 1 is the tools' "errors found"; any other failure, or a 1 without an error finding, is the tool's own.
    if status not in (0, 1) or (status == 1 and verdict.errors == 0):
        verdict.failure = (out + "\n" + err).strip() or f"exit status {status}"
    return verdict


def report(runs: list[ToolRun]) -> list[str]:
    """The findings of every tool (errors first), then one summary line per tool."""
    findings = sorted((f for r in runs for f in r.findings), key=lambda f: (f.rank, f.source, f.line, f))
    return [f.render() for f in findings] + [r.summary() for r in runs]
