"""Handlers of the control plane: health, reset, clock, journal, fixtures, rehearsals, webhooks."""

from __future__ import annotations

from typing import Any

from connexion.context import scope

from .. import __version__, spec
from ..clock import ClockWouldGoBackwards
from ..errors import ErrorFactory
from ..runtime import Runtime, from_scope
from ..webhooks import WebhookDispatcher, is_loopback_url


def _rt() -> Runtime:
    return from_scope(scope)


def _clock(rt: Runtime) -> dict[str, int]:
    return {"now": rt.clock.now(), "offset_seconds": rt.clock.offset}


async def health() -> tuple[dict[str, Any], int]:
    rt = _rt()
    version = str(rt.document["info"]["version"])
    return {"status": "ok", "version": __version__, "api_version": version, "now": rt.clock.now()}, 200


async def reset() -> tuple[dict[str, Any], int]:
    rt = _rt()
    rt.reset()
    return _clock(rt), 200


async def get_clock() -> tuple[dict[str, Any], int]:
    return _clock(_rt()), 200


async def set_clock(body: dict[str, Any]) -> tuple[dict[str, Any], int]:
    rt = _rt()
    try:
        if "advance_seconds" in body:
            rt.clock.advance(int(body["advance_seconds"]))
        else:
            rt.clock.set(int(body["set"]))
    except ClockWouldGoBackwards as exc:
        field = "advance_seconds" if "advance_seconds" in body else "set"
        raise ErrorFactory.validation([ErrorFactory.validation_item(["body", field], str(exc), "value_error")]) from exc
    return _clock(rt), 200


async def list_requests(limit: int = 100) -> tuple[dict[str, Any], int]:
    entries = _rt().store.journal()
    return {"data": entries[-limit:], "total": len(entries)}, 200


async def clear_requests() -> tuple[None, int]:
    _rt().store.journal_clear()
    return None, 204


async def get_fixtures() -> tuple[dict[str, Any], int]:
    rt = _rt()
    orgs = []
    for org in rt.fixtures.orgs:
        orgs.append(
            {
                "id": org.id,
                "name": org.name,
                "api_keys": list(org.api_keys),
                "vendors": [
                    {"id": v.id, "name": v.name, "service_ids": sorted(v.service_ids)} for v in org.vendors.values()
                ],
                "control_set_ids": sorted(org.control_set_ids),
                "user_ids": sorted(org.user_ids),
                "document_ids": sorted(org.document_ids),
                "workflows": [
                    {
                        "name": w.name,
                        "id": w.id,
                        "enabled": w.enabled,
                        "outcome": w.outcome,
                        "duration_seconds": sum(s.duration_seconds for s in w.steps),
                    }
                    for w in org.workflows.values()
                ],
                "import_reports": [
                    {"name": r.name, "base_object": r.base_object, "mapping": dict(r.mapping)}
                    for r in org.import_reports.values()
                ],
                "assessment_ids": [a["id"] for a in org.assessments],
                "run_ids": [r.run["workflow_run_id"] for r in org.runs],
            }
        )
    return {"source": rt.fixtures.source, "orgs": orgs}, 200


async def list_rehearsals() -> tuple[dict[str, Any], int]:
    return {"data": [r.as_dict() for r in _rt().rehearsals.armed()]}, 200


async def arm_rehearsal(body: dict[str, Any]) -> tuple[dict[str, Any], int]:
    rt = _rt()
    kind = body["kind"]
    if kind == "delay" and "delay_ms" not in body:
        raise _invalid(["body", "delay_ms"], "delay_ms is required for kind 'delay'", "missing")
    operation_id = body.get("operation_id")
    known = {op.operation_id for op in spec.operations(rt.document)}
    if operation_id is not None and operation_id not in known:
        raise _invalid(["body", "operation_id"], f"No API operation {operation_id!r}", "value_error")
    rehearsal = rt.rehearsals.arm(
        kind,
        body.get("workflow_name"),
        int(body.get("count", 1)),
        operation_id=operation_id,
        delay_ms=body.get("delay_ms") if kind == "delay" else None,
    )
    return rehearsal.as_dict(), 201


def _invalid(loc: list[str | int], msg: str, type_: str) -> Exception:
    return ErrorFactory.validation([ErrorFactory.validation_item(loc, msg, type_)])


def _webhooks(rt: Runtime) -> WebhookDispatcher:
    if rt.webhooks is None:
        raise rt.errors.not_found_route()
    return rt.webhooks


async def list_webhooks() -> tuple[dict[str, Any], int]:
    hooks = _webhooks(_rt()).state.subscriptions.values()
    return {"data": [h.public() for h in hooks]}, 200


async def register_webhook(body: dict[str, Any]) -> tuple[dict[str, Any], int]:
    rt = _rt()
    org_ids = [org.id for org in rt.fixtures.orgs]
    org_id = body.get("org_id", org_ids[0])
    if org_id not in org_ids:
        raise _invalid(["body", "org_id"], f"No organization {org_id!r} in the fixtures", "value_error")
    if not is_loopback_url(body["url"]):
        raise _invalid(
            ["body", "url"], "The mock delivers only to loopback URLs (127.0.0.0/8, ::1, localhost)", "value_error"
        )
    hook = _webhooks(rt).subscribe(org_id, body["url"], body["events"], body["secret"], body.get("description"))
    return hook.public(), 201


async def delete_webhook(webhook_id: str) -> tuple[dict[str, Any] | None, int]:
    rt = _rt()
    if not _webhooks(rt).unsubscribe(webhook_id):
        raise rt.errors.not_found_route()
    return None, 204


async def list_webhook_deliveries(
    webhook_id: str | None = None, event_type: str | None = None
) -> tuple[dict[str, Any], int]:
    attempts = [
        a.public()
        for a in _webhooks(_rt()).deliveries()
        if webhook_id in (None, a.webhook_id) and event_type in (None, a.event_type)
    ]
    return {"data": attempts, "total": len(attempts)}, 200


async def deliver_webhooks() -> tuple[dict[str, Any], int]:
    return {"attempted": await _webhooks(_rt()).deliver_due()}, 200


async def clear_rehearsals() -> tuple[None, int]:
    _rt().rehearsals.clear()
    return None, 204
