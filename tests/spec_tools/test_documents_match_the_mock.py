"""What the documents state, the mock does: the 401 challenge header, custom field values."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from mock_server.app import build_runtime, create_app
from mock_server.fixtures import DEFAULT_FIXTURES, FixtureError, load_fixtures
from spec_tools.load import API_DOCUMENT, iter_operations, load_document
from tests.support.api import DOC_ASSESSMENT, Api, auth


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
    api = Api(create_app(build_runtime(fixtures_path=fixtures_with_values(tmp_path, values))))
    try:
        response = api.get(f"/v1/assessments/{DOC_ASSESSMENT}", headers=auth())
    finally:
        api.close()
    assert response.status_code == 200, response.text  # the mock validates its responses
    assert [field["value"] for field in response.json()["custom_fields"]] == values


def test_an_object_is_not_a_custom_field_value(tmp_path: Path) -> None:
    with pytest.raises(FixtureError, match="custom_fields"):
        load_fixtures(fixtures_with_values(tmp_path, [{"nested": 1}]), load_document(API_DOCUMENT))
