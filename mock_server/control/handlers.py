"""Handlers of the control plane: health, reset, clock, journal, fixtures, rehearsals, webhooks."""

from __future__ import annotations

from typing import Any

from .. import __version__, spec
from ..api.call import Call
from ..clock import ClockWouldGoBackwards
from ..engine import publish_status_changes
from ..errors import ErrorFactory
from ..execution import Outcome
from ..fixtures import Fixtures
from ..namespaces import NamespaceError, NamespaceLimit, Worlds
from ..records import DeliveryRecord
from ..runtime import Runtime
from ..webhooks import WebhookDispatcher


def _clock(rt: Runtime) -> dict[str, int]:
    return {"now": rt.clock.now(), "offset_seconds": rt.clock.offset}


def health(call: Call) -> Outcome:
    rt = call.rt
    version = str(rt.document["info"]["version"])
    return 200, {"status": "ok", "version": __version__, "api_version": version, "now": rt.clock.now()}


def reset(call: Call, body: dict[str, Any] | None = None) -> Outcome:
    rt = call.rt
    rt.reset()
    if body is not None and "now" in body:
        # A new world may start before the old one's time: nothing in it can become unfinished.
        rt.clock.start_at(int(body["now"]))
    return 200, _clock(rt)


def get_clock(call: Call) -> Outcome:
    return 200, _clock(call.rt)


def set_clock(call: Call, body: dict[str, Any]) -> Outcome:
    rt = call.rt
    try:
        if "advance_seconds" in body:
            rt.clock.advance(int(body["advance_seconds"]))
        else:
            rt.clock.set(int(body["set"]))
    except ClockWouldGoBackwards as exc:
        field = "advance_seconds" if "advance_seconds" in body else "set"
        raise ErrorFactory.validation([ErrorFactory.validation_item(["body", field], str(exc), "value_error")]) from exc
    publish_status_changes(rt)  # the status changes the jump passed are events now, their deliveries queued
    return 200, _clock(rt)


def list_requests(call: Call, limit: int) -> Outcome:
    entries = call.rt.store.journal()
    return 200, {"data": entries[-limit:], "total": len(entries)}


def clear_requests(call: Call) -> Outcome:
    call.rt.store.journal_clear()
    return 204, None


def _fixture_summary(fixtures: Fixtures) -> dict[str, Any]:
    """What GET /_mock/fixtures shows of a world's fixtures."""
    orgs = []
    for org in fixtures.orgs:
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
                        "duration_seconds": w.duration_seconds,
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
    return {"source": fixtures.source, "orgs": orgs}


def get_fixtures(call: Call) -> Outcome:
    return 200, _fixture_summary(call.rt.fixtures)


def _worlds(call: Call) -> Worlds:
    worlds: Worlds | None = call.rt.worlds
    if worlds is None:
        raise call.rt.errors.not_found_route()
    return worlds


def list_namespaces(call: Call) -> Outcome:
    data = [
        {
            "namespace_id": r.id,
            "org_ids": sorted(r.keys),
            "created_at": r.created_at,
            "last_used_at": r.last_used_at,
            "ttl_seconds": r.ttl_seconds,
            "expires_at": r.expires_at,
        }
        for r in _worlds(call).records()
    ]
    return 200, {"data": data, "total": len(data)}


def create_namespace(call: Call, body: dict[str, Any] | None) -> Outcome:
    body = body or {}
    try:
        record, world = _worlds(call).create(body.get("ttl_seconds"), body.get("fixtures"))
    except NamespaceError as exc:
        raise _invalid(["body", "fixtures"], str(exc), "value_error") from exc
    except NamespaceLimit as exc:
        raise call.rt.errors.plain("namespace_limit_reached") from exc
    return 201, {
        "namespace_id": record.id,
        "api_keys": dict(record.keys),
        "fixtures": _fixture_summary(world.fixtures),
        "created_at": record.created_at,
        "ttl_seconds": record.ttl_seconds,
        "expires_at": record.expires_at,
    }


def delete_namespace(call: Call, namespace_id: str) -> Outcome:
    if not _worlds(call).delete(namespace_id):
        raise call.rt.errors.plain("namespace_not_found")
    return 204, None


def list_rehearsals(call: Call) -> Outcome:
    return 200, {"data": [r.as_dict() for r in call.rt.rehearsals.armed()]}


RUN_OPERATION = "runWorkflow"  # the only operation with a workflow_name, and the only one that dispatches


