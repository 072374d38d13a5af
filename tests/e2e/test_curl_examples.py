"""Every curl example of the public docs runs verbatim against the mock, only the host changed."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support.mockserver import serve

EXAMPLES: list[dict[str, Any]] = yaml.safe_load(
    (Path(__file__).parents[1] / "data" / "docs_curl_examples.yaml").read_text()
)
HOSTS = ("https://sandbox.api.coverbase.app", "https://api.coverbase.app")


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed on this machine")
def test_docs_curl_examples_answer_as_documented() -> None:
    assert len(EXAMPLES) >= 10
    with serve() as base:
        for example in EXAMPLES:
            command = example["command"]
            for host in HOSTS:
                command = command.replace(host, base)
            assert base in command, example["source"]
            done = subprocess.run(
                ["bash", "-c", command.strip() + ' -s -w "\\n%{http_code}"'],
                capture_output=True,
                text=True,
                timeout=30,
                check=False,
            )
            body_text, _, status = done.stdout.rpartition("\n")
            assert int(status) == example["status"], f"{example['source']}: {done.stdout}"
            body = json.loads(body_text)
            assert sorted(body) == sorted(example["keys"]), example["source"]
            if "List workflow runs" in example["source"]:
                assert body["total"] >= 1 and all(r["status"] == "failed" for r in body["data"])
