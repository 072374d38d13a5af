"""The mock serves its documents: Swagger UI and /openapi.json for the API, the control document apart."""

from __future__ import annotations

import httpx
import yaml

from mock_server import spec
from mock_server.http.served_documents import THIS_MOCK, own_url
from tests.support.api import Api
from tests.support.mockserver import serve


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


def test_the_served_document_lists_this_mock_first_then_production_and_sandbox(api: Api) -> None:
    remote = [s for s in spec.load_document()["servers"] if "127.0.0.1" not in s["url"]]
    assert [s["url"] for s in remote] == ["https://api.coverbase.app", "https://sandbox.api.coverbase.app"]
    for path in ("/openapi.json", "/openapi.yaml"):
        response = api.get(path, headers={"Host": "mock.example:8123"})
        served = response.json() if path.endswith("json") else yaml.safe_load(response.text)
        assert served["servers"] == [{"url": "http://mock.example:8123", "description": THIS_MOCK}, *remote]
        assert int(response.headers["content-length"]) == len(response.content)
        assert served["paths"].keys() == spec.load_document()["paths"].keys()


def test_the_control_document_names_this_mocks_control_plane(api: Api) -> None:
    served = api.get("/_mock/openapi.json", headers={"Host": "127.0.0.1:4999"}).json()
    assert served["servers"] == [{"url": "http://127.0.0.1:4999/_mock", "description": THIS_MOCK}]


def test_a_malformed_host_is_not_repeated() -> None:
    scope = {"type": "http", "scheme": "http", "server": ("127.0.0.1", 4010), "headers": [(b"host", b'x"><script>')]}
    assert own_url(scope) == "http://127.0.0.1:4010"
    scope["server"] = ("::1", 4010)
    assert own_url(scope) == "http://[::1]:4010"


def test_swagger_ui_over_http_offers_this_mocks_url_first() -> None:
    """What Swagger UI's "Servers" list shows: the document it fetches, over a real socket on any port."""
    with serve() as base:
        served = httpx.get(f"{base}/openapi.json").json()
        ui = httpx.get(f"{base}/ui/").text
    assert served["servers"][0] == {"url": base, "description": THIS_MOCK}
    assert [s["url"] for s in served["servers"][1:]] == [
        "https://api.coverbase.app",
        "https://sandbox.api.coverbase.app",
    ]
    assert "openapi.json" in ui
