"""Hostile input never gets a 500: each case gets a documented 4xx and leaves the state unchanged."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from mock_server import spec
from mock_server.app import create_app
from mock_server.runtime import Runtime, build_runtime
from tests.support.api import ORG1_CONTROL_SET, ORG1_KEY, ORG1_VENDOR, auth

DOC = spec.load_document()
LIMITS = DOC["x-limits"]
MAX_BODY = int(LIMITS["max_body_bytes"])
RUN = "/v1/workflows/quarterly-privacy-sweep/run"
JSON = {**auth(ORG1_KEY), "content-type": "application/json"}
FORM = {**auth(ORG1_KEY), "content-type": "application/x-www-form-urlencoded"}
NON_ASCII_KEY = [*JSON.items(), ("Idempotency-Key", "café".encode("latin-1"))]
TWO_KEYS = [*JSON.items(), ("Idempotency-Key", "a"), ("Idempotency-Key", "b")]
ORG1 = "cborg_5f0c3a7e9b1d4f6a8c2e0b4d6f8a1c3e"


async def _chunks(data: bytes, size: int = 64 * 1024) -> AsyncIterator[bytes]:
    """A body streamed in pieces: httpx sends it chunked, without Content-Length."""
    for start in range(0, len(data), size):
        yield data[start : start + size]


def _deep(levels: int) -> bytes:
    return b'{"input":{"a":' + b"[" * levels + b"]" * levels + b"}}"


# (name, method, path, headers, body): each must be answered 4xx with a documented body.
Case = tuple[str, str, str, Any, Any]
CASES: list[Case] = [
    ("over the size limit", "POST", RUN, JSON, b'{"input":{"a":"' + b"x" * MAX_BODY + b'"}}'),
    ("over the limit, chunked, no Content-Length", "POST", RUN, JSON, "chunked-big"),
    ("over the limit on assessments", "POST", "/v1/assessments", JSON, b" " * (MAX_BODY + 1)),
    ("deeply nested input", "POST", RUN, JSON, _deep(100_000)),
    ("nested just past the depth limit", "POST", RUN, JSON, _deep(int(LIMITS["max_json_depth"]))),
    ("deeply nested assessment field", "POST", "/v1/assessments", JSON, b'{"vendor_id":' + b"[" * 5000 + b"]" * 5000),
    ("huge integer", "POST", RUN, JSON, b'{"input":{"a":' + b"9" * 50_000 + b"}}"),
    ("NaN", "POST", RUN, JSON, b'{"input":{"a":NaN}}'),
    ("float overflow", "POST", RUN, JSON, b'{"input":{"a":1e999999}}'),
    ("non-UTF-8 body", "POST", RUN, JSON, b'{"input":{"a":"\xff\xfe"}}'),
    ("UTF-16 body", "POST", RUN, JSON, '{"input":{}}'.encode("utf-16")),
    ("invalid JSON", "POST", RUN, JSON, b'{"input":'),
    ("invalid JSON, chunked", "POST", RUN, JSON, "chunked-invalid"),
    ("JSON array body", "POST", "/v1/assessments", JSON, b"[]"),
    ("wrong content type", "POST", RUN, {**auth(ORG1_KEY), "content-type": "text/plain"}, b'{"input":{}}'),
    (
        "form content type",
        "POST",
        "/v1/assessments",
        FORM,
        b"a=b",
    ),
    ("no content type", "POST", RUN, auth(ORG1_KEY), b'{"input":{}}'),
    ("superseded field", "POST", "/v1/assessments", JSON, b'{"vendor_id":"v","control_set_ids":[],"risk_type":"x"}'),
    ("over-long Idempotency-Key", "POST", RUN, {**JSON, "Idempotency-Key": "k" * 256}, b"{}"),
    ("empty Idempotency-Key", "POST", RUN, {**JSON, "Idempotency-Key": ""}, b"{}"),
    ("non-ASCII Idempotency-Key", "POST", RUN, NON_ASCII_KEY, b"{}"),
    ("Idempotency-Key with a space", "POST", RUN, {**JSON, "Idempotency-Key": "a b"}, b"{}"),
    (
        "duplicated Idempotency-Key",
        "POST",
        RUN,
        TWO_KEYS,
        b"{}",
    ),
    ("workflow name with newline", "POST", "/v1/workflows/%0A/run", JSON, b"{}"),
    ("workflow name with NUL", "POST", "/v1/workflows/a%00b/run", JSON, b"{}"),
    ("workflow name with encoded slash", "POST", "/v1/workflows/a%2Fb/run", JSON, b"{}"),
    ("workflow name with dot segments", "POST", "/v1/workflows/..%2F..%2Fadmin/run", JSON, b"{}"),
    ("workflow name percent-encoded percent", "POST", "/v1/workflows/%25/run", JSON, b"{}"),
    ("run id with CRLF", "GET", "/v1/workflows/runs/%0D%0A", auth(ORG1_KEY), None),
    ("run id with slash", "GET", "/v1/workflows/runs/a/b", auth(ORG1_KEY), None),
    ("run id with invalid UTF-8 escape", "GET", "/v1/workflows/runs/%ff%fe", auth(ORG1_KEY), None),
    ("assessment id with DEL", "GET", "/v1/assessments/%7F", auth(ORG1_KEY), None),
    ("archive id with newline", "DELETE", "/v1/assessments/%0A", auth(ORG1_KEY), None),
    ("archive id with encoded slash", "DELETE", "/v1/assessments/x%2F..%2Fy", auth(ORG1_KEY), None),
    ("huge query value", "GET", "/v1/workflows/runs?workflow_name=" + "x" * 60_000, auth(ORG1_KEY), None),
    ("huge integer query value", "GET", "/v1/workflows/runs?limit=" + "9" * 50_000, auth(ORG1_KEY), None),
    ("out-of-enum query value", "GET", "/v1/workflows/runs?status=" + "s" * 10_000, auth(ORG1_KEY), None),
    ("repeated scalar query parameter", "GET", "/v1/workflows/runs?limit=1&limit=2", auth(ORG1_KEY), None),
    ("control characters in query", "GET", "/v1/workflows/runs?workflow_name=%00%0A%0D", auth(ORG1_KEY), None),
]


def _body(spec_body: Any) -> Any:
    if spec_body == "chunked-big":
        return _chunks(b'{"input":{"a":"' + b"x" * (MAX_BODY + 10) + b'"}}')
    if spec_body == "chunked-invalid":
        return _chunks(b'{"input": {"a": [1, 2,', size=5)
    return spec_body


def _documented(status: int, body: Any) -> bool:
    """The envelope this status has in the document: validation array, coded, plain, or free-form."""
    if not isinstance(body, dict) or set(body) != {"detail"}:
        return False
    detail = body["detail"]
    if status == 422:
        return isinstance(detail, list) and all({"loc", "msg", "type"} <= set(item) for item in detail)
    if status == 404:
        return isinstance(detail, str) or set(detail) == {"code", "message"}
    if status == 400:
        return isinstance(detail, dict) and "error" in detail
    return isinstance(detail, str)


def _state(rt: Runtime) -> tuple[int, int, int]:
    return rt.store.run_count(ORG1), rt.store.idempotency_count(), len(list(rt.store.runs_newest_first(ORG1)))


@pytest.fixture(scope="module")
def served() -> tuple[Runtime, Any]:
    rt = build_runtime()
    return rt, create_app(rt)


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_hostile_request_gets_a_documented_4xx_and_changes_nothing(case: Case, served: tuple[Runtime, Any]) -> None:
    name, method, path, headers, body = case
    rt, app = served
    before = _state(rt)
    journal_before = len(rt.store.journal())

    async def call() -> httpx.Response:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://mock") as client:
            return await client.request(method, path, headers=headers, content=_body(body))

    response = asyncio.run(call())
    assert 400 <= response.status_code < 500, (name, response.status_code, response.text[:300])
    assert response.status_code in {404, 413, 422, 400, 405}
    assert _documented(response.status_code, response.json()), response.text[:300]
    assert response.headers["cache-control"] == "no-store"
    assert _state(rt) == before, "a rejected request must not change state"
    # Still journaled, so an integrator can see what was rejected.
    assert len(rt.store.journal()) == journal_before + 1


def test_size_limit_is_read_from_the_document() -> None:
    assert MAX_BODY == 1_048_576
    responses = DOC["paths"]["/v1/workflows/{workflow_name}/run"]["post"]["responses"]
    assert "413" in responses and "413" in DOC["paths"]["/v1/assessments"]["post"]["responses"]
    assert DOC["x-error-catalog"]["plain"]["body_too_large"]["status"] == 413


def test_body_at_the_limit_is_accepted(served: tuple[Runtime, Any]) -> None:
    rt, app = served
    prefix, suffix = b'{"input":{"a":"', b'"}}'
    exact = prefix + b"x" * (MAX_BODY - len(prefix) - len(suffix)) + suffix
    assert len(exact) == MAX_BODY

    async def call() -> list[httpx.Response]:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://mock") as client:
            plain = await client.post(RUN, headers=JSON, content=exact)
            chunked = await client.post(RUN, headers=JSON, content=_chunks(exact))
            small_chunked = await client.post(RUN, headers=JSON, content=_chunks(b'{"input":{"ok":true}}', size=3))
            return [plain, chunked, small_chunked]

    before = rt.store.run_count(ORG1)
    assert [r.status_code for r in asyncio.run(call())] == [201, 201, 201]
    assert rt.store.run_count(ORG1) == before + 3


def test_valid_input_within_the_limits_is_accepted(served: tuple[Runtime, Any]) -> None:
    _, app = served
    depth = int(LIMITS["max_json_depth"]) - 2  # body object and `input` count as two levels
    nested = b'{"input":' + b'{"a":' * depth + b"1" + b"}" * depth + b"}"
    wide = {"input": {f"k{i}": i for i in range(20_000)}}

    async def call() -> list[httpx.Response]:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://mock") as client:
            return [
                await client.post(RUN, headers=JSON, content=nested),
                await client.post(RUN, headers=JSON, json=wide),
                await client.post(
                    "/v1/assessments",
                    headers=JSON,
                    json={"vendor_id": ORG1_VENDOR, "control_set_ids": [ORG1_CONTROL_SET], "name": "ünïcødé ✓"},
                ),
            ]

    assert [r.status_code for r in asyncio.run(call())] == [201, 201, 201]
