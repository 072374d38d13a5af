"""Webhooks: envelope, signature, headers, retries on the virtual clock, delivery log, non-blocking."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest

from mock_server import spec
from mock_server.app import create_app
from mock_server.runtime import build_runtime
from mock_server.webhooks import DeliveryPolicy, sign, verify
from tests.support.api import Api, auth

POLICY = DeliveryPolicy.from_document(spec.load_control_document())
SECRET = "whsec_local_rehearsal_0001"


class Receiver:
    """An httpx transport standing in for the integrator's endpoint; answers from a script."""

    def __init__(self, statuses: list[int | str]) -> None:
        self.statuses = statuses
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        outcome = self.statuses[min(len(self.requests) - 1, len(self.statuses) - 1)]
        if outcome == "refuse":
            raise httpx.ConnectError("connection refused", request=request)
        if outcome == "timeout":
            raise httpx.ReadTimeout("timed out", request=request)
        return httpx.Response(int(outcome))


@pytest.fixture
def receiver() -> Receiver:
    return Receiver([200])


@pytest.fixture
def hooked(receiver: Receiver) -> Any:
    runtime = build_runtime(webhook_transport=httpx.MockTransport(receiver))
    client = Api(create_app(runtime))
    r = client.post(
        "/_mock/webhooks",
        json={
            "url": "http://127.0.0.1:8765/coverbase",
            "events": ["Vendor.Created", "Assessment.Created", "Assessment.StatusChanged", "WorkflowRun.Created"],
            "secret": SECRET,
        },
    )
    assert r.status_code == 201
    yield client
    client.close()


def deliver(api: Api) -> int:
    attempted: int = api.post("/_mock/webhooks/deliver").json()["attempted"]
    return attempted


def log(api: Api) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = api.get("/_mock/webhooks/deliveries").json()["data"]
    return entries


def test_envelope_signature_and_headers(hooked: Api, receiver: Receiver) -> None:
    run = hooked.post("/v1/workflows/onboard-vendor/run", headers=auth()).json()
    assert receiver.requests == []  # the request only enqueued the delivery
    assert deliver(hooked) == 1
    request = receiver.requests[0]
    raw = request.content
    envelope = json.loads(raw)
    assert set(envelope) == {"event_id", "event_type", "occurred_at", "data"}
    assert envelope["event_type"] == "WorkflowRun.Created"
    assert envelope["data"] == {
        "workflow_run_id": run["workflow_run_id"],
        "workflow_name": "onboard-vendor",
        "event_type": "WorkflowRun.Created",
    }
    assert request.headers["content-type"] == "application/json"
    assert request.headers["coverbase-signature"] == sign(SECRET, raw)
    assert verify(SECRET, raw, request.headers["coverbase-signature"])
    assert not verify("another-secret-of-16+", raw, request.headers["coverbase-signature"])
    assert request.headers["x-coverbase-event-id"] == envelope["event_id"]
    assert request.headers["x-coverbase-event-type"] == "WorkflowRun.Created"
    assert log(hooked)[0]["status"] == "delivered"


def test_assessment_events(hooked: Api, receiver: Receiver) -> None:
    created = hooked.post(
        "/v1/assessments",
        headers=auth(),
        json={"vendor_id": "cbvndr_e448ba62882143f3ba0c140bb2e30162", "control_set_ids": []},
    ).json()
    hooked.delete(f"/v1/assessments/{created['id']}", headers=auth())
    deliver(hooked)
    events = [json.loads(r.content) for r in receiver.requests]
    assert [e["event_type"] for e in events] == ["Assessment.Created", "Assessment.StatusChanged"]
    assert events[1]["data"] == {
        "assessment_id": created["id"],
        "old_status": "created",
        "new_status": "canceled",
        "event_type": "Assessment.StatusChanged",
    }


@pytest.mark.parametrize("failure", [503, 429, 408, "refuse", "timeout"])
def test_retryable_failures_follow_the_documented_schedule(failure: int | str) -> None:
    receiver = Receiver([failure])
    runtime = build_runtime(webhook_transport=httpx.MockTransport(receiver))
    api = Api(create_app(runtime))
    api.post(
        "/_mock/webhooks", json={"url": "http://localhost:1/x", "events": ["WorkflowRun.Created"], "secret": SECRET}
    )
    api.post("/v1/workflows/onboard-vendor/run", headers=auth())
    assert deliver(api) == 1
    for wait in POLICY.waits_seconds:
        assert deliver(api) == 0  # the retry is not due yet
        api.post("/_mock/clock", json={"advance_seconds": wait})
        assert deliver(api) == 1
    entries = log(api)
    assert len(entries) == POLICY.max_attempts == len(receiver.requests)
    assert [e["attempt"] for e in entries] == list(range(1, POLICY.max_attempts + 1))
    assert len({e["event_id"] for e in entries}) == 1
    expected = {503: "error", 429: "error", 408: "error", "refuse": "error", "timeout": "timeout"}[failure]
    assert {e["status"] for e in entries} == {expected}
    bodies = [json.loads(r.content) for r in receiver.requests]
    assert len({b["occurred_at"] for b in bodies}) == POLICY.max_attempts  # each retry is signed anew
    api.post("/_mock/clock", json={"advance_seconds": 10**6})
    assert deliver(api) == 0
    api.close()


@pytest.mark.parametrize("status", [400, 404, 410])
def test_other_answers_are_final(status: int) -> None:
    receiver = Receiver([status])
    api = Api(create_app(build_runtime(webhook_transport=httpx.MockTransport(receiver))))
    api.post(
        "/_mock/webhooks", json={"url": "http://localhost:1/x", "events": ["WorkflowRun.Created"], "secret": SECRET}
    )
    api.post("/v1/workflows/onboard-vendor/run", headers=auth())
    deliver(api)
    api.post("/_mock/clock", json={"advance_seconds": 10**6})
    assert deliver(api) == 0
    assert [(e["status"], e["response_status"]) for e in log(api)] == [("error", status)]
    api.close()


