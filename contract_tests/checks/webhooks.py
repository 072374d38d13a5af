"""Webhooks: the management API (validation order, errors, test events, delivery history) and the deliveries a
receiver gets (envelope, signature, headers).

A real deployment accepts only public HTTPS URLs, the mock only loopback ones (its Decision webhook-url-loopback):
subscriptions are made with the URL the target accepts (`webhook_url` in --target; the mock's own from its
fixtures), never a loopback one on a deployment, and the suite deletes every subscription it makes. Receiving a
delivery needs a receiver the target can reach: only a mock on this machine.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import queue
import secrets
import threading
import time
from collections.abc import Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from .. import expect
from ..client import Reply
from ..context import NAME_PREFIX, Context
from ..outcome import Skip
from .registry import check

ENVELOPE_KEYS = {"event_id", "event_type", "occurred_at", "data"}
RUN_CREATED_DATA = "webhook-workflow-run-created-data"
LOOPBACK_ONLY = "webhook-url-loopback"
DELETE_ARCHIVES = "webhook-delete-archives"
EVENT_TYPES_MESSAGE = "invalid-event-types-message"
HISTORY_ATTEMPTS_MADE = "webhook-deliveries-list-attempts-made"
RECEIVE_TIMEOUT_SECONDS = 20.0
POLL_SECONDS = 0.05
# Refused by both: production wants HTTPS (and no metadata address), the mock a loopback host.
REFUSED_URLS = ("http://example.com/coverbase-contract", "https://169.254.169.254/latest/meta-data")
ALWAYS = ["listWebhooks", "createWebhook", "updateWebhook", "deleteWebhook", "testWebhook", "listWebhookDeliveries"]


def _secret() -> str:
    return "coverbase-contract-" + secrets.token_hex(8)


def _catalog(ctx: Context) -> list[str]:
    return sorted(ctx.doc.raw["x-webhook-events"]["events"])


def _listed(ctx: Context) -> list[str]:
    reply = ctx.client.request("GET", ctx.doc.path("listWebhooks"))
    expect.status(reply, 200, "list the subscriptions")
    return [str(h.get("id")) for h in expect.get(reply, "/data", list) if isinstance(h, dict)]


@check("webhooks.api", requires=ALWAYS)
def webhooks_api(ctx: Context) -> str:
    """Webhooks API: validation order and errors, create/list/update/delete, test events, clamped history."""
    doc = ctx.doc
    create = doc.path("createWebhook")
    events = _catalog(ctx)[:2]
    _listed(ctx)
    weak = ctx.client.request("POST", create, json_body={"url": REFUSED_URLS[0], "events": ["nope"], "secret": "short"})
    expect.coded(weak, doc.coded_error("weak_secret"), "a short secret is checked first (then url, then events)")
    for url in REFUSED_URLS:
        ctx.begin_example()
        refused = ctx.client.request("POST", create, json_body={"url": url, "events": ["nope"], "secret": _secret()})
        expect.coded(refused, doc.coded_error("invalid_url"), f"{url}: refused, checked before the events")
    ctx.begin_example()
    missing = "cbwh_" + secrets.token_hex(16)
    for method, op in (("PATCH", "updateWebhook"), ("DELETE", "deleteWebhook"), ("POST", "testWebhook")):
        reply = ctx.client.request(
            method, doc.path(op, webhook_id=missing), json_body={} if method == "PATCH" else None
        )
        expect.coded(reply, doc.coded_error("webhook_not_found"), f"{op} of a missing subscription")
    reply = ctx.client.request("GET", doc.path("listWebhookDeliveries", webhook_id=missing))
    expect.coded(reply, doc.coded_error("webhook_not_found"), "the history of a missing subscription")
    accepted = ctx.env.objects.webhook_url
    if accepted is None:
        return "validation order, refused URLs, 404s (no webhook_url in --target: no subscription made)"
    _subscription(ctx, accepted, events)
    return "validation order, refused URLs, 404s, create/list/update/delete, test event, clamped history"


def _subscription(ctx: Context, url: str, events: list[str]) -> None:
    doc = ctx.doc
    create = doc.path("createWebhook")
    ctx.begin_example()
    for wrong in (["vendor.created"], ["webhook.test"], [events[0], "Not.AnEvent"]):
        bad = ctx.client.request("POST", create, json_body={"url": url, "events": wrong, "secret": _secret()})
        expect.coded_as(bad, doc.coded_error("invalid_event_types"), f"events {wrong} are not in the catalog")
    bad = ctx.client.request(
        "POST", create, json_body={"url": url, "events": ["nope", "Nope.Either"], "secret": _secret()}
    )
    expect.coded(
        bad,
        doc.coded_error("invalid_event_types"),
        "the unsupported values are named",
        decision=EVENT_TYPES_MESSAGE,
        event_types="nope, Nope.Either",
    )

    ctx.begin_example()
    secret = _secret()
    body = {"url": url, "events": events, "secret": secret, "description": NAME_PREFIX + "webhook", "enabled": False}
    created = ctx.client.request("POST", create, json_body=body)
    expect.premise_status(created, 201, "a new subscription")
    hook_id = str(expect.get(created, "/id", str))
    deleted: list[bool] = []
    try:
        _lifecycle(ctx, hook_id, created, body, secret, deleted)
    finally:
        if not deleted:  # never leave a subscription behind on the target
            ctx.client.request("DELETE", doc.path("deleteWebhook", webhook_id=hook_id))


def _lifecycle(
    ctx: Context, hook_id: str, created: Reply, body: dict[str, Any], secret: str, deleted: list[bool]
) -> None:
    doc = ctx.doc
    expect.fields(
        created,
        {
            "/url": body["url"],
            "/events": body["events"],
            "/enabled": False,
            "/description": body["description"],
            "/delivery_count": 0,
            "/last_delivery_status": None,
            "/delivery_success_rate": None,
        },
        "the new subscription",
    )
    expect.true(secret not in created.exchange.response_text, "the secret is never returned", created)
    expect.true(hook_id in _listed(ctx), "a new subscription is listed", created)

    path = doc.path("updateWebhook", webhook_id=hook_id)
    updated = ctx.client.request("PATCH", path, json_body={"events": body["events"][:1], "description": None})
    expect.status(updated, 200, "change a subscription")
    expect.fields(
        updated, {"/events": body["events"][:1], "/description": body["description"]}, "events replaced, null unchanged"
    )
    weak = ctx.client.request("PATCH", path, json_body={"secret": "short"})
    expect.coded(weak, doc.coded_error("weak_secret"), "a short secret rotation")

    ctx.begin_example()
    tested = ctx.client.request("POST", doc.path("testWebhook", webhook_id=hook_id))
    expect.status(tested, 200, "send a test event")
    expect.fields(
        tested, {"/delivered": True, "/response_status": None, "/response_time_ms": None}, "a queued test event"
    )
    history = doc.path("listWebhookDeliveries", webhook_id=hook_id)
    for params, limit, offset in (([("limit", "0")], 1, 0), ([("limit", "1000")], 100, 0), ([("offset", "-5")], 50, 0)):
        page = ctx.client.request("GET", history, params=params)
        expect.status(page, 200, f"the history with {params}: clamped, never rejected")
        expect.fields(page, {"/limit": limit, "/offset": offset}, "the effective limit and offset")

    ctx.begin_example()
    gone = ctx.client.request("DELETE", doc.path("deleteWebhook", webhook_id=hook_id))
    deleted.append(gone.status == 204)
    expect.status(gone, 204, "delete a subscription")
    expect.true(hook_id not in _listed(ctx), "a deleted subscription is not listed", gone)
    again = ctx.client.request("DELETE", doc.path("deleteWebhook", webhook_id=hook_id))
    expect.coded(again, doc.coded_error("webhook_not_found"), "delete it again", decision=DELETE_ARCHIVES)


class _Receiver:
    """A loopback HTTP endpoint that records what it receives."""

    def __init__(self) -> None:
        self.received: queue.Queue[tuple[dict[str, str], bytes]] = queue.Queue()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                outer.received.put(({k.lower(): v for k, v in self.headers.items()}, raw))
                self.send_response(204)
                self.end_headers()

            def log_message(self, format: str, *args: object) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/coverbase-contract"

    def __enter__(self) -> _Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def _delivery_requirements(ctx: Context) -> Iterable[str]:
    return ["createWebhook", "runWorkflow", "listWebhookDeliveries", "deleteWebhook"]


@check("webhooks.delivery", requires=_delivery_requirements)
def webhooks_delivery(ctx: Context) -> str:
    """A receiver subscribed with POST /v1/webhooks gets the documented envelope, signature and headers."""
    if not ctx.env.control_plane:
        raise Skip(
            "needs a receiver the target can reach: a deployment delivers only to public HTTPS URLs, the mock to"
            " loopback ones (Decision webhook-url-loopback)"
        )
    host = urlsplit(ctx.client.base_url).hostname or ""
    if ctx.app is None and host not in ("127.0.0.1", "localhost", "::1"):
        raise Skip("the target is not on this machine: it cannot reach a local receiver")
    secret = secrets.token_hex(16)
    with _Receiver() as receiver:
        subscribed = ctx.client.request(
            "POST",
            ctx.doc.path("createWebhook"),
            json_body={"url": receiver.url, "events": ["WorkflowRun.Created"], "secret": secret},
        )
        expect.premise_status(subscribed, 201, "a receiver subscribed (a loopback URL, the mock's Decision)")
        subscription = str(expect.get(subscribed, "/id", str))
        try:
            run = ctx.start_run()
            expect.premise_status(run, 201, "a new run to raise WorkflowRun.Created")
            deadline = time.monotonic() + RECEIVE_TIMEOUT_SECONDS
            headers: dict[str, str] = {}
            raw = b""
            while time.monotonic() < deadline:
                ctx.client.control("POST", "/_mock/webhooks/deliver")
                try:
                    headers, raw = receiver.received.get(timeout=0.5)
                    break
                except queue.Empty:
                    continue
            expect.true(bool(raw), f"no delivery reached the receiver within {RECEIVE_TIMEOUT_SECONDS:g} s", run)
            history = _history_after_delivery(ctx, subscription)
        finally:
            ctx.client.request("DELETE", ctx.doc.path("deleteWebhook", webhook_id=subscription))
    signature = hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()
    expect.true(
        hmac.compare_digest(signature, headers.get("coverbase-signature", "")),
        "Coverbase-Signature is not the HMAC-SHA256 of the raw body",
        run,
    )
    try:
        envelope: Any = json.loads(raw)
    except ValueError:
        envelope = None
    expect.true(isinstance(envelope, dict), f"the delivery is not a JSON object: {raw[:200]!r}", run)
    data = envelope.get("data") if isinstance(envelope.get("data"), dict) else {}
    expect.equal(sorted(envelope), sorted(ENVELOPE_KEYS), "the envelope's keys", run)
    expect.equal(envelope.get("event_type"), "WorkflowRun.Created", "the event type", run)
    expect.equal(data.get("event_type"), envelope.get("event_type"), "data echoes event_type", run)
    expect.equal(
        data.get("workflow_run_id"),
        expect.get(run, "/workflow_run_id"),
        "the event's run",
        run,
        decision=RUN_CREATED_DATA,
    )
    expect.equal(headers.get("x-coverbase-event-id"), envelope.get("event_id"), "X-Coverbase-Event-Id", run)
    expect.equal(headers.get("x-coverbase-event-type"), envelope.get("event_type"), "X-Coverbase-Event-Type", run)
    expect.true(headers.get("content-type", "").startswith("application/json"), "Content-Type of the delivery", run)
    expect.equal(
        [(d.get("event_id"), d.get("status")) for d in history if isinstance(d, dict)][:1],
        [(envelope.get("event_id"), "delivered")],
        "the delivery history shows the attempt the receiver answered 2xx",
        run,
        decision=HISTORY_ATTEMPTS_MADE,
    )
    return "envelope keys, signature over the raw body, event headers, the attempt in the history"


def _history_after_delivery(ctx: Context, subscription: str) -> list[Any]:
    """The subscription's history once the worker recorded the outcome (the receiver got the body first)."""
    path = ctx.doc.path("listWebhookDeliveries", webhook_id=subscription)
    deadline = time.monotonic() + RECEIVE_TIMEOUT_SECONDS
    while True:
        reply = ctx.client.request("GET", path)
        expect.status(reply, 200, "the subscription's delivery history")
        data = expect.get(reply, "/data", list)
        if data or time.monotonic() > deadline:
            return list(data)
        time.sleep(POLL_SECONDS)  # the worker that sent it records the outcome right after the receiver answered
