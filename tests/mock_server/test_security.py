"""Security: constant-time key checks, no keys in logs or the journal, a gated control plane, headers."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from starlette.testclient import TestClient

from mock_server import cli, serving, spec
from mock_server.app import create_app
from mock_server.auth import KeyRing
from mock_server.fixtures import DEFAULT_FIXTURES
from mock_server.runtime import Runtime, build_runtime
from mock_server.settings import Settings
from tests.support.api import ORG1_KEY, ORG2_KEY, auth
from tests.support.reliability import MockProcess

DOC = spec.load_document()
ALL_KEYS = [key for org in build_runtime().fixtures.orgs for key in org.api_keys]
TOKEN = "ctl-token-0123456789abcdef"


def test_keys_are_looked_up_by_digest_never_compared_as_text() -> None:
    """The key ring holds SHA-256 digests only: a lookup hashes the presented key, so its time says nothing
    about how many leading characters of a real key were right."""
    ring = KeyRing(build_runtime().fixtures)
    stored = list(ring._by_digest)
    assert all(isinstance(d, bytes) and len(d) == 32 for d in stored)
    assert not any(key.encode() in d for key in ALL_KEYS for d in stored)
    for presented in (ALL_KEYS[0], ALL_KEYS[-1]):
        assert ring.org_for(presented) is not None
    for near_miss in ("ak_live_nope", ALL_KEYS[0][:-1], ALL_KEYS[0] + "x"):
        assert ring.org_for(near_miss) is None


@pytest.fixture
def client(runtime: Runtime) -> Iterator[TestClient]:
    with TestClient(create_app(runtime), raise_server_exceptions=False) as test_client:
        yield test_client


def _journal_text(rt: Runtime) -> str:
    return repr(rt.store.journal())


def test_keys_never_reach_the_journal(client: TestClient, runtime: Runtime) -> None:
    client.get("/v1/utils/authtest", headers=auth(ORG1_KEY))
    client.get("/v1/utils/authtest", headers=auth(ORG2_KEY))
    client.get("/v1/utils/authtest", headers=auth(ORG1_KEY + "x"))  # near miss
    client.get("/v1/utils/authtest", headers={"Authorization": ORG1_KEY})  # no scheme
    client.get(f"/v1/workflows/runs?api_key={ORG1_KEY}", headers=auth(ORG1_KEY))  # key in the query
    client.post("/v1/workflows/quarterly-privacy-sweep/run", headers=auth(ORG1_KEY), json={"input": {"k": ORG2_KEY}})
    client.get("/v1/utils/authtest", headers={"X-Api-Key": ORG1_KEY, "Cookie": f"k={ORG2_KEY}"})
    text = _journal_text(runtime)
    assert len(runtime.store.journal()) == 7
    for key in ALL_KEYS:
        assert key not in text
    assert ORG1_KEY + "x" not in text
    assert "****" in text


def test_keys_never_reach_the_server_log(tmp_path: Path) -> None:
    server = MockProcess("--log-level", "debug", log=tmp_path / "mock.log")
    try:
        server.wait_ready()
        with httpx.Client(base_url=server.base) as client:
            for key in ALL_KEYS:
                client.get("/v1/utils/authtest", headers=auth(key))
                client.post("/v1/workflows/quarterly-privacy-sweep/run", headers=auth(key), json={"input": {}})
                client.get("/v1/workflows/runs/nope", headers=auth(key))
            client.get("/v1/utils/authtest", headers=auth(ORG1_KEY + "-wrong"))
    finally:
        server.stop()
    output = server.output()
    assert "GET /v1/utils/authtest" in output, "debug logging was on: the log must show the requests"
    # The start-up hint may name the public docs' example key (see the banner tests); nothing else may.
    log = "\n".join(line for line in output.splitlines() if not line.startswith("  try: curl"))
    for key in [*ALL_KEYS, ORG1_KEY + "-wrong"]:
        assert key not in log


@pytest.fixture
def guarded() -> TestClient:
    return TestClient(create_app(build_runtime(settings=Settings(control_token=TOKEN))), raise_server_exceptions=False)


@pytest.mark.parametrize(
    "headers",
    [{}, {"X-Mock-Control-Token": "wrong"}, {"X-Mock-Control-Token": TOKEN[:-1]}, {"X-Mock-Control-Token": ""}],
    ids=["missing", "wrong", "prefix", "empty"],
)
def test_control_token_is_required_when_set(guarded: TestClient, headers: dict[str, str]) -> None:
    for method, path in (("GET", "/_mock/health"), ("POST", "/_mock/reset"), ("GET", "/_mock/fixtures")):
        response = guarded.request(method, path, headers=headers)
        assert response.status_code == 401
        assert response.json() == {"detail": "Missing or invalid X-Mock-Control-Token."}
        assert TOKEN not in response.text


def test_control_token_sent_twice_is_refused(guarded: TestClient) -> None:
    headers = [("X-Mock-Control-Token", TOKEN), ("X-Mock-Control-Token", TOKEN)]
    assert guarded.get("/_mock/health", headers=headers).status_code == 401


def test_right_control_token_is_accepted_and_api_is_unaffected(guarded: TestClient) -> None:
    assert guarded.get("/_mock/health", headers={"X-Mock-Control-Token": TOKEN}).status_code == 200
    assert guarded.get("/v1/utils/authtest", headers=auth(ORG1_KEY)).status_code == 200


def test_control_token_is_documented() -> None:
    assert "X-Mock-Control-Token" in spec.load_control_document()["info"]["description"]


def test_control_plane_off_when_disabled() -> None:
    client = TestClient(create_app(build_runtime(settings=Settings(control_plane=False))))
    assert client.get("/_mock/health").status_code == 404
    assert client.post("/_mock/reset").status_code == 404


def _cli_app(monkeypatch: pytest.MonkeyPatch, *argv: str) -> tuple[int, Any]:
    """Run the CLI up to the point where uvicorn would serve, and capture the app it built."""
    captured: dict[str, Any] = {}

    def serve_nothing(server: serving.Server, sockets: Any = None) -> None:
        captured.update(app=server.config.app)
        server.started = True
        server.mark_ready()  # the banner is printed once the server answers

    monkeypatch.setattr(os, "environ", dict(os.environ))  # the CLI exports settings for workers
    monkeypatch.setattr(serving.Server, "run", serve_nothing)
    # A free port: the CLI binds before it serves, and 4010 may be taken by someone's `make mock`.
    code = cli.main([*argv, "--port", "0"])
    return code, captured.get("app")


def test_cli_control_plane_off_on_non_loopback_without_token(monkeypatch: pytest.MonkeyPatch) -> None:
    code, app = _cli_app(monkeypatch, "--host", "0.0.0.0")
    assert code == 0 and app.runtime.settings.control_plane is False


def test_cli_control_plane_on_loopback(monkeypatch: pytest.MonkeyPatch) -> None:
    code, app = _cli_app(monkeypatch, "--host", "127.0.0.1")
    assert code == 0 and app.runtime.settings.control_plane is True and app.runtime.settings.control_token is None


def test_cli_control_plane_with_token_on_any_address(monkeypatch: pytest.MonkeyPatch) -> None:
    code, app = _cli_app(monkeypatch, "--host", "0.0.0.0", "--control-token", TOKEN)
    assert code == 0 and app.runtime.settings.control_plane is True
    assert app.runtime.settings.control_token == TOKEN


def test_cli_refuses_control_plane_flag_off_loopback_without_token(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, app = _cli_app(monkeypatch, "--host", "0.0.0.0", "--control-plane")
    assert code == 2 and app is None
    assert "--control-token" in capsys.readouterr().err


def test_cli_refuses_workers_without_state(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    code, app = _cli_app(monkeypatch, "--workers", "2")
    assert code == 2 and app is None
    assert "--state" in capsys.readouterr().err


def test_cli_banner_shows_only_the_docs_example_key(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _cli_app(monkeypatch)
    out = capsys.readouterr().out
    assert "coverbase-mock serving" in out
    # The public docs' example key of the bundled fixtures is printed so the hint can be pasted...
    assert "Bearer ak_live_xxx'" in out
    for key in ALL_KEYS:
        if key != "ak_live_xxx":
            assert key not in out


def test_cli_banner_masks_keys_of_other_fixture_files(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # ...while keys of any other fixture file never reach the output.
    raw = yaml.safe_load(DEFAULT_FIXTURES.read_text())
    raw["orgs"][0]["api_keys"] = ["ak_live_custom_secret_4242"]
    custom = tmp_path / "fixtures.yaml"
    custom.write_text(yaml.safe_dump(raw))
    code, _ = _cli_app(monkeypatch, "--fixtures", str(custom))
    out = capsys.readouterr().out
    assert code == 0 and "ak_live_custom_secret_4242" not in out and "****4242" in out


def test_security_headers_are_documented() -> None:
    headers = DOC["x-security-headers"]
    assert headers == {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}
    assert "Cache-Control: no-store" in DOC["info"]["description"]


@pytest.mark.parametrize(
    ("method", "path", "key", "body", "status"),
    [
        ("GET", "/v1/utils/authtest", ORG1_KEY, None, 200),
        ("POST", "/v1/workflows/quarterly-privacy-sweep/run", ORG1_KEY, b'{"input":{}}', 201),
        ("GET", "/v1/utils/authtest", "wrong", None, 401),
        ("GET", "/v1/workflows/runs/nope", ORG1_KEY, None, 404),
        ("GET", "/v1/nowhere", ORG1_KEY, None, 404),
        ("PUT", "/v1/utils/authtest", ORG1_KEY, None, 405),
        ("POST", "/v1/assessments", ORG1_KEY, b" " * (1 << 21), 413),
        ("POST", "/v1/assessments", ORG1_KEY, b"{}", 422),
    ],
)
def test_every_api_response_carries_the_security_headers(
    client: TestClient, method: str, path: str, key: str, body: bytes | None, status: int
) -> None:
    headers = {**auth(key), "content-type": "application/json"}
    response = client.request(method, path, headers=headers, content=body)
    assert response.status_code == status
    for name, value in DOC["x-security-headers"].items():
        assert response.headers[name] == value
