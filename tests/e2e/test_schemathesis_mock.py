"""schemathesis against the mock in-process: stateless (positive and negative) and stateful (links)."""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from contract_tests.checks.conformance import SCHEMATHESIS_CHECKS as CHECKS
from mock_server.app import create_app
from mock_server.runtime import build_runtime

AUTH = {"Authorization": "Bearer ak_live_xxx"}

RUNTIME = build_runtime()
APP = create_app(RUNTIME)
schema = schemathesis.openapi.from_asgi("/openapi.json", APP)
# Positive and negative data; an undeclared parameter is ignored (x-unknown-input), so it is not negative data.
schema.config.generation.update(modes=list(schemathesis.GenerationMode), allow_extra_parameters=False)
QUICK = settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
    database=None,
)


@pytest.fixture(autouse=True)
def _fresh_state() -> None:
    RUNTIME.reset()


@schema.parametrize()
@QUICK
def test_every_operation_conforms(case: Any) -> None:
    case.call_and_validate(headers=AUTH, checks=CHECKS)


class Stateful(schema.as_state_machine()):  # type: ignore[misc]
    def get_call_kwargs(self, case: Any) -> dict[str, Any]:
        return {"headers": AUTH}

    def validate_response(self, response: Any, case: Any, **kwargs: Any) -> None:
        case.validate_response(response, checks=CHECKS)


TestStateful = Stateful.TestCase
TestStateful.settings = settings(
    max_examples=15,
    stateful_step_count=6,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
    database=None,
)
