"""API keys never reach the journal or a log line, at any level, in any encoding a request carries them; a file
given as fixtures is never echoed in the error.

Every request of the corpus carries a key raw, percent-encoded (either hex case, every character, double),
plus-encoded in a form, or JSON- and Python-escaped, in the path, the query, a header or the body.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from mock_server import cli
from mock_server.app import create_app
from mock_server.fixtures import DEFAULT_FIXTURES
from mock_server.redaction import Redactor, decode
from mock_server.runtime import build_runtime
from tests.support.api import ORG1_KEY, ORG2_KEY, Api, auth
from tests.support.reliability import MockProcess

KEYS = [ORG1_KEY, ORG2_KEY]
# A key the mock does not know, shaped like one: a production key sent to the mock by mistake.
FOREIGN = "ak_live_productionSecret0123456789"


def encodings(key: str) -> dict[str, str]:
    return {
        "raw": key,
        "underscores %5F": key.replace("_", "%5F"),
        "underscores %5f": key.replace("_", "%5f"),
        "every character": "".join(f"%{ord(c):02X}" for c in key),
        "double-encoded": "".join(f"%25{ord(c):02x}" for c in key),
        "plus-encoded form": f"Bearer+{key.replace('_', '%5F')}",
        "JSON escapes": "".join(f"\\u{ord(c):04x}" for c in key),
        "Python escapes": "".join(f"\\x{ord(c):02x}" for c in key),
        "upper case": key.upper(),
    }


def corpus(key: str) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(method, url, httpx arguments) carrying `key` in each encoding and place."""
    for how, text in encodings(key).items():
        yield "GET", f"/v1/workflows/runs?api_key={text}", {"headers": auth()}
        yield "GET", f"/v1/workflows/runs/{text}", {"headers": auth()}
        yield "GET", "/v1/utils/authtest", {"headers": {**auth(), "X-Client-Note": text, "X-Api-Key": text}}
        body = f'{{"input": {{"token": "{text}", "how": "{how}"}}}}'
        yield "POST", "/v1/workflows/quarterly-privacy-sweep/run", {"headers": auth(), "content": body}
        form = {**auth(), "Content-Type": "application/x-www-form-urlencoded"}
        yield "POST", "/v1/workflows/quarterly-privacy-sweep/run", {"headers": form, "content": f"api_key={text}"}
    yield "GET", "/v1/utils/authtest", {"headers": {"Authorization": f"Bearer {key}x"}}  # a near miss


def assert_no_key(text: str, keys: list[str]) -> None:
    """No key, in any case, in the text or in what it decodes to (escapes and percent-encoding undone)."""
    for candidate in (text, decode(text), decode(decode(text).replace("+", " "))):
        for key in keys:
            assert key.lower() not in candidate.lower(), f"{key} found in: {candidate[:300]}"


@pytest.mark.parametrize("key", [*KEYS, FOREIGN])
def test_the_redactor_masks_every_encoding(key: str) -> None:
    redactor = Redactor(KEYS)
    for how, text in encodings(key).items():
        scrubbed = redactor.scrub(f"before {text} after")
        assert_no_key(scrubbed, [key])
        assert scrubbed.startswith("before ") and scrubbed.endswith(" after"), how
        assert "****" in scrubbed, how


def test_the_redactor_masks_keys_among_any_characters() -> None:
    """Characters whose lower case is longer (U+0130) or that are escaped themselves never shift the mask."""
    redactor = Redactor(KEYS)
    for text in [f"\u0130\u0130 {ORG2_KEY} \u0130", f"%C4%B0%C4%B0{ORG1_KEY.replace('_', '%5F')}", f"x{ORG1_KEY}y"]:
        scrubbed = redactor.scrub(text)
        assert_no_key(scrubbed, KEYS)
        assert "****" in scrubbed


def test_the_redactor_leaves_other_text_alone() -> None:
    redactor = Redactor(KEYS)
    for text in ["peak_season", "black_box", "ak_1", "/v1/workflows/runs?limit=5&offset=10", "100% sure \\o/"]:
        assert redactor.scrub(text) == text


