"""The handle on the mock (`mock_server.testing`): through the plugin's `coverbase_mock` fixture, and `serve()`."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from freezegun import freeze_time
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from mock_server.testing import (
    CoverbaseMock,
    FrozenTimeUnreachable,
    MockControlError,
    MockSession,
    TimeWentBackwards,
    serve,
    unix_seconds,
)
from tests.support.api import DOC_ASSESSMENT, DOC_RUN, ORG1_CONTROL_SET, ORG1_KEY, ORG1_VENDOR, ORG2_KEY, ORG2_VENDOR
from tests.support.contract_servers import asgi_server

FROZEN = "2026-03-01 09:00:00"
FROZEN_TS = 1772355600
RUN = "/v1/workflows/quarterly-privacy-sweep/run"


@pytest.fixture
def remote(coverbase_mock: CoverbaseMock) -> Iterator[CoverbaseMock]:
    """A handle on the same mock as seen from another process: through its URL only."""
    session = MockSession.connect(coverbase_mock.url)
    mock = session.handle()
    yield mock
    session.release(mock)
    session.close()


def test_the_handle_names_the_mock_its_keys_and_the_fixture_ids(coverbase_mock: CoverbaseMock) -> None:
    assert coverbase_mock.url.startswith("http://127.0.0.1:")
    assert (coverbase_mock.api_key, coverbase_mock.second_api_key) == (ORG1_KEY, ORG2_KEY)
    ids = coverbase_mock.ids
    assert ids.vendors["Acme Corporation"] == ORG1_VENDOR == ids.vendor_id
    assert ORG1_CONTROL_SET in ids.control_set_ids
    assert "annual-reassessment-flow" in ids.workflows
    assert (ids.assessment_ids, ids.run_ids[0]) == ((DOC_ASSESSMENT,), DOC_RUN)
    assert ids.second is not None and ids.second.vendor_id == ORG2_VENDOR
    assert ids.raw["orgs"][0]["id"] == ids.org_id
    assert not coverbase_mock.remote and coverbase_mock.namespace is None


def test_clients_carry_the_base_url_and_a_key(coverbase_mock: CoverbaseMock) -> None:
    run = coverbase_mock.client().post(RUN, json={"input": {}}).json()["workflow_run_id"]
    assert coverbase_mock.client().get(f"/v1/workflows/runs/{run}").status_code == 200
    other = coverbase_mock.client(api_key=coverbase_mock.second_api_key)
    assert other.get(f"/v1/workflows/runs/{run}").status_code == 404
    assert coverbase_mock.client(headers={"Authorization": "Bearer nope"}).get(RUN).status_code in (401, 405)


def test_the_async_client_works_from_any_event_loop(coverbase_mock: CoverbaseMock) -> None:
    async def authtest() -> int:
        async with coverbase_mock.async_client() as client:
            return (await client.get("/v1/utils/authtest")).status_code

    with freeze_time(FROZEN, real_asyncio=True):
        assert asyncio.run(authtest()) == 200
    assert asyncio.run(authtest()) == 200
    coverbase_mock.assert_requested("GET", "/v1/utils/authtest", times=2, status=200)


def test_clock_advance_set_and_its_refusal(coverbase_mock: CoverbaseMock) -> None:
    start = coverbase_mock.clock.now()
    assert coverbase_mock.clock.advance(seconds=1, minutes=1, hours=1, days=1) == start + 90061
    later = dt.datetime.fromtimestamp(start + 200_000, dt.UTC)
    assert coverbase_mock.clock.set(later) == start + 200_000
    with pytest.raises(MockControlError, match="422"):
        coverbase_mock.clock.set(start)
    with pytest.raises(ValueError, match="whole seconds"):
        coverbase_mock.clock.advance(seconds=0.5)


def test_reset_returns_to_the_fixtures_and_may_start_anywhere(coverbase_mock: CoverbaseMock) -> None:
    client = coverbase_mock.client()
    run = client.post(RUN, json={"input": {}}).json()["workflow_run_id"]
    coverbase_mock.rehearse("dispatch_failure")
    coverbase_mock.clock.advance(hours=2)
    assert coverbase_mock.reset(now=dt.datetime(2026, 3, 1, 9, tzinfo=dt.UTC)) == FROZEN_TS
    assert coverbase_mock.clock.now() - FROZEN_TS < 5
    assert coverbase_mock.requests() == []
    assert client.get(f"/v1/workflows/runs/{run}").status_code == 404
    assert client.post(RUN, json={"input": {}}).status_code == 201  # the rehearsal is gone


def test_rehearsals_fail_the_next_matching_call(coverbase_mock: CoverbaseMock) -> None:
    client = coverbase_mock.client()
    armed = coverbase_mock.rehearse("dispatch_failure", workflow_name="onboard-vendor", times=2)
    assert armed["remaining"] == 2
    assert client.post("/v1/workflows/quarterly-privacy-sweep/run").status_code == 201
    assert [client.post("/v1/workflows/onboard-vendor/run").status_code for _ in range(3)] == [502, 502, 201]

    coverbase_mock.rehearse("drop_after_commit", operation_id="runWorkflow")
    with pytest.raises(httpx.RemoteProtocolError):
        client.post(RUN, headers={"Idempotency-Key": "k-1"})
    retried = client.post(RUN, headers={"Idempotency-Key": "k-1"})
    assert retried.status_code == 201
    *_, dropped, answered = coverbase_mock.assert_requested("POST", RUN, times=3, status=201)
    assert dropped["rehearsal"] == "drop_after_commit" and answered["rehearsal"] is None
    assert dropped["headers"]["idempotency-key"] == answered["headers"]["idempotency-key"] == "k-1"


def test_assert_requested_matches_templates_counts_and_statuses(coverbase_mock: CoverbaseMock) -> None:
    client = coverbase_mock.client()
    client.get(f"/v1/workflows/runs/{DOC_RUN}")
    client.get("/v1/workflows/runs/cbwr_00000000000000000000000000000000")
    assert len(coverbase_mock.assert_requested("GET", "/v1/workflows/runs/{run_id}", times=2)) == 2
    assert len(coverbase_mock.assert_requested("get", "/v1/workflows/runs/{run_id}", status=404)) == 1
    coverbase_mock.assert_requested("GET", f"/v1/workflows/runs/{DOC_RUN}", times=1, status=200)


def test_assert_requested_lists_what_was_requested_instead(coverbase_mock: CoverbaseMock) -> None:
    client = coverbase_mock.client()
    client.post("/v1/assessments", json={"vendor_id": "nope"})
    client.get("/v1/workflows/runs", params={"limit": 2})
    with pytest.raises(AssertionError) as failed:
        coverbase_mock.assert_requested("POST", "/v1/assessments", status=201)
    assert str(failed.value) == (
        "expected POST /v1/assessments answered 201 at least once, found 0; requested instead (2):\n"
        "  POST /v1/assessments -> 422\n"
        "  GET /v1/workflows/runs?limit=2 -> 200"
    )
    with pytest.raises(AssertionError, match="expected GET /v1/workflows/runs 2 times, found 1"):
        coverbase_mock.assert_requested("GET", "/v1/workflows/runs", times=2)


def test_assert_requested_on_an_empty_journal(coverbase_mock: CoverbaseMock) -> None:
    with pytest.raises(AssertionError, match="received no API request since the last reset"):
        coverbase_mock.assert_requested("GET", "/v1/utils/authtest")


def test_deliveries_are_delivered_when_read(coverbase_mock: CoverbaseMock) -> None:
    subscribed = coverbase_mock.client().post(
        "/v1/webhooks",
        json={"url": "http://127.0.0.1:1/nobody", "events": ["Assessment.Created"], "secret": "0123456789abcdef"},
    )
    assert subscribed.status_code == 201
    created = coverbase_mock.client().post(
        "/v1/assessments", json={"vendor_id": ORG1_VENDOR, "control_set_ids": [ORG1_CONTROL_SET]}
    )
    assert created.status_code == 201
    first, retry = coverbase_mock.deliveries()  # nobody listens: the first attempt failed, a retry waits
    assert first["webhook_id"] == retry["webhook_id"] == subscribed.json()["id"]
    assert (first["event_type"], first["attempt"], first["status"]) == ("Assessment.Created", 1, "error")
    assert first["payload"]["assessment_id"] == created.json()["id"]
    assert (retry["attempt"], retry["status"]) == (2, "pending")
    coverbase_mock.reset()
    assert coverbase_mock.deliveries() == []
    remaining = [hook["id"] for hook in httpx.get(f"{coverbase_mock.url}/_mock/webhooks").json()["data"]]
    assert subscribed.json()["id"] not in remaining, "a reset forgets the subscriptions made since"


def test_the_mock_follows_frozen_time_from_the_test_thread(coverbase_mock: CoverbaseMock) -> None:
    client = coverbase_mock.client()
    with freeze_time(FROZEN) as frozen:
        first = client.post(RUN, headers={"Idempotency-Key": "window"}, json={"input": {}}).json()
        assert first["started_at"] == FROZEN_TS == coverbase_mock.clock.now()
        frozen.tick(dt.timedelta(hours=23, minutes=59, seconds=59))
        assert client.post(RUN, headers={"Idempotency-Key": "window"}, json={"input": {}}).json() == first
        frozen.tick(dt.timedelta(seconds=1))
        anew = client.post(RUN, headers={"Idempotency-Key": "window"}, json={"input": {}}).json()
        assert anew["workflow_run_id"] != first["workflow_run_id"]
        assert anew["started_at"] == FROZEN_TS + 86400
        coverbase_mock.clock.advance(hours=1)  # the control plane's offset adds to the frozen time
        assert coverbase_mock.clock.now() == FROZEN_TS + 86400 + 3600
    coverbase_mock.check_time_order()


def test_unfrozen_the_mock_runs_on_real_time(coverbase_mock: CoverbaseMock) -> None:
    before = unix_seconds(dt.datetime.now(dt.UTC).replace(microsecond=0))
    started = coverbase_mock.client().post(RUN, json={"input": {}}).json()["started_at"]
    assert before <= started <= unix_seconds(dt.datetime.now(dt.UTC).replace(microsecond=0))


def test_the_server_keeps_real_time_for_its_own_timers_while_frozen(coverbase_mock: CoverbaseMock) -> None:
    """A frozen time.monotonic in the server's event loop would never let a 200 ms delay end."""
    coverbase_mock.rehearse("delay", delay_ms=200)
    with freeze_time(FROZEN):
        answer = coverbase_mock.client(timeout=10).get("/v1/utils/authtest")
    assert answer.status_code == 200
    (entry,) = coverbase_mock.requests()
    assert entry["rehearsal"] == "delay=200"


