"""Handlers of the `vendors` tag: vendors, their services and their fact sheet."""

from __future__ import annotations

import dataclasses
from typing import Any

from .. import vendors
from ..engine import emit
from ..execution import Outcome
from ..fixtures import OrgFixture
from ..records import ServiceRecord, VendorRecord, dumps
from ..runtime import Runtime
from .call import Call

# Body fields of a create that become vendor (service) attributes as given.
VENDOR_INPUT = ("name", "website", "description", "hq_location", "use_case", *vendors.PEOPLE, "primary_contact")
SERVICE_INPUT = ("name", "description", *vendors.SERVICE_PEOPLE, "primary_contact")
# Fields of a vendor PATCH stored as given (references are resolved below).
VENDOR_UPDATE = ("name", "website", "description", "hq_location", "use_case", "engagement_type", "primary_contact")


def _people(org: OrgFixture, body: dict[str, Any], names: tuple[str, ...]) -> str | None:
    """Why the body cannot be accepted (a user of another org or none), or None."""
    for name in names:
        for user in body.get(name) or []:
            if user not in org.user_ids:
                return f"User {user} not found."
    return None


def _tags(org: OrgFixture, tag_ids: list[str]) -> tuple[list[str], str | None]:
    """The tag names of `tag_ids`, or why they cannot be used."""
    for tag in tag_ids:
        if tag not in org.tags:
            return [], f"Tag {tag} not found."
    return [org.tags[tag] for tag in tag_ids], None


def _find(call: Call, vendor_id: str) -> VendorRecord:
    found = vendors.find_vendor(call.rt.store, call.org_id, vendor_id)
    if found is None:
        raise call.rt.errors.coded("vendor_not_found")
    return found


def _raise_event(rt: Runtime, org_id: str, event_type: str, vendor: VendorRecord) -> None:
    emit(
        rt,
        org_id,
        event_type,
        {"vendor_id": vendor.id},
        attributes=vendor.attributes,
        run_input={"vendor_id": vendor.id},
    )


def create_vendor(call: Call, body: dict[str, Any]) -> Outcome:
    rt, org = call.rt, call.org
    problem = _people(org, body, vendors.PEOPLE)
    if problem is None and not body["name"].strip():
        problem = "Vendor name cannot be empty."
    external = body.get("external_id") or None  # an empty external_id is none
    if problem is None and external is not None and rt.store.vendor_by_external_id(org.id, external) is not None:
        problem = f"External ID '{external}' is already used by another vendor."
    if problem is not None:
        raise rt.errors.coded("invalid_vendor", reason=problem)
    now = rt.clock.now()
    attributes = {name: body[name] for name in VENDOR_INPUT if body.get(name) is not None}
    vendor = VendorRecord(org.id, rt.ids.new("cbvndr"), external, dumps(attributes), now, now, rt.store.next_sequence())
    rt.store.put_vendor(vendor)
    _raise_event(rt, org.id, "Vendor.Created", vendor)
    return 201, vendors.view(rt.store, vendor)


def list_vendors(
    call: Call, limit: int, offset: int, name: str | None = None, external_id: str | None = None
) -> Outcome:
    store = call.rt.store
    found = [
        v
        for v in store.vendors_newest_first(call.org_id)
        if (external_id is None or v.external_id == external_id)
        and (name is None or vendors.matches_name(store, v, name))
    ]
    page = [vendors.summary(v) for v in found[offset : offset + limit]]
    return 200, {"items": page, "total": len(found), "limit": limit, "offset": offset}


def get_vendor(call: Call, vendor_id: str) -> Outcome:
    return 200, vendors.view(call.rt.store, _find(call, vendor_id))


