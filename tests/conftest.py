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
