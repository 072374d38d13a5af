"""Stoplight Prism, installed from the npm registry into bench/.prism/ on first use."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

PACKAGE = "@stoplight/prism-cli"
PREFIX = Path(__file__).resolve().parent / ".prism"
BINARY = PREFIX / "node_modules" / ".bin" / "prism"


def ensure_installed() -> Path:
    """Install Prism locally (gitignored) unless it is already there; needs npm."""
    if BINARY.exists():
        return BINARY
    npm = shutil.which("npm")
    if npm is None:
        raise RuntimeError("Prism needs npm (Node.js); run with --only ours,bare to skip it")
    PREFIX.mkdir(exist_ok=True)
    subprocess.run(
        [npm, "install", "--prefix", str(PREFIX), "--no-audit", "--no-fund", "--loglevel=error", PACKAGE],
        check=True,
        timeout=600,
    )
    if not BINARY.exists():
        raise RuntimeError(f"npm install {PACKAGE} did not produce {BINARY}")
    return BINARY


def command() -> list[str]:
    return [str(ensure_installed())]


def version() -> str:
    manifest = PREFIX / "node_modules" / "@stoplight" / "prism-cli" / "package.json"
    if not manifest.exists():
        return "not installed"
    found: str = json.loads(manifest.read_text())["version"]
    return found