def update_vendor(call: Call, vendor_id: str, body: dict[str, Any]) -> Outcome:
    rt, org = call.rt, call.org
    vendor = _find(call, vendor_id)
    given = {name: value for name, value in body.items() if value is not None}
    changes = {name: given[name] for name in (*VENDOR_UPDATE, *vendors.PEOPLE) if name in given}
    problem = _people(org, given, vendors.PEOPLE)
    if problem is None and "status_id" in given:
        if given["status_id"] not in org.statuses:
            problem = f"Status {given['status_id']} not found."
        else:
            changes.update(status_id=given["status_id"], status=org.statuses[given["status_id"]])
    if problem is None and "tag_ids" in given:
        changes["tags"], problem = _tags(org, given["tag_ids"])
    for level in ("inherent_risk_level_id", "residual_risk_level_id"):
        if problem is None and level in given:
            if given[level] not in org.risk_level_ids:
                problem = f"Risk level {given[level]} not found."
            changes[level] = given[level]
    if problem is not None:
        raise rt.errors.coded("invalid_update", reason=problem)
    attributes = vendor.attributes
    if any(attributes.get(name) != value for name, value in changes.items()):
        attributes.update(changes)
        vendor = dataclasses.replace(vendor, attributes_json=dumps(attributes), updated_at=rt.clock.now())
        rt.store.put_vendor(vendor)
        _raise_event(rt, org.id, "Vendor.Updated", vendor)
    return 200, vendors.view(rt.store, vendor)


def _service_event(rt: Runtime, event_type: str, service: ServiceRecord) -> None:
    emit(
        rt,
        service.org_id,
        event_type,
        {"service_id": service.id},
        attributes={**service.attributes, "vendor_id": service.vendor_id},
        run_input={"service_id": service.id, "vendor_id": service.vendor_id},
    )


def create_vendor_service(call: Call, vendor_id: str, body: dict[str, Any]) -> Outcome:
    rt, org = call.rt, call.org
    vendor = _find(call, vendor_id)
    attributes = {name: body[name] for name in SERVICE_INPUT if body.get(name) is not None}
    problem = _people(org, body, vendors.SERVICE_PEOPLE)
    if problem is None and body.get("tag_ids") is not None:
        attributes["tags"], problem = _tags(org, body["tag_ids"])
    if problem is not None:
        raise rt.errors.coded("invalid_service", reason=problem)
    now = rt.clock.now()
    service = ServiceRecord(
        org.id,
        vendor.id,
        rt.ids.new("cbsvc"),
        body.get("external_id"),
        dumps(attributes),
        now,
        now,
        rt.store.next_sequence(),
    )
    rt.store.put_service(service)
    _service_event(rt, "Service.Created", service)
    return 201, vendors.service_view(service)


def update_vendor_service(call: Call, vendor_id: str, service_id: str, body: dict[str, Any]) -> Outcome:
    rt, org = call.rt, call.org
    service = rt.store.get_service(call.org_id, service_id)
    if service is None or service.vendor_id != vendor_id:
        raise rt.errors.coded("service_not_found")
    given = {name: value for name, value in body.items() if value is not None}
    changes = {name: given[name] for name in SERVICE_INPUT if name in given}
    problem = _people(org, given, vendors.SERVICE_PEOPLE)
    if problem is None and "tag_ids" in given:
        changes["tags"], problem = _tags(org, given["tag_ids"])
    if problem is not None:
        raise rt.errors.coded("invalid_service", reason=problem)
    attributes = service.attributes
    if any(attributes.get(name) != value for name, value in changes.items()):
        attributes.update(changes)
        service = dataclasses.replace(service, attributes_json=dumps(attributes), updated_at=rt.clock.now())
        rt.store.put_service(service)
        _service_event(rt, "Service.Updated", service)
    return 200, vendors.service_view(service)


def get_vendor_fact_sheet(call: Call, vendor_id: str) -> Outcome:
    vendor = _find(call, vendor_id)
    return 200, vendors.fact_sheet(vendor, call.org.fact_sheet, call.rt.clock.now())


def refresh_vendor_fact_sheet(call: Call, vendor_id: str) -> Outcome:
    rt = call.rt
    vendor = _find(call, vendor_id)
    vendor = dataclasses.replace(
        vendor, fact_sheet_requested_at=rt.clock.now(), entity_id=vendor.entity_id or rt.ids.new("cbentity")
    )
    rt.store.put_vendor(vendor)
    return 202, {
        "vendor_id": vendor.id,
        "entity_id": vendor.entity_id,
        "status": "pending",
        "message": vendors.FACT_SHEET_QUEUED,
    }
