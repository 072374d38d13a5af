"""Integration surfaces: the Import API's result contract, and the imported vendor among the vendors."""

from __future__ import annotations

from .. import expect
from ..context import NAME_PREFIX, Context
from ..outcome import Skip
from .registry import check

RESULTS_SUCCESSES_ONLY = "import-results-list-successes"
DUPLICATE_LATER = "import-duplicate-fails-later-record"
REPORT_NOT_FOUND = "import-report-not-found-body"


@check("import_api", requires=["importRecords", "listVendors", "createAssessment"])
def import_api(ctx: Context) -> str:
    """Import API: all-failed 400, create, upsert on external_id, duplicates, unknown report."""
    report = ctx.env.objects.import_report
    if report is None:
        raise Skip("no import report named (import_report in --target, or an import report in the mock's fixtures)")
    path = ctx.doc.path("importRecords", report_name=report)
    # A record with no fields fails on its own: the 400 result reveals the mapping without writing anything.
    probe = ctx.client.request("POST", path, json_body={"data": [{}]})
    expect.status(probe, 400, "a batch whose every record fails")
    expect.fields(
        probe,
        {"/received_count": 1, "/created_count": 0, "/updated_count": 0, "/failed_count": 1},
        "the counts of an all-failed batch of one record",
    )
    expect.fields(probe, {"/results": []}, "the results of an all-failed batch", decision=RESULTS_SUCCESSES_ONLY)
    errors = expect.get(probe, "/errors", list)
    codes = {e.get("error_code") for e in errors if isinstance(e, dict)}
    expect.true(
        codes == {"missing_required_field"},
        f"a record without fields fails as missing: {sorted(map(str, codes))}",
        probe,
    )
    name = str(expect.get(probe, "/mapping/name", str))
    external = str(expect.get(probe, "/mapping/external_id", str))

    ctx.begin_example()
    external_id = ctx.unique("import")
    record = {name: NAME_PREFIX + external_id, external: external_id}
    created = ctx.client.request("POST", path, json_body={"data": [record]})
    expect.status(created, 200, "import one new record")
    expect.fields(
        created,
        {"/received_count": 1, "/created_count": 1, "/updated_count": 0, "/failed_count": 0},
        "the counts of a one-record import",
    )
    expect.fields(
        created, {"/results/0/external_id": external_id, "/results/0/action": "created"}, "the record's result"
    )
    vendor_id = str(expect.get(created, "/results/0/coverbase_id", str))
    found = ctx.client.request("GET", ctx.doc.path("listVendors"), params=[("external_id", external_id)])
    expect.status(found, 200, "find the imported vendor by its external_id")
    expect.fields(
        found,
        {"/total": 1, "/items/0/id": vendor_id, "/items/0/external_id": external_id},
        "GET /v1/vendors?external_id= finds the vendor the import created (Pattern 1, then Pattern 2)",
    )

    ctx.begin_example()
    again = ctx.client.request("POST", path, json_body={"data": [record, record]})
    expect.status(again, 200, "re-import the same record twice in one batch")
    expect.fields(
        again,
        {"/results/0/action": "updated", "/results/0/coverbase_id": vendor_id},
        "an upsert on external_id updates the same object",
    )
    duplicates = [e for e in expect.get(again, "/errors", list) if isinstance(e, dict)]
    expect.true(
        any(e.get("error_code") == "duplicate_external_id" for e in duplicates),
        "the same external_id twice in one batch fails one record as duplicate_external_id",
        again,
    )
    expect.equal(
        [(e.get("index"), e.get("error_code")) for e in duplicates],
        [(1, "duplicate_external_id")],
        "the later of two records with one external_id is the one that fails",
        again,
        decision=DUPLICATE_LATER,
    )

    ctx.begin_example()
    missing = ctx.unique("no-such-report")
    unknown = ctx.client.request("POST", ctx.doc.path("importRecords", report_name=missing), json_body={"data": [{}]})
    expect.status(unknown, 404, "an unknown import report")
    expect.coded(
        unknown,
        ctx.doc.coded_error("import_report_not_found"),
        "the body of an unknown import report's 404",
        decision=REPORT_NOT_FOUND,
        report_name=missing,
    )
    ctx.begin_example()
    assessed = ctx.create_assessment(ctx.assessment_body(vendor_id=vendor_id, service_ids=[]))
    expect.status(assessed, 201, "an assessment of the imported vendor")
    return (
        f"report {report}: 400 all-failed, create, found by external_id, upsert, duplicate in batch, unknown report,"
        " imported vendor usable"
    )