def arm_rehearsal(call: Call, body: dict[str, Any]) -> Outcome:
    """Arm a rehearsal; one that could never fire (an unknown or disabled workflow, a workflow or a dispatch
    failure on an operation that has none) is a 422 saying why, naming what would match."""
    rt = call.rt
    kind = body["kind"]
    if kind == "delay" and "delay_ms" not in body:
        raise _invalid(["body", "delay_ms"], "delay_ms is required for kind 'delay'", "missing")
    operation_id = body.get("operation_id")
    known = {op.operation_id for op in spec.operations(rt.document)}
    if operation_id is not None and operation_id not in known:
        raise _invalid(["body", "operation_id"], f"No API operation {operation_id!r}", "value_error")
    if kind == "dispatch_failure" and operation_id not in (None, RUN_OPERATION):
        raise _invalid(
            ["body", "operation_id"],
            f"dispatch_failure happens only in {RUN_OPERATION}, not {operation_id}",
            "value_error",
        )
    workflow_name = body.get("workflow_name")
    if workflow_name is not None:
        _check_workflow(rt, kind, operation_id, workflow_name)
    rehearsal = rt.rehearsals.arm(
        kind,
        workflow_name,
        int(body.get("count", 1)),
        operation_id=operation_id,
        delay_ms=body.get("delay_ms") if kind == "delay" else None,
    )
    return 201, rehearsal.as_dict()


def _check_workflow(rt: Runtime, kind: str, operation_id: str | None, name: str) -> None:
    loc: list[str | int] = ["body", "workflow_name"]
    if operation_id not in (None, RUN_OPERATION):
        raise _invalid(loc, f"workflow_name matches only {RUN_OPERATION} calls, not {operation_id}", "value_error")
    workflows = [w for org in rt.fixtures.orgs for w in org.workflows.values()]
    if name not in {w.name for w in workflows}:
        names = ", ".join(sorted({w.name for w in workflows}))
        raise _invalid(loc, f"No workflow {name!r} in the fixtures; their workflows are: {names}", "value_error")
    enabled = sorted({w.name for w in workflows if w.enabled})
    if kind == "dispatch_failure" and name not in enabled:
        raise _invalid(
            loc,
            f"Workflow {name!r} is disabled: its runs are refused with 409 before any dispatch."
            f" Enabled: {', '.join(enabled)}",
            "value_error",
        )


def _invalid(loc: list[str | int], msg: str, type_: str) -> Exception:
    return ErrorFactory.validation([ErrorFactory.validation_item(loc, msg, type_)])


def _webhooks(rt: Runtime) -> WebhookDispatcher:
    if rt.webhooks is None:
        raise rt.errors.not_found_route()
    return rt.webhooks


def list_mock_webhooks(call: Call) -> Outcome:
    """Every organization's subscriptions (made with POST /v1/webhooks or in the fixtures), archived ones too."""
    return 200, {
        "data": [
            {
                "id": hook.id,
                "org_id": hook.org_id,
                "url": hook.url,
                "events": list(hook.events),
                "enabled": hook.enabled,
                "description": hook.description,
                "archived": hook.archived_at is not None,
            }
            for hook in call.rt.store.webhooks()
        ]
    }


def _attempt(attempt: DeliveryRecord) -> dict[str, Any]:
    return {
        "id": attempt.id,
        "webhook_id": attempt.webhook_id,
        "org_id": attempt.org_id,
        "event_id": attempt.event_id,
        "event_type": attempt.event_type,
        "attempt": attempt.attempt,
        "payload": attempt.payload,
        "status": attempt.status,
        "response_status": attempt.response_status,
        "response_time_ms": attempt.response_time_ms,
        "error": attempt.error,
        "attempted_at": attempt.attempted_at,
        "due_at": attempt.due_at,
        "created_at": attempt.created_at,
    }


def list_mock_webhook_deliveries(call: Call, webhook_id: str | None = None, event_type: str | None = None) -> Outcome:
    attempts = [
        _attempt(a) for a in call.rt.store.deliveries(webhook_id=webhook_id) if event_type in (None, a.event_type)
    ]
    return 200, {"data": attempts, "total": len(attempts)}


async def deliver_webhooks(call: Call) -> Outcome:
    publish_status_changes(call.rt)
    return 200, {"attempted": await _webhooks(call.rt).deliver_due()}


def clear_rehearsals(call: Call) -> Outcome:
    call.rt.rehearsals.clear()
    return 204, None