def test_no_key_reaches_the_journal_in_any_encoding() -> None:
    rt = build_runtime()
    api = Api(create_app(rt))
    sent = 0
    for key in [*KEYS, FOREIGN]:
        for method, url, kwargs in corpus(key):
            api.request(method, url, **kwargs)
            sent += 1
    journal = api.get("/_mock/requests?limit=1000").json()
    api.close()
    assert journal["total"] == sent
    assert_no_key(json.dumps(journal), [*KEYS, FOREIGN])
    for entry in journal["data"]:
        for value in [entry["path"], entry["query"], entry["body"], *entry["headers"].values()]:
            assert_no_key(value, [*KEYS, FOREIGN])


def test_a_key_across_the_journal_body_limit_is_masked_not_cut() -> None:
    rt = build_runtime()
    api = Api(create_app(rt))
    for offset in range(4080, 4100):
        padding = "p" * (offset - len('{"input":{"a":"') + 1)
        api.post(
            "/v1/workflows/quarterly-privacy-sweep/run",
            headers=auth(),
            content=f'{{"input":{{"a":"{padding}{ORG2_KEY}"}}}}',
        )
    bodies = [entry["body"] for entry in rt.store.journal()]
    api.close()
    assert len(bodies) == 20
    for body in bodies:
        assert ORG2_KEY[:12] not in body, "no readable prefix of a key either"


@pytest.mark.parametrize("level", ["info", "debug"])
def test_no_key_reaches_any_log_line(tmp_path: Path, level: str) -> None:
    server = MockProcess("--log-level", level, log=tmp_path / "mock.log")
    sent = 0
    try:
        server.wait_ready()
        with httpx.Client(base_url=server.base) as client:
            for key in [*KEYS, FOREIGN]:
                for method, url, kwargs in corpus(key):
                    client.request(method, url, **kwargs)
                    sent += 1
    finally:
        server.stop()
    output = server.output()
    lines = [line for line in output.splitlines() if '- "' in line]
    assert len(lines) >= sent, "every request was logged"
    # The start-up hint names the public docs' example key (see test_security's banner tests); nothing else may.
    log = "\n".join(line for line in output.splitlines() if not line.startswith("  try: curl"))
    assert_no_key(log, [*KEYS, FOREIGN])
    assert "Traceback" not in log and "ERROR" not in log


def test_a_password_file_as_fixtures_is_never_echoed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    secrets = tmp_path / "passwd"
    secrets.write_text("root:$6$saltsalt$hashedsecret:0:0:root:/root:/bin/bash\nsvc:s3cr3t-pa55:1:1::/:/bin/false\n")
    assert cli.main(["--fixtures", str(secrets), "--port", "1"]) == 2
    err = capsys.readouterr().err
    assert str(secrets) in err and "must be of type object (found string)" in err
    for fragment in ("root:", "hashedsecret", "s3cr3t", "/bin/bash"):
        assert fragment not in err


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"password: hunter2\n  indented: [unclosed\n", "not valid YAML: "),
        (b"\x7fELF\x02\x01\x01\x00secret-binary\xff\xfe", "not UTF-8 text (byte 21)"),
        (b"DB_PASSWORD: hunter2\norgs: hunter2\n", "orgs: must be of type array (found string)"),
        (b"- hunter2\n- hunter2\n", "must be of type object (found array)"),
    ],
    ids=["yaml-error", "binary", "wrong-shape", "list"],
)
def test_a_non_fixture_file_error_shows_the_problem_and_position_only(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: bytes, expected: str
) -> None:
    path = tmp_path / "secrets.yaml"
    path.write_bytes(content)
    assert cli.main(["--fixtures", str(path), "--port", "1"]) == 2
    err = capsys.readouterr().err
    assert expected in err and "hunter2" not in err and "secret-binary" not in err
    if "YAML" in expected:
        assert " at line 2, column " in err


def test_a_duplicate_key_in_the_fixtures_is_named_by_position_not_value(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    raw = yaml.safe_load(DEFAULT_FIXTURES.read_text())
    raw["orgs"][1]["api_keys"].append(raw["orgs"][0]["api_keys"][0])
    path = tmp_path / "fixtures.yaml"
    path.write_text(yaml.safe_dump(raw))
    assert cli.main(["--fixtures", str(path), "--port", "1"]) == 2
    err = capsys.readouterr().err
    assert "orgs[1].api_keys[1]: duplicate API key" in err and raw["orgs"][0]["api_keys"][0] not in err
