"""Shared fixtures: a fresh mock runtime and clients speaking ASGI to it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from mock_server.app import create_app
from mock_server.runtime import Runtime, build_runtime
from tests.support.api import Api


@pytest.fixture
def runtime() -> Runtime:
    return build_runtime()


@pytest.fixture
def app(runtime: Runtime) -> Any:
    return create_app(runtime)


@pytest.fixture
def api(app: Any) -> Iterator[Api]:
    client = Api(app)
    yield client
    client.close()


@pytest.fixture(scope="session")
def postgres_cluster() -> Iterator[Any]:
    """A throwaway PostgreSQL server for this session (skipped locally without the binaries, required in CI)."""
    from tests.support.postgres import start_cluster

    yield from start_cluster()


@pytest.fixture
def postgres_url(postgres_cluster: Any) -> str:
    """A URL of a fresh, empty schema of the session's PostgreSQL server."""
    from tests.support.postgres import fresh_schema

    return fresh_schema(postgres_cluster)
