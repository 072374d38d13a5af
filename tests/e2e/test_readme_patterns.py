"""The README's "Rehearse the three integration patterns" commands work verbatim against the mock."""

from __future__ import annotations

import re
import select
import shutil
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.support.mockserver import free_port, serve

ROOT = Path(__file__).resolve().parents[2]
SECTION = "## Rehearse the three integration patterns"


def commands() -> list[tuple[str, str]]:
    """(command, expectation) pairs from the section's sh blocks; the expectation is its `# -> ...` line."""
    text = (ROOT / "README.md").read_text()
    section = text[text.index(SECTION) :]
    section = section[: section.index("\n## ", len(SECTION))]
    found: list[tuple[str, str]] = []
    for block in re.findall(r"```sh\n(.*?)```", section, re.DOTALL):
        for chunk in block.strip().split("\n\n"):
            lines = chunk.strip().splitlines()
            expect = lines[-1].removeprefix("# -> ") if lines[-1].startswith("# -> ") else ""
            command = "\n".join(line for line in lines if not line.startswith("# -> "))
            found.append((command, expect))
    return found


def test_section_has_every_pattern() -> None:
    text = " ".join(c for c, _ in commands())
    for needle in (
        "/v1/import/",
        "/v1/assessments",
        "/run",
        "/v1/vendors?external_id=",
        "/v1/webhooks",
        "/_mock/webhooks/deliveries",
        "X-Coverbase-Mock-Rehearse",
        "drop_after_commit",
    ):
        assert needle in text


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed on this machine")
def test_readme_commands_run_verbatim() -> None:
    receiver_port = free_port()
    receiver: subprocess.Popen[str] | None = None
    with serve() as base:
        try:
            for command, expect in commands():
                command = command.replace("http://127.0.0.1:4010", base).replace("8765", str(receiver_port))
                if command.endswith("&"):
                    receiver = subprocess.Popen(
                        command.rstrip("&").replace("python3 ", f"{sys.executable} ", 1).split(),
                        cwd=ROOT,
                        stdout=subprocess.PIPE,
                        text=True,
                    )
                    assert receiver.stdout is not None
                    assert "listening" in receiver.stdout.readline()
                    continue
                done = subprocess.run(
                    ["bash", "-c", command + ' -s -o /dev/null -w "%{http_code}"'],
                    capture_output=True,
                    text=True,
                    timeout=60,
                    check=False,
                )
                if expect.startswith("dropped"):
                    assert done.returncode != 0, command
                else:
                    assert done.stdout == expect[:3], f"{command}\n-> {done.stdout} {done.stderr}"
            assert receiver is not None
            # Deliver what is due now instead of waiting for the background worker.
            assert httpx.post(f"{base}/_mock/webhooks/deliver", timeout=30).status_code == 200
            deadline = time.monotonic() + 20
            seen = ""
            assert receiver.stdout is not None
            while "VALID WorkflowRun.Created" not in seen and time.monotonic() < deadline:
                ready, _, _ = select.select([receiver.stdout], [], [], max(0.0, deadline - time.monotonic()))
                if ready:
                    seen += receiver.stdout.readline()
            assert "VALID WorkflowRun.Created" in seen
            assert "INVALID" not in seen
        finally:
            if receiver is not None:
                receiver.terminate()
                receiver.wait(timeout=10)
