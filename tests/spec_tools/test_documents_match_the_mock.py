"""What the documents state, the mock does: examples work (today and years from now), 401s, custom field values.

Examples are sent in process (ASGI, no server) to a fresh mock, as the generated docs show them. A request
example can be valid against its schema and still be refused by the mock for a reason the schema cannot
state - a clock `set` before the mock's current time - so the examples also run on a mock whose clock
starts HORIZON_YEARS ahead: an example that will stop working within that horizon fails today.
"""

from __future__ import annotations

import copy
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from mock_server.app import create_app
from mock_server.fixtures import DEFAULT_FIXTURES, FixtureError, load_fixtures
from mock_server.runtime import build_runtime
from mock_server.settings import Settings
from spec_tools.curl import LOCAL_BASE_URL, curl_examples
from spec_tools.load import API_DOCUMENT, CONTROL_DOCUMENT, Document, iter_operations, load_document
from tests.spec_tools.test_docs import curl_request
from tests.support.api import DOC_ASSESSMENT, Api, auth

HORIZON_YEARS = 10
# Examples that cannot work on a fresh mock for a reason other than time; each must stay a known failure.
NEEDS_STATE = {
    "deleteNamespace": "its example ID names a namespace that must be created first (IDs are random)",
}


class ClockAhead:
    """The system clock moved forward by whole years (the mock's virtual clock starts from it)."""

    def __init__(self, years: int) -> None:
        self.offset = years * 365 * 86400

    def now(self) -> int:
        return int(time.time()) + self.offset


def success_status(op_node: dict[str, Any]) -> int:
    return min(int(s) for s in op_node["responses"] if str(s).startswith("2"))


def mock_at(years: int) -> Api:
    return Api(create_app(build_runtime(clock=ClockAhead(years))))


def rejected_examples(doc: Document, api: Api) -> dict[str, list[str]]:
    """Per operation, the example commands a just-reset mock answers with something else than success."""
    failures: dict[str, list[str]] = {}
    for op in iter_operations(doc):
        for example in curl_examples(doc, op):
            assert api.post("/_mock/reset").status_code == 200
            method, url, headers, body = curl_request(example.command)
            response = api.request(method, url.removeprefix(LOCAL_BASE_URL), headers=headers, content=body)
            if response.status_code != success_status(op.node):
                failure = f"{example.title}: {example.command}\n-> {response.status_code} {response.text}"
                failures.setdefault(op.operation_id, []).append(failure)
    return failures


@pytest.mark.parametrize("years", [0, HORIZON_YEARS])
def test_control_plane_examples_work(years: int) -> None:
    api = mock_at(years)
    try:
        failures = rejected_examples(load_document(CONTROL_DOCUMENT), api)
    finally:
        api.close()
    # The known exceptions must stay exactly these: one that starts to work has to leave NEEDS_STATE.
    assert sorted(failures) == sorted(NEEDS_STATE), failures


def test_a_clock_example_in_the_past_is_caught() -> None:
    """The example that broke (#15): a `set` before now is refused by the mock, and the check above says so."""
    doc = load_document(CONTROL_DOCUMENT)
    examples = doc["paths"]["/_mock/clock"]["post"]["requestBody"]["content"]["application/json"]["examples"]
    today, ahead = mock_at(0), mock_at(HORIZON_YEARS)
    try:
        examples["set"]["value"] = {"set": 1767225600}
        [failure] = rejected_examples(doc, today)["setClock"]
        assert '"set": 1767225600' in failure and "-> 422" in failure and "cannot set the clock back" in failure
        # One that only expires within the horizon is caught too, years before it breaks.
        examples["set"]["value"] = {"set": int(time.time()) + 86400 * 365}
        assert "setClock" not in rejected_examples(doc, today)
        assert len(rejected_examples(doc, ahead)["setClock"]) == 1
    finally:
        today.close()
        ahead.close()


def test_api_examples_still_work_years_from_now() -> None:
    """The API commands, in page order on one mock, as test_docs does today, on a clock HORIZON_YEARS ahead."""
    doc = load_document(API_DOCUMENT)
    api = mock_at(HORIZON_YEARS)
    try:
        for op in iter_operations(doc):
            for example in curl_examples(doc, op):
                method, url, headers, body = curl_request(example.command)
                response = api.request(method, url.removeprefix(LOCAL_BASE_URL), headers=headers, content=body)
                assert response.status_code == success_status(op.node), f"{example.command}\n-> {response.text}"
    finally:
        api.close()


def test_every_401_documents_the_bearer_challenge_the_mock_sends(api: Api) -> None:
    doc = load_document(API_DOCUMENT)
    for op in iter_operations(doc):
        response = op.node["responses"]["401"]
        assert response == {"$ref": "#/components/responses/Unauthorized"}, op.label
    header = doc["components"]["responses"]["Unauthorized"]["headers"]["WWW-Authenticate"]
    assert header["required"] is True
    sent = api.get("/v1/utils/authtest", headers={"Authorization": "Bearer ak_live_nope"})
    assert sent.status_code == 401
    assert [sent.headers["www-authenticate"]] == header["schema"]["enum"]


def fixtures_with_values(tmp_path: Path, values: list[Any]) -> Path:
    raw = yaml.safe_load(Path(DEFAULT_FIXTURES).read_text(encoding="utf-8"))
    [assessment] = [a for a in raw["orgs"][0]["assessments"] if a["id"] == DOC_ASSESSMENT]
    template = assessment["custom_fields"][0]
    assessment["custom_fields"] = [{**copy.deepcopy(template), "value": value} for value in values]
    path = tmp_path / "fixtures.yaml"
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    return path


def test_custom_field_values_of_every_documented_type_pass_response_validation(tmp_path: Path) -> None:
    values: list[Any] = ["Annual", 0.82, 3, True, ["a", "b"], [], None]
    api = Api(create_app(build_runtime(Settings(fixtures_path=fixtures_with_values(tmp_path, values)))))
    try:
        response = api.get(f"/v1/assessments/{DOC_ASSESSMENT}", headers=auth())
    finally:
        api.close()
    assert response.status_code == 200, response.text  # the mock validates its responses
    assert [field["value"] for field in response.json()["custom_fields"]] == values


def test_an_object_is_not_a_custom_field_value(tmp_path: Path) -> None:
    with pytest.raises(FixtureError, match="custom_fields"):
        load_fixtures(fixtures_with_values(tmp_path, [{"nested": 1}]), load_document(API_DOCUMENT))
