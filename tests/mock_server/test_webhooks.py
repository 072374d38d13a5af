"""Webhooks: the API (POST/GET/PATCH/DELETE /v1/webhooks, test, deliveries), envelope, signature, retries on the
virtual clock, attempts in the store (one transaction with the call, claims), non-blocking delivery."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from freezegun import freeze_time

from mock_server import spec
from mock_server.app import create_app
from mock_server.clock import VirtualClock
from mock_server.fixtures import load_fixtures
from mock_server.ids import SequentialIds
from mock_server.runtime import Runtime, build_runtime
from mock_server.store.sqlite import SqliteDatabase, SqliteStore
from mock_server.webhooks import DeliveryPolicy, WebhookDispatcher, sign, verify
from tests.support.api import ORG1_CONTROL_SET, ORG1_VENDOR, ORG2_KEY, Api, auth

POLICY = DeliveryPolicy.from_document(spec.load_control_document())
SECRET = "whsec_local_rehearsal_0001"
RECEIVER = "http://127.0.0.1:8765/coverbase"
ALL_EVENTS = ["Vendor.Created", "Assessment.Created", "Assessment.StatusChanged", "WorkflowRun.Created"]
FIXTURE_HOOK = "cbwh_5a7c9e1b3d5f7a9c1e3b5d7f9a1c3e5b"


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

    def events(self) -> list[dict[str, Any]]:
        return [json.loads(r.content) for r in self.requests]


def subscribe(api: Api, events: list[str] | None = None, **extra: Any) -> httpx.Response:
    body = {"url": RECEIVER, "events": events or ALL_EVENTS, "secret": SECRET, **extra}
    return api.post("/v1/webhooks", json=body, headers=auth())


def mock(receiver: Receiver, **kwargs: Any) -> tuple[Runtime, Api]:
    runtime = build_runtime(webhook_transport=httpx.MockTransport(receiver), **kwargs)
    return runtime, Api(create_app(runtime))


@pytest.fixture
def receiver() -> Receiver:
    return Receiver([200])


@pytest.fixture
def hooked(receiver: Receiver) -> Any:
    _, client = mock(receiver)
    assert subscribe(client).status_code == 201
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
    assert receiver.requests == []  # the request only queued the delivery
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
        "/v1/assessments", headers=auth(), json={"vendor_id": ORG1_VENDOR, "control_set_ids": []}
    ).json()
    hooked.delete(f"/v1/assessments/{created['id']}", headers=auth())
    deliver(hooked)
    events = receiver.events()
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
    _, api = mock(receiver)
    subscribe(api, ["WorkflowRun.Created"])
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
    bodies = receiver.events()
    assert len({b["occurred_at"] for b in bodies}) == POLICY.max_attempts  # each retry is signed anew
    api.post("/_mock/clock", json={"advance_seconds": 10**6})
    assert deliver(api) == 0
    api.close()


@pytest.mark.parametrize("status", [400, 404, 410])
def test_other_answers_are_final(status: int) -> None:
    receiver = Receiver([status])
    _, api = mock(receiver)
    subscribe(api, ["WorkflowRun.Created"])
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
    hooked.post("/v1/workflows/quarterly-privacy-sweep/run", headers=auth(ORG2_KEY))
    assert deliver(hooked) == 0 and receiver.requests == []
    # The other org cannot see, change or delete the first org's subscription.
    hook_id = hooked.get("/v1/webhooks", headers=auth()).json()["data"][-1]["id"]
    assert all(h["id"] != hook_id for h in hooked.get("/v1/webhooks", headers=auth(ORG2_KEY)).json()["data"])
    theirs = hooked.delete(f"/v1/webhooks/{hook_id}", headers=auth(ORG2_KEY))
    assert theirs.status_code == 404 and theirs.json()["detail"]["code"] == "webhook_not_found"


def test_deleted_subscription_skips_pending_attempts(hooked: Api, receiver: Receiver) -> None:
    hook_id = hooked.get("/v1/webhooks", headers=auth()).json()["data"][-1]["id"]
    hooked.post("/v1/workflows/onboard-vendor/run", headers=auth())
    assert hooked.delete(f"/v1/webhooks/{hook_id}", headers=auth()).status_code == 204
    deliver(hooked)
    assert receiver.requests == [] and [e["status"] for e in log(hooked)] == ["skipped"]
    again = hooked.delete(f"/v1/webhooks/{hook_id}", headers=auth())
    assert again.status_code == 404 and again.json()["detail"]["code"] == "webhook_not_found"
    assert hook_id not in [h["id"] for h in hooked.get("/v1/webhooks", headers=auth()).json()["data"]]
    view = [h for h in hooked.get("/_mock/webhooks").json()["data"] if h["id"] == hook_id]
    assert [h["archived"] for h in view] == [True]


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"url": "https://hooks.example.com/x", "events": ["Vendor.Created"], "secret": SECRET}, 400, "invalid_url"),
        ({"url": "http://10.0.0.5/x", "events": ["Vendor.Created"], "secret": SECRET}, 400, "invalid_url"),
        ({"url": "http://u:p@127.0.0.1:1/x", "events": ["Vendor.Created"], "secret": SECRET}, 400, "invalid_url"),
        ({"url": RECEIVER, "events": ["vendor.created"], "secret": SECRET}, 422, "invalid_event_types"),
        ({"url": RECEIVER, "events": ["webhook.test"], "secret": SECRET}, 422, "invalid_event_types"),
        ({"url": RECEIVER, "events": ["Vendor.Created"], "secret": "fifteen-chars!!"}, 400, "weak_secret"),
        # The documented order: secret, then url, then events.
        ({"url": "http://10.0.0.5/x", "events": ["nope"], "secret": "short"}, 400, "weak_secret"),
        ({"url": "http://10.0.0.5/x", "events": ["nope"], "secret": SECRET}, 400, "invalid_url"),
    ],
)
def test_subscription_is_validated_in_the_documented_order(
    api: Api, body: dict[str, Any], status: int, code: str
) -> None:
    before = api.get("/v1/webhooks", headers=auth()).json()["data"]
    r = api.post("/v1/webhooks", json=body, headers=auth())
    assert (r.status_code, r.json()["detail"]["code"]) == (status, code)
    assert api.get("/v1/webhooks", headers=auth()).json()["data"] == before, "a rejected subscription is not made"


def test_invalid_event_types_are_named(api: Api) -> None:
    r = api.post(
        "/v1/webhooks",
        json={"url": RECEIVER, "events": ["Vendor.Created", "vendor.created", "Bogus", "vendor.created"]},
        headers=auth(),
    )
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "secret"]  # the schema comes first
    r = api.post(
        "/v1/webhooks",
        json={"url": RECEIVER, "secret": SECRET, "events": ["Vendor.Created", "vendor.created", "Bogus"]},
        headers=auth(),
    )
    assert r.json() == {
        "detail": {"code": "invalid_event_types", "message": "Unsupported event type(s): vendor.created, Bogus."}
    }


@pytest.mark.parametrize(
    "url",
    [
        "http://[127.0.0.1]/h",
        "http://[::1/h",
        "http://[/h",
        "http://[x]/h",
        "http://127.0.0.1:abc/h",
        "http://127.0.0.1:99999/h",
        "http://127.0.0.1:0/h",
        "ftp://127.0.0.1/h",
        "http://0x7f000001/h",
        "not a url",
        "",
    ],
)
def test_odd_urls_are_invalid_url_never_a_500(api: Api, url: str) -> None:
    r = api.post("/v1/webhooks", json={"url": url, "events": ["Vendor.Created"], "secret": SECRET}, headers=auth())
    assert r.status_code == 400 and r.json()["detail"]["code"] == "invalid_url"
    patched = api.request("PATCH", f"/v1/webhooks/{FIXTURE_HOOK}", json={"url": url}, headers=auth())
    assert patched.status_code == 400 and patched.json()["detail"]["code"] == "invalid_url"


@pytest.mark.parametrize("url", ["http://localhost:8765/x", "https://127.0.0.1/x", "http://[::1]:8080/x"])
def test_loopback_urls_are_accepted(api: Api, url: str) -> None:
    r = api.post("/v1/webhooks", json={"url": url, "events": ["Vendor.Created"], "secret": SECRET}, headers=auth())
    assert r.status_code == 201 and r.json()["url"] == url


def test_the_subscription_shape_and_secrets_never_shown(hooked: Api) -> None:
    created = subscribe(hooked, ["Vendor.Created"], description="second").json()
    assert set(created) == {
        "id",
        "url",
        "events",
        "description",
        "enabled",
        "created_at",
        "last_delivery_status",
        "delivery_success_rate",
        "delivery_count",
    }
    assert created["enabled"] is True and created["delivery_count"] == 0 and created["last_delivery_status"] is None
    for text in (
        hooked.get("/v1/webhooks", headers=auth()).text,
        hooked.get("/_mock/webhooks").text,
        json.dumps(created),
    ):
        assert SECRET not in text


def test_patch_changes_only_what_is_given(hooked: Api, receiver: Receiver) -> None:
    hook = subscribe(hooked, ["Vendor.Created"], description="keep me").json()
    path = f"/v1/webhooks/{hook['id']}"
    r = hooked.request("PATCH", path, json={"events": ["WorkflowRun.Created"], "description": None}, headers=auth())
    assert r.status_code == 200
    assert r.json()["events"] == ["WorkflowRun.Created"] and r.json()["description"] == "keep me"
    r = hooked.request("PATCH", path, json={"secret": "rotated-secret-0002", "enabled": False}, headers=auth())
    assert r.json()["enabled"] is False
    assert hooked.request("PATCH", path, json={"secret": "short"}, headers=auth()).json()["detail"]["code"] == (
        "weak_secret"
    )
    hooked.request("PATCH", path, json={"enabled": True}, headers=auth())
    receiver.requests.clear()
    hooked.post("/v1/workflows/onboard-vendor/run", headers=auth())
    deliver(hooked)
    signed = [
        r for r in receiver.requests if r.headers["coverbase-signature"] == sign("rotated-secret-0002", r.content)
    ]
    assert len(signed) == 1, "the rotated secret signs the deliveries"


def test_disabled_subscriptions_receive_nothing(api: Api, receiver: Receiver) -> None:
    _, client = mock(receiver)
    hook = subscribe(client, ["WorkflowRun.Created"], enabled=False).json()
    client.post("/v1/workflows/onboard-vendor/run", headers=auth())
    assert deliver(client) == 0 and receiver.requests == []
    assert client.get(f"/v1/webhooks/{hook['id']}/deliveries", headers=auth()).json()["total"] == 0
    client.close()


def test_test_event_and_delivery_history(hooked: Api, receiver: Receiver) -> None:
    hook = hooked.get("/v1/webhooks", headers=auth()).json()["data"][-1]
    r = hooked.post(f"/v1/webhooks/{hook['id']}/test", headers=auth())
    assert r.status_code == 200
    body = r.json()
    assert body["event_id"].startswith("cbevt_test_") and body["delivered"] is True
    assert body["response_status"] is None and body["response_time_ms"] is None
    assert receiver.requests == [] and deliver(hooked) == 1
    envelope = receiver.events()[0]
    assert envelope["event_type"] == "webhook.test" and envelope["data"] == {"test": True}
    custom = hooked.post(
        f"/v1/webhooks/{hook['id']}/test", json={"event_type": "Whatever.Happened", "payload": {"a": 1}}, headers=auth()
    )
    assert custom.status_code == 200
    deliver(hooked)
    assert receiver.events()[1]["event_type"] == "Whatever.Happened" and receiver.events()[1]["data"] == {"a": 1}
    history = hooked.get(f"/v1/webhooks/{hook['id']}/deliveries", headers=auth()).json()
    assert history["total"] == 2 and [d["event_type"] for d in history["data"]] == ["Whatever.Happened", "webhook.test"]
    listed = next(h for h in hooked.get("/v1/webhooks", headers=auth()).json()["data"] if h["id"] == hook["id"])
    assert (listed["delivery_count"], listed["delivery_success_rate"], listed["last_delivery_status"]) == (
        2,
        1.0,
        "delivered",
    )


def test_a_test_event_is_attempted_once(receiver: Receiver) -> None:
    receiver.statuses[:] = [503]
    _, api = mock(receiver)
    hook = subscribe(api, ["Vendor.Created"]).json()
    api.post(f"/v1/webhooks/{hook['id']}/test", headers=auth())
    deliver(api)
    api.post("/_mock/clock", json={"advance_seconds": 10**6})
    assert deliver(api) == 0 and len(receiver.requests) == 1
    api.close()


def test_health_aggregates_count_the_attempts_made(receiver: Receiver) -> None:
    receiver.statuses[:] = [500, 200, 200]
    _, api = mock(receiver)
    hook = subscribe(api, ["WorkflowRun.Created"]).json()
    api.post("/v1/workflows/onboard-vendor/run", headers=auth())
    deliver(api)  # error, a retry queued (not counted)
    listed = api.get("/v1/webhooks", headers=auth()).json()["data"][-1]
    assert (listed["delivery_count"], listed["delivery_success_rate"], listed["last_delivery_status"]) == (
        1,
        0.0,
        "error",
    )
    api.post("/_mock/clock", json={"advance_seconds": POLICY.waits_seconds[0]})
    api.post("/v1/workflows/onboard-vendor/run", headers=auth())
    deliver(api)
    listed = api.get("/v1/webhooks", headers=auth()).json()["data"][-1]
    assert (listed["delivery_count"], listed["delivery_success_rate"]) == (3, 0.6667)
    history = api.get(f"/v1/webhooks/{hook['id']}/deliveries", headers=auth()).json()
    assert [d["status"] for d in history["data"]][-1] == "error"  # newest first: the first attempt last
    api.close()


@pytest.mark.parametrize(
    ("query", "limit", "offset"),
    [("", 50, 0), ("?limit=0", 1, 0), ("?limit=1000", 100, 0), ("?limit=-3&offset=-5", 1, 0), ("?offset=7", 50, 7)],
)
def test_delivery_history_clamps_limit_and_offset(api: Api, query: str, limit: int, offset: int) -> None:
    r = api.get(f"/v1/webhooks/{FIXTURE_HOOK}/deliveries{query}", headers=auth())
    assert r.status_code == 200
    assert (r.json()["limit"], r.json()["offset"]) == (limit, offset)


def test_unknown_subscriptions_are_404(api: Api) -> None:
    for method, suffix in (("PATCH", ""), ("DELETE", ""), ("POST", "/test"), ("GET", "/deliveries")):
        r = api.request(
            method, f"/v1/webhooks/cbwh_nope{suffix}", json={} if method == "PATCH" else None, headers=auth()
        )
        assert r.status_code == 404 and r.json() == {
            "detail": {"code": "webhook_not_found", "message": "Webhook not found."}
        }


def test_attempts_commit_with_the_execution_or_not_at_all(tmp_path: Path) -> None:
    """The dispatcher writes attempts into the caller's transaction: a rollback leaves no attempt (both stores)."""
    for runtime in (build_runtime(), _sqlite_runtime(tmp_path)):
        org = runtime.fixtures.orgs[0].id
        hook = _enable_fixture_hook(runtime)
        assert runtime.webhooks is not None

        class Boom(Exception):
            pass

        with pytest.raises(Boom), runtime.store.transaction():
            runtime.webhooks.publish(org, "Vendor.Created", {"vendor_id": "cbvndr_" + "1" * 32})
            assert len(runtime.store.deliveries(org, hook)) == 1
            raise Boom
        assert runtime.store.deliveries(org, hook) == []
        runtime.webhooks.publish(org, "Vendor.Created", {"vendor_id": "cbvndr_" + "1" * 32})
        assert len(runtime.store.deliveries(org, hook)) == 1
        runtime.close()


