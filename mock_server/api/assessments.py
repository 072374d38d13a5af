"""Handlers of the `assessments` tag: create, read, archive."""

from __future__ import annotations

import dataclasses
import datetime as dt
import string
from typing import Any

from .. import assessment_timeline
from ..assessments import new_assessment
from ..engine import cancel_runs_of_assessment, emit, find_workflow, publish_due_of
from ..execution import Outcome
from ..fixtures import OrgFixture
from ..records import AssessmentRecord, VendorRecord
from ..runtime import Runtime
from ..spec import assessment_statuses
from ..vendors import find_vendor
from .call import Call


class _KeepUnknown(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def _render_name(template: str, vendor_name: str, now: int) -> str:
    day = dt.datetime.fromtimestamp(now, tz=dt.UTC)
    values = _KeepUnknown(
        vendor_name=vendor_name,
        date=day.strftime("%Y-%m-%d"),
        year=str(day.year),
        quarter=f"Q{(day.month - 1) // 3 + 1}",
    )
    try:
        return string.Formatter().vformat(template, (), values)
    except (ValueError, IndexError):
        return template


def _check_references(rt: Runtime, org: OrgFixture, body: dict[str, Any]) -> VendorRecord:
    """Every referenced object must exist in the caller's org: else the free-form 400."""
    vendor = find_vendor(rt.store, org.id, body["vendor_id"])
    if vendor is None:
        raise rt.errors.free_form(400, f"Vendor {body['vendor_id']} not found.")
    for control_set_id in body["control_set_ids"]:
        if control_set_id not in org.control_set_ids:
            raise rt.errors.free_form(400, f"Control set {control_set_id} not found.")
    services = {s.id for s in rt.store.services_of(org.id, vendor.id)}
    for service_id in body.get("service_ids", []):
        if service_id not in services:
            raise rt.errors.free_form(400, f"Service {service_id} not found for vendor {vendor.id}.")
    assignee = body.get("assignee_id")
    if assignee is not None and assignee not in org.user_ids:
        raise rt.errors.free_form(400, f"User {assignee} not found.")
    for document_id in body.get("supporting_document_ids", []):
        if document_id not in org.document_ids:
            raise rt.errors.free_form(400, f"Document {document_id} not found.")
    return vendor


def create_assessment(call: Call, body: dict[str, Any]) -> Outcome:
    rt, org = call.rt, call.org
    vendor = _check_references(rt, org, body)
    trigger = body.get("trigger_workflow")
    definition = find_workflow(rt, org, trigger, must_be_enabled=True) if trigger is not None else None
    now = rt.clock.now()
    if "name" in body:
        name = body["name"]
    else:
        name = _render_name(body.get("assessment_name_format", "{vendor_name} Assessment"), vendor.name, now)
    return 201, new_assessment(rt, org, vendor, name, body, definition)


def _find(call: Call, assessment_id: str) -> AssessmentRecord:
    record = call.rt.store.get_assessment(call.org_id, assessment_id)
    if record is None:
        raise call.rt.errors.coded("assessment_not_found")
    return record


def get_assessment(call: Call, assessment_id: str) -> Outcome:
    record = _find(call, assessment_id)
    body = {k: v for k, v in assessment_timeline.view(record, call.rt.clock.now()).items() if k != "workflow_run_id"}
    body["custom_fields"] = record.custom_fields
    return 200, body


def delete_assessment(call: Call, assessment_id: str) -> Outcome:
    rt = call.rt
    record = _find(call, assessment_id)
    if record.archived_at is None:
        now = rt.clock.now()
        # The status changes time has passed are published first, so the events keep their order.
        record = publish_due_of(rt, record, now)
        old_status = assessment_timeline.view(record, now)["status"]
        finished = assessment_statuses(rt.document).finished
        new_status = old_status if old_status in finished else "canceled"
        record = dataclasses.replace(record, archived_status=new_status, archived_at=now, next_event_at=None)
        rt.store.put_assessment(record)
        cancel_runs_of_assessment(rt, record.org_id, record.id)
        if old_status != new_status:
            emit(
                rt,
                record.org_id,
                "Assessment.StatusChanged",
                {"assessment_id": record.id, "old_status": old_status, "new_status": new_status},
            )
    return 200, {
        "id": record.id,
        "status": record.archived_status,
        "is_archived": True,
        "archived_at": record.archived_at,
    }
