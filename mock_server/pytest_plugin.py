"""The pytest plugin (entry point `pytest11`): the `coverbase_mock` fixture, a clean mock per test, no conftest.

One mock per test process (one per pytest-xdist worker), started on first use in a thread of that process so
that freezegun reaches its clock; or, with `--coverbase-url URL`, a mock that is already running (one per
team), where each test gets a namespace of its own (`/_mock/namespaces`) or, if the mock offers none, a reset.
Importing this module is cheap: pytest loads it in every session of the environment, and the mock is imported
only when a test asks for it.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from .testing import CoverbaseMock, MockSession

URL_OPTION = "--coverbase-url"
FIXTURES_OPTION = "--coverbase-fixtures"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("coverbase-mock", "coverbase-mock (the coverbase_mock fixture)")
    group.addoption(
        URL_OPTION,
        default=None,
        metavar="URL",
        help="use the coverbase-mock already running at URL instead of starting one in each test process",
    )
    group.addoption(
        FIXTURES_OPTION,
        default=None,
        metavar="FILE",
        help="fixture file for the mock started by the plugin (default: the bundled two-organization fixtures)",
    )


def pytest_configure(config: pytest.Config) -> None:
    if config.getoption(URL_OPTION) and config.getoption(FIXTURES_OPTION):
        raise pytest.UsageError(
            f"{FIXTURES_OPTION} applies to the mock the plugin starts; the mock at {config.getoption(URL_OPTION)}"
            " has its own fixtures (start it with `coverbase-mock --fixtures FILE`)"
        )


@pytest.fixture(scope="session")
def coverbase_mock_session(request: pytest.FixtureRequest) -> Iterator[MockSession]:
    """The mock of this test process: started on first use, stopped at the end of the session."""
    with warnings.catch_warnings():
        # The mock's dependencies warn about their own dependencies on import (connexion about jsonschema's
        # RefResolver, starlette about httpx): nothing the integrator's suite can act on.
        warnings.simplefilter("ignore")
        from .fixtures import FixtureError
        from .testing import MockControlError, MockSession

    url = request.config.getoption(URL_OPTION)
    fixtures = request.config.getoption(FIXTURES_OPTION)
    if fixtures is not None:  # relative to where pytest was started, as a user typing the option expects
        fixtures = request.config.invocation_params.dir / fixtures
    try:
        session = MockSession.connect(url) if url else MockSession.start(fixtures)
    except (MockControlError, FixtureError) as exc:
        raise pytest.UsageError(f"coverbase_mock: {exc}") from exc
    try:
        yield session
    finally:
        session.close()


@pytest.fixture
def coverbase_mock(coverbase_mock_session: MockSession) -> Iterator[CoverbaseMock]:
    """A clean coverbase-mock for this test: URL, keys, fixture IDs, clients, clock, rehearsals, journal."""
    session = coverbase_mock_session
    mock = _fresh(session)
    try:
        yield mock
        if not mock.remote:
            _fail_if_time_went_backwards(mock)
    finally:
        session.release(mock)


def _fresh(session: MockSession) -> CoverbaseMock:
    from .testing import NoNamespaces

    # Under pytest-xdist other workers' tests run at the same time: resetting a shared mock would wipe theirs.
    parallel = session.remote and bool(os.environ.get("PYTEST_XDIST_WORKER"))
    refused = None
    try:
        return session.handle(may_reset=not parallel)
    except NoNamespaces as exc:
        refused = str(exc)
    pytest.fail(
        f"coverbase_mock: {refused}, so every test resets it and parallel tests would reset each other:"
        " run without -n, or use a mock that has namespaces",
        pytrace=False,
    )


def _fail_if_time_went_backwards(mock: CoverbaseMock) -> None:
    from .testing import TimeWentBackwards

    problem = None
    try:
        mock.check_time_order()
    except TimeWentBackwards as exc:
        problem = str(exc)
    if problem is not None:  # failed outside the except block: one line, no chained traceback
        pytest.fail(f"coverbase_mock: {problem}", pytrace=False)
