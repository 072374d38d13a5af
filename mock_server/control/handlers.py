"""Handlers of the control plane: health, reset, clock, journal, fixtures, rehearsals."""

from __future__ import annotations

from typing import Any

from connexion.context import scope

from .. import __version__
from ..clock import ClockWouldGoBackwards
from ..errors import ErrorFactory
from ..runtime import Runtime, from_scope


def _rt() -> Runtime:
    return from_scope(scope)


def _clock(rt: Runtime) -> dict[str, int]:
    return {"now": rt.clock.now(), "offset_seconds": rt.clock.offset}


async def health() -> tuple[dict[str, Any], int]:
    rt = _rt()
    return {"status": "ok", "version": __version__, "api_version": str(rt.document["info"]["version"]), "now": rt.clock.now()}, 200


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
                "assessment_ids": [a["id"] for a in org.assessments],
                "run_ids": [r.run["workflow_run_id"] for r in org.runs],
            }
        )
    return {"source": rt.fixtures.source, "orgs": orgs}, 200


async def list_rehearsals() -> tuple[dict[str, Any], int]:
    return {"data": [r.as_dict() for r in _rt().rehearsals.armed()]}, 200


async def arm_rehearsal(body: dict[str, Any]) -> tuple[dict[str, Any], int]:
    rehearsal = _rt().rehearsals.arm(body["kind"], body.get("workflow_name"), int(body.get("count", 1)))
    return rehearsal.as_dict(), 201


async def clear_rehearsals() -> tuple[None, int]:
    _rt().rehearsals.clear()
    return None, 204
