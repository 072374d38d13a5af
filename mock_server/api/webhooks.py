"""Handlers of the `webhooks` tag: subscriptions, test events and the delivery history."""

from __future__ import annotations

import dataclasses
from typing import Any

from ..execution import Outcome
from ..records import DELIVERY_OUTCOMES, DeliveryRecord, WebhookRecord
from ..runtime import Runtime
from ..spec import webhook_event_types, webhook_test_event
from ..webhooks import WebhookDispatcher, health, is_loopback_url
from .call import Call

MIN_SECRET_CHARACTERS = 16
DEFAULT_DELIVERIES_LIMIT = 50
MAX_DELIVERIES_LIMIT = 100
DEFAULT_TEST_PAYLOAD = {"test": True}


def _dispatcher(call: Call) -> WebhookDispatcher:
    if call.rt.webhooks is None:
        raise call.rt.errors.not_found_route()
    return call.rt.webhooks


def _check(rt: Runtime, body: dict[str, Any]) -> None:
    """The documented order: secret, then url, then events (only the fields given are checked)."""
    secret = body.get("secret")
    if secret is not None and len(secret) < MIN_SECRET_CHARACTERS:
        raise rt.errors.coded("weak_secret")
    url = body.get("url")
    if url is not None and not is_loopback_url(url):
        raise rt.errors.coded("invalid_url")
    events = body.get("events")
    if events is not None:
        catalog = webhook_event_types(rt.document)
        unknown = [event for event in dict.fromkeys(events) if event not in catalog]
        if unknown:
            raise rt.errors.coded("invalid_event_types", event_types=", ".join(unknown))


def _view(rt: Runtime, hook: WebhookRecord) -> dict[str, Any]:
    return {
        "id": hook.id,
        "url": hook.url,
        "events": list(hook.events),
        "description": hook.description,
        "enabled": hook.enabled,
        "created_at": hook.created_at,
        **health(rt.store.deliveries(hook.org_id, hook.id)),
    }


def _find(call: Call, webhook_id: str) -> WebhookRecord:
    hook = call.rt.store.get_webhook(call.org_id, webhook_id)
    if hook is None or hook.archived_at is not None:
        raise call.rt.errors.coded("webhook_not_found")
    return hook


def create_webhook(call: Call, body: dict[str, Any]) -> Outcome:
    rt = call.rt
    _check(rt, body)
    hook = WebhookRecord(
        org_id=call.org_id,
        id=rt.ids.new("cbwh"),
        url=body["url"],
        events=tuple(dict.fromkeys(body["events"])),
        secret=body["secret"],
        description=body.get("description"),
        enabled=bool(body.get("enabled", True)),
        created_at=rt.clock.now(),
        sequence=rt.store.next_sequence(),
    )
    rt.store.put_webhook(hook)
    return 201, _view(rt, hook)


def list_webhooks(call: Call) -> Outcome:
    rt = call.rt
    return 200, {"data": [_view(rt, h) for h in rt.store.webhooks(call.org_id) if h.archived_at is None]}


def update_webhook(call: Call, webhook_id: str, body: dict[str, Any]) -> Outcome:
    rt = call.rt
    hook = _find(call, webhook_id)
    given = {name: value for name, value in body.items() if value is not None}
    _check(rt, given)
    changes: dict[str, Any] = {
        name: given[name] for name in ("url", "secret", "description", "enabled") if name in given
    }
    if "events" in given:
        changes["events"] = tuple(dict.fromkeys(given["events"]))
    hook = dataclasses.replace(hook, **changes)
    rt.store.put_webhook(hook)
    return 200, _view(rt, hook)


def delete_webhook(call: Call, webhook_id: str) -> Outcome:
    rt = call.rt
    rt.store.put_webhook(dataclasses.replace(_find(call, webhook_id), archived_at=rt.clock.now()))
    return 204, None


def test_webhook(call: Call, webhook_id: str, body: dict[str, Any] | None) -> Outcome:
    rt = call.rt
    hook = _find(call, webhook_id)
    body = body or {}
    event_type = body.get("event_type", webhook_test_event(rt.document))
    payload = body.get("payload", DEFAULT_TEST_PAYLOAD)
    event_id = _dispatcher(call).send_test(hook, event_type, payload)
    return 200, {
        "event_id": event_id,
        "delivered": True,
        "response_status": None,
        "response_time_ms": None,
        "attempted_at": rt.clock.now(),
    }


def _item(attempt: DeliveryRecord) -> dict[str, Any]:
    return {
        "id": attempt.id,
        "webhook_id": attempt.webhook_id,
        "event_id": attempt.event_id,
        "event_type": attempt.event_type,
        "status": attempt.status,
        "response_status": attempt.response_status,
        "response_time_ms": attempt.response_time_ms,
        "error": attempt.error,
        "payload": attempt.payload,
        "attempted_at": attempt.attempted_at,
        "created_at": attempt.created_at,
    }


def list_webhook_deliveries(
    call: Call, webhook_id: str, limit: int = DEFAULT_DELIVERIES_LIMIT, offset: int = 0
) -> Outcome:
    hook = _find(call, webhook_id)
    limit = min(max(limit, 1), MAX_DELIVERIES_LIMIT)
    offset = max(offset, 0)
    made = [a for a in call.rt.store.deliveries(hook.org_id, hook.id) if a.status in DELIVERY_OUTCOMES]
    made.sort(key=lambda a: (a.attempted_at or 0, a.sequence), reverse=True)
    page = [_item(a) for a in made[offset : offset + limit]]
    return 200, {"data": page, "total": len(made), "limit": limit, "offset": offset}