def test_success_after_a_retry_stops_retrying(hooked: Api, receiver: Receiver) -> None:
    receiver.statuses[:] = [500, 200]
    hooked.post("/v1/workflows/onboard-vendor/run", headers=auth())
    deliver(hooked)
    hooked.post("/_mock/clock", json={"advance_seconds": POLICY.waits_seconds[0]})
    deliver(hooked)
    hooked.post("/_mock/clock", json={"advance_seconds": 10**6})
    assert deliver(hooked) == 0
    assert [e["status"] for e in log(hooked)] == ["error", "delivered"]


def test_other_orgs_events_and_unsubscribed_types_are_not_delivered(hooked: Api, receiver: Receiver) -> None:
    hooked.post(
        "/v1/workflows/quarterly-privacy-sweep/run",
        headers=auth("ak_live_initech_4Qx7Zr2Lm9Tp1Vw8Ky3Hs6Bn0Dc5Fg"),
    )
    assert deliver(hooked) == 0 and receiver.requests == []


def test_removed_subscription_skips_pending_attempts(hooked: Api, receiver: Receiver) -> None:
    hook_id = hooked.get("/_mock/webhooks").json()["data"][0]["id"]
    hooked.post("/v1/workflows/onboard-vendor/run", headers=auth())
    assert hooked.delete(f"/_mock/webhooks/{hook_id}").status_code == 204
    deliver(hooked)
    assert receiver.requests == [] and [e["status"] for e in log(hooked)] == ["skipped"]
    assert hooked.delete(f"/_mock/webhooks/{hook_id}").status_code == 404


@pytest.mark.parametrize(
    "body",
    [
        {"url": "https://hooks.example.com/x", "events": ["Vendor.Created"], "secret": SECRET},
        {"url": "http://10.0.0.5/x", "events": ["Vendor.Created"], "secret": SECRET},
        {"url": "http://127.0.0.1:1/x", "events": ["vendor.created"], "secret": SECRET},
        {"url": "http://127.0.0.1:1/x", "events": ["Vendor.Created"], "secret": "short"},
        {"url": "http://127.0.0.1:1/x", "events": ["Vendor.Created"], "secret": SECRET, "org_id": "cborg_x"},
    ],
)
def test_registration_is_validated(api: Api, body: dict[str, Any]) -> None:
    assert api.post("/_mock/webhooks", json=body).status_code == 422


def test_secrets_are_never_shown(hooked: Api) -> None:
    assert SECRET not in hooked.get("/_mock/webhooks").text


def test_a_dead_receiver_does_not_delay_the_api() -> None:
    """Requests only enqueue: with a receiver that never answers, API calls still complete at once."""
    blocked = asyncio.Event()

    async def hang(request: httpx.Request) -> httpx.Response:
        await blocked.wait()
        return httpx.Response(200)

    runtime = build_runtime(webhook_transport=httpx.MockTransport(hang))
    api = Api(create_app(runtime))
    api.post(
        "/_mock/webhooks", json={"url": "http://127.0.0.1:1/x", "events": ["WorkflowRun.Created"], "secret": SECRET}
    )
    assert runtime.webhooks is not None

    async def scenario() -> list[int]:
        delivering = asyncio.ensure_future(runtime.webhooks.deliver_due()) if runtime.webhooks else None
        statuses = []
        for _ in range(3):
            r = await api.client.post("/v1/workflows/onboard-vendor/run", headers=auth())
            statuses.append(r.status_code)
        assert delivering is not None and not delivering.done()  # the delivery is still hanging...
        blocked.set()
        await delivering
        return statuses

    assert api.run(scenario()) == [201, 201, 201]  # ...while the API answered every call
    api.close()


def test_deliver_waits_for_the_attempts_the_background_worker_is_sending() -> None:
    """POST /_mock/webhooks/deliver makes the log complete up to now, also when the worker got there first."""
    answer = asyncio.Event()

    async def slow(request: httpx.Request) -> httpx.Response:
        await answer.wait()
        return httpx.Response(503)

    runtime = build_runtime(webhook_transport=httpx.MockTransport(slow))
    api = Api(create_app(runtime))
    api.post(
        "/_mock/webhooks", json={"url": "http://127.0.0.1:1/x", "events": ["WorkflowRun.Created"], "secret": SECRET}
    )
    assert runtime.webhooks is not None
    webhooks = runtime.webhooks

    async def scenario() -> tuple[int, list[tuple[int, str]]]:
        assert (await api.client.post("/v1/workflows/onboard-vendor/run", headers=auth())).status_code == 201
        worker = asyncio.ensure_future(webhooks.deliver_due())  # the background worker takes the attempt
        await asyncio.sleep(0)
        assert [a.status for a in webhooks.deliveries()] == ["sending"]
        deliver = asyncio.ensure_future(api.client.post("/_mock/webhooks/deliver"))
        await asyncio.sleep(0.05)
        assert not deliver.done()  # ...so the control call waits for its answer
        answer.set()
        attempted = (await deliver).json()["attempted"]
        await worker
        return attempted, [(a.attempt, a.status) for a in webhooks.deliveries()]

    attempted, log = api.run(scenario())
    assert attempted == 0  # nothing was left for the control call to send itself
    assert log == [(1, "error"), (2, "pending")]  # the 503 is in the log with its retry
    api.close()
