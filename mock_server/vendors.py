"""Vendors and services of an org, one population however they came (fixtures, the Vendors API, the Import API):
lookups, the documented views, and the fact sheet computed from the clock."""

from __future__ import annotations

from typing import Any

from .fixtures import FactSheetPlan
from .records import ServiceRecord, VendorRecord
from .store import Store

# The vendor object's fields that hold text, lists of text and IDs, and what they are when not set.
TEXT_FIELDS = ("website", "description", "hq_location", "status", "use_case", "engagement_type", "tier")
ID_FIELDS = ("status_id", "inherent_risk_level_id", "residual_risk_level_id")
PEOPLE = ("risk_analyst_ids", "relationship_owner_ids", "watcher_ids")
SERVICE_PEOPLE = ("relationship_owner_ids", "watcher_ids")
# The fact sheet's sections, in the order they are generated.
SECTIONS = (
    "company_profile",
    "products",
    "public_perception",
    "financials",
    "people",
    "compliance_legal",
    "security_posture",
)
FACT_SHEET_QUEUED = "Fact sheet regeneration has been queued."


def find_vendor(store: Store, org_id: str, vendor_id: str) -> VendorRecord | None:
    return store.get_vendor(org_id, vendor_id)


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _texts(value: Any) -> list[str]:
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


def contact(value: Any) -> dict[str, Any] | None:
    """A stored primary contact in the documented shape (every field present), or None."""
    if not isinstance(value, dict) or not isinstance(value.get("email"), str):
        return None
    return {
        "email": value["email"],
        "name": _text(value.get("name")),
        "title": _text(value.get("title")),
        "phone_number": _text(value.get("phone_number")),
    }


def service_view(service: ServiceRecord) -> dict[str, Any]:
    attributes = service.attributes
    return {
        "id": service.id,
        "vendor_id": service.vendor_id,
        "name": service.name,
        "description": _text(attributes.get("description")),
        "external_id": service.external_id,
        "tags": _texts(attributes.get("tags")),
        **{name: _texts(attributes.get(name)) for name in SERVICE_PEOPLE},
        "primary_contact": contact(attributes.get("primary_contact")),
        "created_at": service.created_at,
    }


def summary(vendor: VendorRecord) -> dict[str, Any]:
    """A list entry: the lightweight summary (no services, no personnel arrays)."""
    attributes = vendor.attributes
    return {
        "id": vendor.id,
        "external_id": vendor.external_id,
        "name": vendor.name,
        "website": _text(attributes.get("website")),
        "description": _text(attributes.get("description")),
        "hq_location": _text(attributes.get("hq_location")),
        "status": _text(attributes.get("status")),
        "status_id": _text(attributes.get("status_id")),
        "tags": _texts(attributes.get("tags")),
        "use_case": _text(attributes.get("use_case")),
        "tier": _text(attributes.get("tier")),
        "primary_contact": contact(attributes.get("primary_contact")),
        "created_at": vendor.created_at,
        "updated_at": vendor.updated_at,
    }


def view(store: Store, vendor: VendorRecord) -> dict[str, Any]:
    """The full vendor object, services included."""
    attributes = vendor.attributes
    body = summary(vendor)
    return {
        "id": body["id"],
        "external_id": body["external_id"],
        "name": body["name"],
        "website": body["website"],
        "description": body["description"],
        "hq_location": body["hq_location"],
        "status": body["status"],
        "status_id": body["status_id"],
        "tags": body["tags"],
        **{name: _texts(attributes.get(name)) for name in PEOPLE},
        "inherent_risk_level_id": _text(attributes.get("inherent_risk_level_id")),
        "residual_risk_level_id": _text(attributes.get("residual_risk_level_id")),
        "engagement_type": _text(attributes.get("engagement_type")),
        "use_case": body["use_case"],
        "tier": body["tier"],
        "primary_contact": body["primary_contact"],
        "services": [service_view(s) for s in store.services_of(vendor.org_id, vendor.id)],
        "created_at": vendor.created_at,
        "updated_at": vendor.updated_at,
    }


def matches_name(store: Store, vendor: VendorRecord, needle: str) -> bool:
    """`name` of GET /v1/vendors: a case-insensitive substring of the vendor's or one of its services' names."""
    wanted = needle.casefold()
    if wanted in vendor.name.casefold():
        return True
    return any(wanted in s.name.casefold() for s in store.services_of(vendor.org_id, vendor.id))


def fact_sheet(vendor: VendorRecord, plan: FactSheetPlan, now: int) -> dict[str, Any]:
    """The fact sheet at `now`: never generated, or the sections of the last refresh generated so far (one every
    `duration / sections` seconds; the outcome at the end; a failed run never produces its last section)."""
    body: dict[str, Any] = {
        "vendor_id": vendor.id,
        "entity_id": vendor.entity_id,
        "status": None,
        "progress": [],
        "generated_at": None,
        **dict.fromkeys(SECTIONS),
    }
    started = vendor.fact_sheet_requested_at
    if started is None:
        return body
    finished = started + plan.duration_seconds
    done = [
        section
        for index, section in enumerate(SECTIONS)
        if now >= started + plan.duration_seconds * (index + 1) // len(SECTIONS)
        and not (plan.outcome == "failed" and index == len(SECTIONS) - 1)
    ]
    body["progress"] = done
    for section in done:
        body[section] = _section(vendor, section)
    if now < finished:
        body["status"] = "pending"
    else:
        body["status"] = plan.outcome
        body["generated_at"] = finished if plan.outcome == "completed" else None
    return body


def _section(vendor: VendorRecord, section: str) -> dict[str, Any]:
    """What the mock generates: the company profile from the vendor record, the other sections empty."""
    if section != "company_profile":
        return {}
    attributes = vendor.attributes
    return {
        "name": vendor.name,
        "website": _text(attributes.get("website")),
        "description": _text(attributes.get("description")),
        "hq_location": _text(attributes.get("hq_location")),
    }