def _sqlite_runtime(tmp_path: Path) -> Runtime:
    from mock_server.settings import Settings

    return build_runtime(Settings(state_path=tmp_path / "state.db"))


def _enable_fixture_hook(runtime: Runtime) -> str:
    import dataclasses

    org = runtime.fixtures.orgs[0].id
    hook = runtime.store.get_webhook(org, FIXTURE_HOOK)
    assert hook is not None
    runtime.store.put_webhook(dataclasses.replace(hook, enabled=True))
    return hook.id


class LeaseClock:
    """Real seconds, moved by the test."""

    def __init__(self, now: int) -> None:
        self.value = now

    def now(self) -> int:
        return self.value


def test_replicas_sharing_a_database_claim_each_attempt_once(tmp_path: Path) -> None:
    """Two mock processes on one database: a due attempt is claimed by exactly one; when its claimant dies (the
    lease lapses), the other takes it over and delivers; the dead one's late outcome is discarded."""
    fixtures = load_fixtures(None, spec.load_document())
    database = SqliteDatabase(tmp_path / "shared.db")
    store_a, store_b = SqliteStore(database, fixtures), SqliteStore(tmp_path / "shared.db", fixtures)
    lease = LeaseClock(1_000)
    clock = VirtualClock(offsets=store_a)
    receiver = Receiver([200])
    transport = httpx.MockTransport(receiver)
    a = WebhookDispatcher(POLICY, clock, SequentialIds(), store_a, transport, lease_clock=lease)
    b = WebhookDispatcher(POLICY, clock, SequentialIds(10**6), store_b, transport, lease_clock=lease)
    org = fixtures.orgs[0].id
    hook = store_a.get_webhook(org, FIXTURE_HOOK)
    assert hook is not None
    import dataclasses

    store_a.put_webhook(dataclasses.replace(hook, enabled=True))
    with store_a.transaction():
        a.publish(org, "Vendor.Created", {"vendor_id": "cbvndr_" + "1" * 32})
    claimed = a.claim_due()
    assert [c.claimed_by for c in claimed] == [a.worker_id]
    assert b.claim_due() == [], "a claim holds: the other replica takes nothing"
    lease.value += POLICY.lease_seconds + 1  # replica a died while sending
    assert asyncio.run(b.deliver_due()) == 1 and len(receiver.requests) == 1
    [done] = store_b.deliveries(org, FIXTURE_HOOK)
    assert done.status == "delivered" and done.claimed_by == b.worker_id
    late = dataclasses.replace(claimed[0], status="error", error="late")
    assert store_a.finish_delivery(late, None) is False, "the lapsed claimant's outcome is discarded"
    assert store_b.deliveries(org, FIXTURE_HOOK)[0].status == "delivered"
    store_b.close()
    database.close()


