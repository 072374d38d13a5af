"""Handlers of the `assessments` tag: create, read, archive."""

from __future__ import annotations

import dataclasses
import datetime as dt
import string
from typing import Any

from ..engine import cancel_runs_of_assessment, emit, find_workflow, start_run
from ..execution import Outcome
from ..fixtures import OrgFixture, Vendor
from ..records import AssessmentRecord
from ..runtime import Runtime
from ..vendors import find_vendor
from .call import Call

FINISHED = frozenset({"complete", "failed", "canceled"})


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


def _check_references(rt: Runtime, org: OrgFixture, body: dict[str, Any]) -> Vendor:
    """Every referenced object must exist in the caller's org: else the free-form 400."""
    vendor = find_vendor(rt.store, org, body["vendor_id"])
    if vendor is None:
        raise rt.errors.free_form(400, f"Vendor {body['vendor_id']} not found.")
    for control_set_id in body["control_set_ids"]:
        if control_set_id not in org.control_set_ids:
            raise rt.errors.free_form(400, f"Control set {control_set_id} not found.")
    for service_id in body.get("service_ids", []):
        if service_id not in vendor.service_ids:
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
    assessment_id = rt.ids.new("cbqsrw")
    if "name" in body:
        name = body["name"]
    else:
        name = _render_name(body.get("assessment_name_format", "{vendor_name} Assessment"), vendor.name, now)
    run_id = None
    if definition is not None:
        run = start_run(
            rt,
            org.id,
            definition,
            {"assessment_id": assessment_id, "vendor_id": vendor.id},
            target_assessment_id=assessment_id,
        )
        run_id = run.workflow_run_id
    fields = {
        "id": assessment_id,
        "vendor_id": vendor.id,
        "name": name,
        "status": "created",
        "control_set_ids": list(body["control_set_ids"]),
        "service_ids": list(body.get("service_ids", [])),
        "assignee_id": body.get("assignee_id", vendor.risk_owner_id),
        "score_percent": None,
        "findings_count": 0,
        "initiated_at": None,
        "created_at": now,
        "updated_at": now,
        "workflow_run_id": run_id,
    }
    rt.store.put_assessment(AssessmentRecord.new(org.id, fields))
    emit(
        rt,
        org.id,
        "Assessment.Created",
        {"assessment_id": assessment_id},
        attributes=fields,
        run_input={"assessment_id": assessment_id, "vendor_id": vendor.id},
        target_assessment_id=assessment_id,
    )
    return 201, fields


def _find(call: Call, assessment_id: str) -> AssessmentRecord:
    record = call.rt.store.get_assessment(call.org_id, assessment_id)
    if record is None:
        raise call.rt.errors.coded("assessment_not_found")
    return record


def get_assessment(call: Call, assessment_id: str) -> Outcome:
    record = _find(call, assessment_id)
    body = {k: v for k, v in record.fields.items() if k != "workflow_run_id"}
    body["custom_fields"] = record.custom_fields
    return 200, body


def delete_assessment(call: Call, assessment_id: str) -> Outcome:
    rt = call.rt
    record = _find(call, assessment_id)
    if record.archived_at is None:
        now = rt.clock.now()
        fields = record.fields
        old_status = fields["status"]
        if old_status not in FINISHED:
            fields["status"] = "canceled"
        fields["updated_at"] = now
        record = dataclasses.replace(record.with_fields(fields), archived_status=fields["status"], archived_at=now)
        rt.store.put_assessment(record)
        cancel_runs_of_assessment(rt, record.org_id, record.id)
        if old_status != fields["status"]:
            emit(
                rt,
                record.org_id,
                "Assessment.StatusChanged",
                {"assessment_id": record.id, "old_status": old_status, "new_status": fields["status"]},
            )
    return 200, {
        "id": record.id,
        "status": record.archived_status,
        "is_archived": True,
        "archived_at": record.archived_at,
    }
