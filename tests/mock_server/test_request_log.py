"""One log line per request: rejected requests at WARNING (the default level) with the reason, like Prism does;
rehearsals logged as rehearsals; accepted requests at INFO."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from mock_server.app import create_app
from mock_server.errors import ApiError, ErrorFactory
from mock_server.logs import REQUESTS, reason
from mock_server.runtime import build_runtime
from tests.support.api import Api, auth
from tests.support.reliability import MockProcess

RUN = "/v1/workflows/onboard-vendor/run"


@pytest.fixture
def logged(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level("INFO", logger=REQUESTS)
    return caplog


def lines(caplog: pytest.LogCaptureFixture, level: str) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == REQUESTS and r.levelname == level]


@pytest.mark.parametrize(
    ("method", "url", "kwargs", "expected"),
    [
        (
            "POST",
            RUN,
            {"json": {"input": 1}},
            '"POST /v1/workflows/onboard-vendor/run" 422 body.input: Input should be',
        ),
        ("GET", "/v1/workflows/runs?limit=0&offset=-1", {}, "422 query.limit: Input should be greater than or equal"),
        ("POST", "/v1/workflows/nope/run", {"json": {}}, '"POST /v1/workflows/nope/run" 404 workflow_not_found'),
        ("POST", "/v1/workflows/legacy-soc2-chase/run", {}, "409 workflow_disabled"),
        ("GET", "/v1/workflows/runs/cbwr_x", {}, "404 workflow_run_not_found"),
        ("GET", "/v1/nowhere", {}, '"GET /v1/nowhere" 404 Not Found'),
        ("PUT", "/v1/utils/authtest", {}, "405 Method Not Allowed"),
        ("POST", "/v1/assessments", {"json": {"vendor_id": "x", "control_set_ids": []}}, "400 Vendor x not found."),
        ("POST", "/v1/assessments", {"content": b" " * (1024 * 1024 + 1)}, "413 Request body too large"),
        ("GET", "/v1/utils/authtest", {"headers": {"Authorization": "Bearer nope"}}, "401 Invalid or expired API key."),
    ],
)
def test_a_rejected_request_is_one_warning_line_with_its_reason(
    logged: pytest.LogCaptureFixture, method: str, url: str, kwargs: dict[str, object], expected: str
) -> None:
    api = Api(create_app(build_runtime()))
    kwargs.setdefault("headers", auth())
    api.request(method, url, **kwargs)  # type: ignore[arg-type]
    api.close()
    warnings = lines(logged, "WARNING")
    assert len(warnings) == 1 and expected in warnings[0], warnings


def test_an_accepted_request_is_one_info_line(logged: pytest.LogCaptureFixture) -> None:
    api = Api(create_app(build_runtime()))
    assert api.post(RUN, headers=auth(), json={}).status_code == 201
    api.close()
    assert lines(logged, "WARNING") == []
    assert len(lines(logged, "INFO")) == 1 and '"POST /v1/workflows/onboard-vendor/run" 201' in lines(logged, "INFO")[0]


def test_rehearsals_are_logged_as_rehearsals(logged: pytest.LogCaptureFixture) -> None:
    api = Api(create_app(build_runtime()))
    api.post(RUN, headers=auth(**{"X-Coverbase-Mock-Rehearse": "dispatch_failure"}))
    api.post(RUN, headers=auth(**{"X-Coverbase-Mock-Rehearse": "delay=1"}))
    api.close()
    warnings = lines(logged, "WARNING")
    assert "502 workflow_dispatch_failed; rehearsal dispatch_failure" in warnings[0]
    assert "201 rehearsal delay=1" in warnings[1]


def test_the_reason_of_each_error_body() -> None:
    factory = ErrorFactory({}, {})
    many = ErrorFactory.validation([ErrorFactory.validation_item(["query", f"q{i}"], "bad", "t") for i in range(5)])
    assert reason(many) == "query.q0: bad; query.q1: bad; query.q2: bad (and 2 more)"
    assert reason(factory.free_form(400, "Vendor x not found.")) == "Vendor x not found."
    assert reason(ApiError(404, {"detail": {"code": "c", "message": "m"}})) == "c"
    assert reason(ApiError(404, {"detail": "Not Found"})) == "Not Found"


def test_at_the_default_level_rejections_and_rehearsals_show_and_nothing_else(tmp_path: Path) -> None:
    """Over a real socket at the default level: a dropped rehearsal is a rehearsal line, not uvicorn's
    'ASGI callable returned without completing response' error."""
    server = MockProcess(log=tmp_path / "mock.log")
    try:
        server.wait_ready()
        with httpx.Client(base_url=server.base) as client:
            assert client.post(RUN, headers=auth(), json={}).status_code == 201
            assert client.post(RUN, headers=auth(), json={"input": 1}).status_code == 422
            client.post("/_mock/rehearsals", json={"kind": "drop_after_commit", "operation_id": "runWorkflow"})
            with pytest.raises(httpx.RemoteProtocolError):
                client.post(RUN, headers=auth(**{"Idempotency-Key": "dropped"}), json={})
            assert client.post(RUN, headers=auth(**{"Idempotency-Key": "dropped"}), json={}).status_code == 201
    finally:
        server.stop()
    output = server.output()
    assert "ERROR" not in output and "ASGI callable" not in output, output
    requests = [line for line in output.splitlines() if '- "' in line]
    assert len(requests) == 2, requests  # the 422 and the rehearsal; accepted requests are INFO
    assert requests[0].startswith("WARNING:") and "422 body.input: Input should be" in requests[0]
    assert "201 rehearsal drop_after_commit; body withheld, connection closed" in requests[1]