def test_status_changes_are_published_at_their_own_time(hooked: Api, receiver: Receiver) -> None:
    """A jump over the whole progress publishes every change, in order, each due when it happened."""
    with freeze_time("2026-05-07 00:00:00", real_asyncio=True):
        created = hooked.post(
            "/v1/assessments", headers=auth(), json={"vendor_id": ORG1_VENDOR, "control_set_ids": [ORG1_CONTROL_SET]}
        ).json()
        hooked.post("/_mock/clock", json={"advance_seconds": 86400})
        changes = [e for e in log(hooked) if e["event_type"] == "Assessment.StatusChanged"]
        assert [(e["payload"]["old_status"], e["payload"]["new_status"]) for e in changes] == [
            ("created", "collecting_documents"),
            ("collecting_documents", "indexing_supporting_documents"),
            ("indexing_supporting_documents", "analyzing_questionnaire"),
            ("analyzing_questionnaire", "review_evals"),
            ("review_evals", "complete"),
        ]
        assert [e["due_at"] - created["created_at"] for e in changes] == [60, 660, 960, 2760, 3660]
        hooked.post("/_mock/clock", json={"advance_seconds": 86400})
        assert len([e for e in log(hooked) if e["event_type"] == "Assessment.StatusChanged"]) == 5, "published once"
        deliver(hooked)
    got = [e["data"]["new_status"] for e in receiver.events() if e["event_type"] == "Assessment.StatusChanged"]
    assert got[-1] == "complete" and len(got) == 5


