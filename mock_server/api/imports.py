"""Handlers of the `imports` tag: the Import API (records upserted on external_id)."""

from __future__ import annotations

import dataclasses
from typing import Any

from ..engine import emit
from ..execution import Outcome
from ..fixtures import ImportReport
from ..records import VendorRecord, dumps
from ..runtime import Runtime
from ..spec import import_required_fields
from .call import Call


class _Batch:
    def __init__(self, rt: Runtime, org: str, report: ImportReport) -> None:
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
                incoming = self.report.mapping[field]
                self.fail(
                    index, external, "missing_required_field", incoming, f"Required field '{incoming}' is missing."
                )
                return
        if not isinstance(attributes["name"], str):
            incoming = self.report.mapping["name"]
            self.fail(index, external, "invalid_field_value", incoming, f"Field '{incoming}' must be a string.")
            return
        if external is None:
            incoming = self.report.mapping["external_id"]
            self.fail(
                index, None, "invalid_field_value", incoming, f"Field '{incoming}' must be a string or an integer."
            )
            return
        attributes["external_id"] = external
        if external in self.seen:
            incoming = self.report.mapping["external_id"]
            message = f"External ID '{external}' appears more than once in this batch."
            self.fail(index, external, "duplicate_external_id", incoming, message)
            return
        self.seen.add(external)
        self.upsert(external, attributes)

    def upsert(self, external: str, attributes: dict[str, Any]) -> None:
        store, now = self.rt.store, self.rt.clock.now()
        existing = store.vendor_by_external_id(self.org, external)
        if existing is not None:
            merged = existing.attributes
            merged.update(attributes)
            store.put_vendor(dataclasses.replace(existing, attributes_json=dumps(merged), updated_at=now))
            self.updated += 1
            self.results.append(
                {"external_id": external, "coverbase_id": existing.id, "action": "updated", "status": "success"}
            )
            emit(self.rt, self.org, "Vendor.Updated", {"vendor_id": existing.id})
            return
        vendor = VendorRecord(self.org, self.rt.ids.new("cbvndr"), external, dumps(attributes), now, now)
        store.put_vendor(vendor)
        self.created += 1
        self.results.append(
            {"external_id": external, "coverbase_id": vendor.id, "action": "created", "status": "success"}
        )
        emit(
            self.rt,
            self.org,
            "Vendor.Created",
            {"vendor_id": vendor.id},
            attributes=attributes,
            run_input={"vendor_id": vendor.id},
        )


def import_records(call: Call, report_name: str, body: dict[str, Any]) -> Outcome:
    rt, org = call.rt, call.org
    report = org.import_reports.get(report_name)
    if report is None:
        raise rt.errors.coded("import_report_not_found", report_name=report_name)
    received_at = rt.clock.now()
    batch = _Batch(rt, org.id, report)
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
