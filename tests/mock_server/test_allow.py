"""405 answers list exactly the document's methods of the path in `Allow` (HEAD wherever GET is served)."""

from __future__ import annotations

import re

import pytest

from mock_server import spec
from tests.support.api import Api, auth

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def _paths() -> list[tuple[str, tuple[str, ...]]]:
    found = []
    for document in (spec.load_document(), spec.load_control_document()):
        for template, item in document["paths"].items():
            methods = tuple(sorted(m.upper() for m in item if m.upper() in METHODS))
            found.append((template, methods))
    return found


@pytest.mark.parametrize(("template", "methods"), _paths(), ids=[t for t, _ in _paths()])
def test_allow_matches_the_document(api: Api, template: str, methods: tuple[str, ...]) -> None:
    path = re.sub(r"\{[^}]+\}", "x1", template)
    expected = ", ".join(sorted({*methods, "HEAD"} if "GET" in methods else set(methods)))
    refused = [m for m in METHODS if m not in methods]
    assert refused, template
    for method in refused:
        response = api.request(method, path, headers=auth())
        assert response.status_code == 405, (method, path, response.text)
        assert response.headers["allow"] == expected, (method, path)
        assert response.json() == {"detail": "Method Not Allowed"}