def test_a_dead_receiver_does_not_delay_the_api() -> None:
    """Requests only queue attempts: with a receiver that never answers, API calls still complete at once."""
    blocked = asyncio.Event()

    async def hang(request: httpx.Request) -> httpx.Response:
        await blocked.wait()
        return httpx.Response(200)

    runtime = build_runtime(webhook_transport=httpx.MockTransport(hang))
    api = Api(create_app(runtime))
    subscribe(api, ["WorkflowRun.Created"])
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
    assert subscribe(api, ["WorkflowRun.Created"]).status_code == 201
    assert runtime.webhooks is not None
    webhooks = runtime.webhooks
    sent = [d.id for d in runtime.store.deliveries()]

    async def scenario() -> tuple[int, list[tuple[int, str]]]:
        assert (await api.client.post("/v1/workflows/onboard-vendor/run", headers=auth())).status_code == 201
        worker = asyncio.ensure_future(webhooks.deliver_due())  # the background worker takes the attempt
        await asyncio.sleep(0)
        assert [d.status for d in runtime.store.deliveries() if d.id not in sent] == ["sending"]
        deliver = asyncio.ensure_future(api.client.post("/_mock/webhooks/deliver"))
        await asyncio.sleep(0.05)
        assert not deliver.done()  # ...so the control call waits for its answer
        answer.set()
        attempted = (await deliver).json()["attempted"]
        await worker
        return attempted, [(d.attempt, d.status) for d in runtime.store.deliveries() if d.id not in sent]

    attempted, log = api.run(scenario())
    assert attempted == 0  # nothing was left for the control call to send itself
    assert log == [(1, "error"), (2, "pending")]  # the 503 is in the log with its retry
    api.close()


