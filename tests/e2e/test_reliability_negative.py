"""schemathesis in negative mode against the mock: no generated invalid request ever gets a 5xx.

A quick budget runs in `make test`; the large budget is `@pytest.mark.slow` (`make test-reliability`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import content_type_conformance, status_code_conformance

from mock_server.app import create_app
from mock_server.runtime import build_runtime

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance]
AUTH = {"Authorization": "Bearer ak_live_xxx"}
QUICK_EXAMPLES = 30
LARGE_EXAMPLES = 1500

RUNTIME = build_runtime()
APP = create_app(RUNTIME)
schema = schemathesis.openapi.from_asgi("/openapi.json", APP)
schema.config.generation.update(modes=[schemathesis.GenerationMode.NEGATIVE])
TALLY: Counter[str] = Counter()


def _settings(examples: int) -> Any:
    return settings(
        max_examples=examples,
        deadline=None,
        derandomize=examples == QUICK_EXAMPLES,
        suppress_health_check=list(HealthCheck),
        database=None,
    )


@pytest.fixture(scope="module", autouse=True)
def _report() -> Iterator[None]:
    yield
    print(
        f"\nschemathesis negative mode: {TALLY['cases']} cases, {TALLY['5xx']} server errors, by status {_by_status()}"
    )


def _by_status() -> dict[str, int]:
    return {k: v for k, v in sorted(TALLY.items()) if k.isdigit()}


def _call(case: Any) -> None:
    response = case.call(headers=AUTH)
    TALLY["cases"] += 1
    TALLY[str(response.status_code)] += 1
    if response.status_code >= 500:
        TALLY["5xx"] += 1
    case.validate_response(response, checks=CHECKS)


@schema.parametrize()
@_settings(QUICK_EXAMPLES)
def test_negative_quick(case: Any) -> None:
    _call(case)


@pytest.mark.slow
@schema.parametrize()
@_settings(LARGE_EXAMPLES)
def test_negative_large_budget(case: Any) -> None:
    _call(case)
