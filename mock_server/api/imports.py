"""Handlers of the `imports` tag: the Import API (records of a vendor, service or assessment report, upserted on
external_id)."""

from __future__ import annotations

import dataclasses
from typing import Any

from ..assessments import new_assessment
from ..engine import emit
from ..execution import Outcome
from ..fixtures import ImportReport, OrgFixture
from ..records import ServiceRecord, VendorRecord, dumps
from ..runtime import Runtime
from ..spec import import_required_fields
from .call import Call

# Coverbase fields whose values must be text (or null) when a mapping names them, and those that are lists of text.
TEXT_FIELDS = ("name", "website", "description", "hq_location", "status", "use_case", "engagement_type")
TEXT_LISTS = ("tags",)


class _Rejected(Exception):
    """One record fails: (error_code, Coverbase field, message)."""

    def __init__(self, code: str, field: str, message: str) -> None:
        super().__init__(message)
        self.code, self.field, self.message = code, field, message


class _Batch:
    def __init__(self, rt: Runtime, org: OrgFixture, report: ImportReport) -> None:
        self.rt = rt
        self.org = org
        self.report = report
        self.by_incoming = {incoming: field for field, incoming in report.mapping.items()}
        self.results: list[dict[str, Any]] = []
        self.errors: list[dict[str, Any]] = []
        self.created = self.updated = self.failed = 0
        self.seen: set[str] = set()

    def error(self, index: int, external_id: str | None, code: str, field: str | None, message: str) -> None:
        self.errors.append(
            {"index": index, "external_id": external_id, "error_code": code, "field": field, "message": message}
        )

    def fail(self, index: int, external_id: str | None, code: str, field: str | None, message: str) -> None:
        self.error(index, external_id, code, field, message)
        self.failed += 1

    def incoming(self, field: str) -> str:
        return self.report.mapping.get(field, field)

    def record(self, index: int, record: Any) -> None:
        if not isinstance(record, dict):
            self.fail(index, None, "invalid_field_value", None, "Each record must be a JSON object.")
            return
        attributes: dict[str, Any] = {}
        raw_external = record.get(self.report.mapping["external_id"])
        external = str(raw_external) if isinstance(raw_external, (str, int)) and raw_external != "" else None
        for key, value in record.items():
            field = self.by_incoming.get(key)
            if field is None:
                self.error(
                    index, external, "unmapped_field", key, f"Field '{key}' is not mapped by this report; ignored."
                )
            else:
                attributes[field] = value
        for field in import_required_fields(self.rt.document)[self.report.base_object]:
            if attributes.get(field) in (None, ""):
                name = self.incoming(field)
                self.fail(index, external, "missing_required_field", name, f"Required field '{name}' is missing.")
                return
        try:
            self.check_types(attributes)
            if external is None:
                name = self.incoming("external_id")
                raise _Rejected("invalid_field_value", "external_id", f"Field '{name}' must be a string or an integer.")
        except _Rejected as rejected:
            self.fail(
                index,
                None if rejected.field == "external_id" else external,
                rejected.code,
                self.incoming(rejected.field),
                rejected.message,
            )
            return
        attributes["external_id"] = external
        if external in self.seen:
            message = f"External ID '{external}' appears more than once in this batch."
            self.fail(index, external, "duplicate_external_id", self.incoming("external_id"), message)
            return
        self.seen.add(external)
        upsert = {"vendor": self.vendor, "service": self.service, "assessment": self.assessment}[
            self.report.base_object
        ]
        try:
            coverbase_id, action = upsert(external, attributes)
        except _Rejected as rejected:
            self.fail(index, external, rejected.code, self.incoming(rejected.field), rejected.message)
            return
        if action == "created":
            self.created += 1
        else:
            self.updated += 1
        self.results.append(
            {"external_id": external, "coverbase_id": coverbase_id, "action": action, "status": "success"}
        )

    def check_types(self, attributes: dict[str, Any]) -> None:
        for field in TEXT_FIELDS:
            if attributes.get(field) is not None and not isinstance(attributes[field], str):
                raise _Rejected("invalid_field_value", field, f"Field '{self.incoming(field)}' must be a string.")
        for field in TEXT_LISTS:
            value = attributes.get(field)
            if value is not None and not (isinstance(value, list) and all(isinstance(v, str) for v in value)):
                raise _Rejected(
                    "invalid_field_value", field, f"Field '{self.incoming(field)}' must be a list of strings."
                )

    def vendor_of(self, attributes: dict[str, Any]) -> VendorRecord:
        """The vendor a service or assessment record names by its external_id (`vendor_external_id`)."""
        reference = attributes["vendor_external_id"]
        found = self.rt.store.vendor_by_external_id(self.org.id, str(reference)) if reference is not None else None
        if found is None:
            message = f"No vendor with external ID '{reference}' (field '{self.incoming('vendor_external_id')}')."
            raise _Rejected("invalid_field_value", "vendor_external_id", message)
        return found

    def vendor(self, external: str, attributes: dict[str, Any]) -> tuple[str, str]:
        rt, store, now = self.rt, self.rt.store, self.rt.clock.now()
        status = attributes.get("status")
        if isinstance(status, str):
            known = {label.casefold(): status_id for status_id, label in self.org.statuses.items()}
            attributes["status_id"] = known.get(status.casefold())
        existing = store.vendor_by_external_id(self.org.id, external)
        if existing is not None:
            merged = existing.attributes
            if any(merged.get(name) != value for name, value in attributes.items()):
                merged.update(attributes)
                existing = dataclasses.replace(existing, attributes_json=dumps(merged), updated_at=now)
                store.put_vendor(existing)
                emit(
                    rt,
                    self.org.id,
                    "Vendor.Updated",
                    {"vendor_id": existing.id},
                    attributes=merged,
                    run_input={"vendor_id": existing.id},
                )
            return existing.id, "updated"
        vendor = VendorRecord(
            self.org.id, rt.ids.new("cbvndr"), external, dumps(attributes), now, now, store.next_sequence()
        )
        store.put_vendor(vendor)
        emit(
            rt,
            self.org.id,
            "Vendor.Created",
            {"vendor_id": vendor.id},
            attributes=attributes,
            run_input={"vendor_id": vendor.id},
        )
        return vendor.id, "created"

    def service(self, external: str, attributes: dict[str, Any]) -> tuple[str, str]:
        rt, store, now = self.rt, self.rt.store, self.rt.clock.now()
        vendor = self.vendor_of(attributes)
        existing = store.service_by_external_id(self.org.id, external)
        event = "Service.Updated"
        if existing is not None:
            merged = existing.attributes
            if not any(merged.get(name) != value for name, value in attributes.items()):
                return existing.id, "updated"
            merged.update(attributes)
            service = dataclasses.replace(existing, attributes_json=dumps(merged), updated_at=now)
        else:
            event = "Service.Created"
            service = ServiceRecord(
                self.org.id,
                vendor.id,
                rt.ids.new("cbsvc"),
                external,
                dumps(attributes),
                now,
                now,
                store.next_sequence(),
            )
        store.put_service(service)
        emit(
            rt,
            self.org.id,
            event,
            {"service_id": service.id},
            attributes={**service.attributes, "vendor_id": service.vendor_id},
            run_input={"service_id": service.id, "vendor_id": service.vendor_id},
        )
        return service.id, "created" if existing is None else "updated"

    def assessment(self, external: str, attributes: dict[str, Any]) -> tuple[str, str]:
        rt, store = self.rt, self.rt.store
        vendor = self.vendor_of(attributes)
        existing = store.assessment_by_external_id(self.org.id, external)
        if existing is not None:
            fields = existing.fields
            if fields["name"] != attributes["name"]:
                fields["name"] = attributes["name"]
                fields["updated_at"] = rt.clock.now()
                store.put_assessment(existing.with_fields(fields))
            return existing.id, "updated"
        control_sets = attributes.get("control_set_ids") or []
        if isinstance(control_sets, str):
            control_sets = [part.strip() for part in control_sets.split(",") if part.strip()]
        unknown = [c for c in control_sets if not isinstance(c, str) or c not in self.org.control_set_ids]
        if not isinstance(control_sets, list) or unknown:
            name = self.incoming("control_set_ids")
            raise _Rejected(
                "invalid_field_value", "control_set_ids", f"Field '{name}' names no control set of the org."
            )
        fields = new_assessment(
            rt, self.org, vendor, attributes["name"], {"control_set_ids": control_sets}, None, external_id=external
        )
        return str(fields["id"]), "created"


def import_records(call: Call, report_name: str, body: dict[str, Any]) -> Outcome:
    rt, org = call.rt, call.org
    report = org.import_reports.get(report_name)
    if report is None:
        raise rt.errors.coded("import_report_not_found", report_name=report_name)
    received_at = rt.clock.now()
    batch = _Batch(rt, org, report)
    for index, record in enumerate(body["data"]):
        batch.record(index, record)
    result = {
        "id": report.id,
        "slug": report.name,
        "report_name": report.report_name,
        "base_object": report.base_object,
        "mapping": dict(report.mapping),
        "received_count": len(body["data"]),
        "created_count": batch.created,
        "updated_count": batch.updated,
        "failed_count": batch.failed,
        "results": batch.results,
        "errors": batch.errors,
        "received_at": received_at,
    }
    return (200 if batch.created + batch.updated > 0 else 400), result