def test_a_test_event_type_of_any_text_is_delivered(receiver: Receiver) -> None:
    """A test event's type is free text: non-ASCII and control characters are percent-encoded in its header."""
    _, api = mock(receiver)
    hook = subscribe(api, ["Vendor.Created"]).json()
    r = api.post(f"/v1/webhooks/{hook['id']}/test", json={"event_type": "Événement\r\nX: 1"}, headers=auth())
    assert r.status_code == 200 and deliver(api) == 1
    request = receiver.requests[0]
    assert request.headers["x-coverbase-event-type"] == "%C3%89v%C3%A9nement%0D%0AX:%201"
    assert json.loads(request.content)["event_type"] == "Événement\r\nX: 1"
    assert log(api)[0]["status"] == "delivered"
    api.close()


def test_an_attempt_that_cannot_be_sent_is_an_error_not_a_dead_worker() -> None:
    def broken(request: httpx.Request) -> httpx.Response:
        raise RuntimeError("the transport broke")

    runtime, api = mock(Receiver([200]))
    runtime.webhooks = WebhookDispatcher(
        POLICY, runtime.clock, SequentialIds(), runtime.store, httpx.MockTransport(broken)
    )
    subscribe(api, ["WorkflowRun.Created"])
    api.post("/v1/workflows/onboard-vendor/run", headers=auth())
    assert deliver(api) == 1
    [entry] = log(api)
    assert (entry["status"], entry["error"]) == ("error", "could not be sent: RuntimeError")
    api.close()


def test_attempts_are_forgotten_after_the_retention(hooked: Api) -> None:
    hook_id = hooked.get("/v1/webhooks", headers=auth()).json()["data"][-1]["id"]
    hooked.post("/v1/workflows/onboard-vendor/run", headers=auth())
    deliver(hooked)
    assert hooked.get(f"/v1/webhooks/{hook_id}/deliveries", headers=auth()).json()["total"] == 1
    hooked.post("/_mock/clock", json={"advance_seconds": POLICY.retention_seconds + 1})
    deliver(hooked)
    assert hooked.get(f"/v1/webhooks/{hook_id}/deliveries", headers=auth()).json()["total"] == 0