def test_time_going_backwards_within_a_world_is_reported(coverbase_mock: CoverbaseMock) -> None:
    client = coverbase_mock.client()
    client.get("/v1/utils/authtest")
    with freeze_time(FROZEN):
        client.get("/v1/utils/authtest")
        with pytest.raises(TimeWentBackwards, match=r"went back from .* to 2026-03-01T09:00:00Z .*reset\(\)"):
            coverbase_mock.check_time_order()
        coverbase_mock.reset()  # the fix the message names: a new world inside the freeze
        client.get("/v1/utils/authtest")
    coverbase_mock.check_time_order()


def test_frozen_time_cannot_reach_a_mock_in_another_process(remote: CoverbaseMock) -> None:
    assert remote.remote
    assert remote.client().get("/v1/utils/authtest").status_code == 200
    with freeze_time(FROZEN):
        with pytest.raises(
            FrozenTimeUnreachable, match="cannot follow it: instead of freeze_time, move the mock's clock"
        ):
            remote.client().get("/v1/utils/authtest")
        with pytest.raises(FrozenTimeUnreachable):
            remote.clock.now()
    remote.reset(now=FROZEN_TS)  # the way to a fixed time on a mock out of reach
    assert remote.clock.now() - FROZEN_TS < 5


def test_connect_refuses_a_url_where_no_mock_answers() -> None:
    with pytest.raises(MockControlError, match=r"no coverbase-mock answers at http://127\.0\.0\.1:1"):
        MockSession.connect("http://127.0.0.1:1")


