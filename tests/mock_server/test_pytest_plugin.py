"""The pytest plugin as an integrator's suite meets it: installed, no conftest, its options, xdist, a shared mock."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpcore  # noqa: F401 - see below
import httpx
import pytest
import yaml

import mock_server.testing  # noqa: F401 - see below
from mock_server.fixtures import DEFAULT_FIXTURES
from tests.support.mockserver import serve

pytest_plugins = ("pytester",)
# pytester's in-process runs drop the modules they imported when they end. Imported here first, httpcore
# (whose exception classes httpx caches on first use) and the mock stay the same objects in every run.

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "test_integration.py"

ISOLATION = """
import time

import pytest

RUN = "/v1/workflows/quarterly-privacy-sweep/run"


@pytest.mark.parametrize("turn", [1, 2])
def test_each_test_starts_from_the_fixtures(coverbase_mock, turn):
    client = coverbase_mock.client()
    assert abs(coverbase_mock.clock.now() - time.time()) < 60  # no offset left by the other turn
    assert client.get("/v1/workflows/runs").json()["total"] == 2  # only the fixtures' runs
    # A new key (not a replay) and no armed rehearsal:
    assert client.post(RUN, headers={"Idempotency-Key": "same-key-in-every-test"}).status_code == 201
    assert client.get("/v1/workflows/runs").json()["total"] == 3
    assert [e["method"] for e in coverbase_mock.requests()] == ["GET", "POST", "GET"]
    # Leave everything dirty for the other turn.
    coverbase_mock.rehearse("dispatch_failure")
    coverbase_mock.clock.advance(days=2)
"""

FROZEN = """
import datetime as dt
from freezegun import freeze_time


def test_frozen(coverbase_mock):
    with freeze_time("2026-03-01 09:00:00") as frozen:
        frozen.tick(dt.timedelta(hours=25))
        assert coverbase_mock.clock.now() == 1772355600 + 25 * 3600
"""


@pytest.fixture(scope="module")
def running_mock() -> Iterator[str]:
    """A mock in another process, as a team's shared mock would be."""
    with serve() as base:
        yield base


def test_the_fixture_needs_no_conftest(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_isolation=ISOLATION, test_frozen=FROZEN)
    assert not list(pytester.path.glob("conftest.py"))
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=3)


def test_each_xdist_worker_has_a_mock_of_its_own(pytester: pytest.Pytester) -> None:
    """The example module under `pytest -n 2`; a helper plugin records which mock each test got."""
    shutil.copy(EXAMPLE, pytester.path / EXAMPLE.name)
    pytester.makepyfile(
        record_urls="""
        import pytest

        @pytest.fixture(autouse=True)
        def record_url(request, worker_id):
            if "coverbase_mock" in request.fixturenames:
                with open("urls.txt", "a") as out:
                    out.write(f"{worker_id} {request.getfixturevalue('coverbase_mock').url}\\n")
        """
    )
    result = pytester.runpytest_subprocess("-n", "2", "-p", "record_urls", "-p", "no:cacheprovider", EXAMPLE.name)
    result.assert_outcomes(passed=5)
    recorded = [tuple(line.split()) for line in (pytester.path / "urls.txt").read_text().splitlines()]
    assert len(recorded) == 5
    urls = dict(recorded)  # one mock per worker: each worker always names the same URL...
    assert set(recorded) == set(urls.items())
    assert sorted(urls) == ["gw0", "gw1"] and len(set(urls.values())) == 2  # ...and the workers differ


def test_fixtures_option_serves_another_fixture_file(pytester: pytest.Pytester, tmp_path: Path) -> None:
    raw = yaml.safe_load(DEFAULT_FIXTURES.read_text())
    raw["orgs"][0]["api_keys"] = ["ak_live_custom_fixture_file_key_000001"]
    custom = tmp_path / "custom.yaml"
    custom.write_text(yaml.safe_dump(raw))
    pytester.makepyfile(
        """
        def test_custom(coverbase_mock):
            assert coverbase_mock.api_key == "ak_live_custom_fixture_file_key_000001"
            assert coverbase_mock.client().get("/v1/utils/authtest").status_code == 200
        """
    )
    pytester.runpytest_inprocess("--coverbase-fixtures", str(custom)).assert_outcomes(passed=1)


