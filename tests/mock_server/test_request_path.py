"""The request path's costs: each request is routed by the table once and its body read and parsed once."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import pytest

from mock_server.app import create_app
from mock_server.http import body as body_module
from mock_server.http.body import BodyReader
from mock_server.operations import OperationTable
from mock_server.runtime import build_runtime
from tests.support.api import Api, auth

RUN = "/v1/workflows/onboard-vendor/run"


@dataclass
class Counts:
    body: str
    route: int = 0
    read: int = 0
    parse: int = 0
    seen: list[str] = field(default_factory=list)


def _counting(monkeypatch: pytest.MonkeyPatch, body: str) -> Counts:
    counts = Counts(body)
    match, read, loads = OperationTable.match, BodyReader.read, json.loads

    def counting_match(self: OperationTable, *args: Any) -> Any:
        counts.route += 1
        return match(self, *args)

    def counting_read(self: BodyReader, *args: Any) -> Any:
        counts.read += 1
        return read(self, *args)

    def counting_loads(text: Any, *args: Any, **kwargs: Any) -> Any:
        if text in (body, body.encode()):  # stored records are JSON too: only the request body counts
            counts.parse += 1
        return loads(text, *args, **kwargs)

    monkeypatch.setattr(OperationTable, "match", counting_match)
    monkeypatch.setattr(BodyReader, "read", counting_read)
    monkeypatch.setattr(body_module.json, "loads", counting_loads)
    return counts


@pytest.mark.parametrize(
    ("body", "status"),
    [({"input": {"a": [1, 2]}}, 201), ({"input": 1}, 422), ({"extra": True}, 201)],
    ids=["valid", "invalid-input", "unknown-field"],
)
def test_one_route_one_body_read_one_parse(monkeypatch: pytest.MonkeyPatch, body: Any, status: int) -> None:
    raw = json.dumps(body)
    counts = _counting(monkeypatch, raw)
    api = Api(create_app(build_runtime()))
    headers = auth(**{"Idempotency-Key": "path-1", "Content-Type": "application/json"})
    response = api.post(RUN, headers=headers, content=raw)
    assert response.status_code == status
    assert (counts.route, counts.read, counts.parse) == (1, 1, 1)
    api.close()