def test_serve_starts_a_mock_of_its_own_with_given_fixtures(coverbase_mock: CoverbaseMock) -> None:
    with serve() as mock:
        assert mock.url != coverbase_mock.url
        run = mock.client().post(RUN, json={"input": {}}).json()["workflow_run_id"]
        assert coverbase_mock.client().get(f"/v1/workflows/runs/{run}").status_code == 404
        url = mock.url
    with pytest.raises(httpx.TransportError):
        httpx.get(f"{url}/_mock/health")


class NamespaceStub:
    """A control plane offering /_mock/namespaces as the namespaces branch describes it (201 with the namespace's
    ID, keys per org and fixture summary; `X-Mock-Namespace` selects it), recording what the handle sends."""

    def __init__(self, summary: dict[str, Any]) -> None:
        self.summary = summary
        self.created = 0
        self.seen: list[tuple[str, str, str | None]] = []
        self.deleted: list[str] = []
        self.app = Starlette(
            routes=[
                Route("/_mock/health", lambda r: JSONResponse({"status": "ok"})),
                Route("/_mock/namespaces", self.create, methods=["POST"]),
                Route("/_mock/namespaces/{ns}", self.delete, methods=["DELETE"]),
                Route("/_mock/{rest:path}", self.control, methods=["GET", "POST", "DELETE"]),
            ]
        )

    async def create(self, request: Request) -> JSONResponse:
        self.created += 1
        ns = f"ns{self.created}"
        keys = {org["id"]: f"ak_live_{ns}_org{i}" for i, org in enumerate(self.summary["orgs"])}
        body = {"namespace_id": ns, "api_keys": keys, "fixtures": self.summary, "expires_at": 4102444800}
        return JSONResponse(body, status_code=201)

    async def delete(self, request: Request) -> Response:
        self.deleted.append(request.path_params["ns"])
        return Response(status_code=204)

    async def control(self, request: Request) -> JSONResponse:
        self.seen.append((request.method, request.url.path, request.headers.get("x-mock-namespace")))
        answers: dict[str, Any] = {
            "/_mock/clock": {"now": FROZEN_TS, "offset_seconds": 0},
            "/_mock/requests": {"data": [], "total": 0},
            "/_mock/rehearsals": {"id": "mockreh_1", "kind": "delay", "remaining": 1},
        }
        return JSONResponse(answers.get(request.url.path, {}), status_code=201 if request.method == "POST" else 200)