def test_a_shared_mock_without_namespaces_is_reset_per_test(
    pytester: pytest.Pytester, running_mock: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.makepyfile(test_isolation=ISOLATION, test_frozen=FROZEN)
    monkeypatch.delenv("PYTEST_XDIST_WORKER", raising=False)  # this run is not parallel, even under -n
    result = pytester.runpytest_inprocess("--coverbase-url", running_mock)
    result.assert_outcomes(passed=2, failed=1)
    # freezegun cannot reach it: the test fails with one line naming the fix.
    result.stdout.re_match_lines([r".*FrozenTimeUnreachable: time is frozen by freezegun in this process.*"])
    fix = r"cannot follow it: instead of freeze_time, move the mock's clock with coverbase_mock\.clock\.advance"
    assert re.search(fix, result.stdout.str())


@pytest.fixture
def mock_without_namespaces() -> Iterator[str]:
    """A shared mock of a version that serves no /_mock/namespaces."""
    from starlette.responses import JSONResponse

    from mock_server.app import create_app
    from mock_server.serving import ThreadedServer

    app = create_app()

    async def without_namespaces(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["path"].startswith("/_mock/namespaces"):
            await JSONResponse({"detail": "Not Found"}, 404)(scope, receive, send)
            return
        await app(scope, receive, send)

    server = ThreadedServer(without_namespaces)
    server.start()
    yield server.url
    server.stop()


def test_a_shared_mock_without_namespaces_refuses_parallel_tests(
    pytester: pytest.Pytester, mock_without_namespaces: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    running_mock = mock_without_namespaces
    pytester.makepyfile(test_isolation=ISOLATION)
    key = {"Authorization": "Bearer ak_live_xxx"}
    httpx.post(f"{running_mock}/_mock/reset")  # the previous test left a rehearsal armed
    theirs = httpx.post(f"{running_mock}/v1/workflows/onboard-vendor/run", headers=key).json()["workflow_run_id"]
    monkeypatch.setenv("PYTEST_XDIST_WORKER", "gw1")  # what a pytest-xdist worker sees
    result = pytester.runpytest_inprocess("--coverbase-url", running_mock)
    result.assert_outcomes(errors=2)
    # Refused before anything was reset: what another worker (or person) had on the mock is still there.
    assert httpx.get(f"{running_mock}/v1/workflows/runs/{theirs}", headers=key).status_code == 200
    result.stdout.fnmatch_lines(["*offers no /_mock/namespaces, so every test resets it*run without -n*"])


def test_options_that_contradict_each_other_are_a_usage_error(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_nothing(): pass")
    result = pytester.runpytest_inprocess("--coverbase-url", "http://127.0.0.1:1", "--coverbase-fixtures", "x.yaml")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--coverbase-fixtures applies to the mock the plugin starts*"])


def test_an_unreachable_shared_mock_is_named(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_one(coverbase_mock): pass")
    result = pytester.runpytest_inprocess("--coverbase-url", "http://127.0.0.1:1")
    assert result.ret != pytest.ExitCode.OK
    result.stdout.fnmatch_lines(["*coverbase_mock: no coverbase-mock answers at http://127.0.0.1:1*"])


def test_a_bad_fixture_file_is_named(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_one(coverbase_mock): pass")
    pytester.path.joinpath("bad.yaml").write_text("orgs: []\n")
    result = pytester.runpytest_inprocess("--coverbase-fixtures", "bad.yaml")
    assert result.ret != pytest.ExitCode.OK
    result.stdout.fnmatch_lines(["*coverbase_mock: invalid fixtures:*"])
