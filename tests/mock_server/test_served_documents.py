"""The mock serves its documents: Swagger UI and /openapi.json for the API, the control document apart."""

from __future__ import annotations

from mock_server import spec
from tests.support.api import Api


def test_swagger_ui_and_api_document_are_served(api: Api) -> None:
    ui = api.get("/ui/")
    assert ui.status_code == 200 and "swagger" in ui.text.lower()
    served = api.get("/openapi.json").json()
    assert served["info"]["title"] == spec.load_document()["info"]["title"]
    assert set(served["paths"]) == set(spec.load_document()["paths"])


def test_control_document_is_served_under_its_prefix(api: Api) -> None:
    served = api.get("/_mock/openapi.json")
    assert served.status_code == 200
    assert "/health" in served.json()["paths"]