def test_on_a_mock_with_namespaces_each_handle_works_in_its_own(coverbase_mock: CoverbaseMock) -> None:
    stub = NamespaceStub(dict(coverbase_mock.ids.raw))
    with asgi_server(stub.app) as url:
        session = MockSession.connect(url)
        first, second = session.handle(), session.handle()
        assert session.namespaces is True
        assert (first.namespace, second.namespace) == ("ns1", "ns2")
        assert (first.api_key, first.second_api_key, second.api_key) == (
            "ak_live_ns1_org0",
            "ak_live_ns1_org1",
            "ak_live_ns2_org0",
        )
        assert first.client().headers["authorization"] == "Bearer ak_live_ns1_org0"
        assert first.ids.vendor_id == coverbase_mock.ids.vendor_id
        first.clock.now()
        second.requests()
        first.rehearse("delay", delay_ms=5)
        assert stub.seen == [
            ("GET", "/_mock/clock", "ns1"),
            ("GET", "/_mock/requests", "ns2"),
            ("POST", "/_mock/rehearsals", "ns1"),
        ]  # and no reset: a namespace is a clean world already
        session.release(first)
        session.release(second)
        session.close()
    assert stub.deleted == ["ns1", "ns2"]


def test_namespaces_of_a_real_mock_are_worlds_of_their_own(coverbase_mock: CoverbaseMock) -> None:
    """Against a real mock serving /_mock/namespaces: each handle is a world of its own."""
    session = MockSession.connect(coverbase_mock.url)
    mine, other = session.handle(), None
    try:
        assert session.namespaces is not False, "the mock serves POST /_mock/namespaces"
        other = session.handle()
        assert mine.namespace != other.namespace and mine.api_key != other.api_key
        run = mine.client().post(RUN, json={"input": {}}).json()["workflow_run_id"]
        assert mine.client().get(f"/v1/workflows/runs/{run}").status_code == 200
        assert other.client().get(f"/v1/workflows/runs/{run}").status_code == 404
        assert [e["status"] for e in other.requests()] == [404]
        mine.rehearse("dispatch_failure")
        assert other.client().post(RUN).status_code == 201
        assert mine.client().post(RUN).status_code == 502
        mine.clock.advance(days=1)
        assert mine.clock.now() - other.clock.now() >= 86400 - 60
        other.reset()
        assert mine.client().get(f"/v1/workflows/runs/{run}").status_code == 200
        session.release(mine)  # the namespace is deleted: its key opens nothing any more
        answer = httpx.get(
            f"{coverbase_mock.url}/v1/utils/authtest", headers={"Authorization": f"Bearer {mine.api_key}"}
        )
        assert answer.status_code == 401
    finally:
        for handle in (mine, other):
            if handle is not None:
                session.release(handle)  # releasing twice is harmless (the DELETE answers 404)
        session.close()
