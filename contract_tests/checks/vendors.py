"""Vendors & Services API: list and read (always), create, update, services and the fact sheet (writes opt-in)."""

from __future__ import annotations

import secrets
from collections.abc import Iterable

from .. import expect
from ..context import KEY_PREFIX, NAME_PREFIX, Context
from .registry import check

EXTERNAL_ID_UNIQUE = "vendor-external-id-unique"
INVALID_INPUT_400 = "vendor-invalid-input-400"
UNKNOWN_INPUT_IGNORED = "unknown-input-ignored"
SERVICE_OF_ANOTHER_VENDOR = "service-of-another-vendor-not-found"
READS = ["listVendors", "getVendor", "getVendorFactSheet"]
WRITES = ["createVendor", "updateVendor", "createVendorService", "updateVendorService", "refreshVendorFactSheet"]


def _required(ctx: Context) -> Iterable[str]:
    return READS + (WRITES if ctx.env.objects.vendor_writes else [])


@check("vendors", requires=_required)
def vendors(ctx: Context) -> str:
    """Vendors & Services: list filters and paging, read, 404s; create (idempotent), update, services, fact sheet."""
    doc = ctx.doc
    target = ctx.env.objects.vendor_id
    listing = doc.path("listVendors")
    read = ctx.client.request("GET", doc.path("getVendor", vendor_id=target))
    expect.status(read, 200, "read the target's vendor")
    name = str(expect.get(read, "/name", str))
    expect.fields(read, {"/id": target}, "the vendor read is the one asked for")
    expect.get(read, "/services", list)

    ctx.begin_example()
    found = ctx.client.request("GET", listing, params=[("name", name.upper()), ("limit", "200")])
    expect.status(found, 200, "list vendors by name")
    expect.true(
        target in [v.get("id") for v in expect.get(found, "/items", list) if isinstance(v, dict)],
        f"the vendor is not listed under name={name.upper()!r} (a case-insensitive substring)",
        found,
    )
    page = ctx.client.request("GET", listing)
    expect.status(page, 200, "list vendors")
    default = doc.query_schema("listVendors", "limit")
    expect.fields(page, {"/limit": default["default"], "/offset": 0}, "the default page")
    for bad in (default["minimum"] - 1, default["maximum"] + 1):
        ctx.begin_example()
        rejected = ctx.client.request("GET", listing, params=[("limit", str(bad))])
        expect.status(rejected, 422, f"limit={bad}")

    ctx.begin_example()
    missing = "cbvndr_" + secrets.token_hex(16)
    for reply, what in (
        (ctx.client.request("GET", doc.path("getVendor", vendor_id=missing)), "read a missing vendor"),
        (ctx.client.request("GET", doc.path("getVendorFactSheet", vendor_id=missing)), "a missing vendor's fact sheet"),
    ):
        expect.coded(reply, doc.coded_error("vendor_not_found"), what)
    sheet = ctx.client.request("GET", doc.path("getVendorFactSheet", vendor_id=target))
    expect.status(sheet, 200, "a vendor's fact sheet is always 200")
    expect.fields(sheet, {"/vendor_id": target}, "the fact sheet's vendor")
    if not ctx.env.objects.vendor_writes:
        return f"list, read, fact sheet, 404s on {target}; writes not exercised (vendor_writes in --target)"
    _writes(ctx, target)
    return f"list, read, fact sheet, 404s; create (idempotent), update, services, refresh on {target}"


def _writes(ctx: Context, target: str) -> None:
    doc = ctx.doc
    listing = doc.path("listVendors")
    ctx.begin_example()
    external = ctx.unique("vendor")
    body = {"name": NAME_PREFIX + external, "external_id": external, "website": "https://example.com"}
    key = ctx.unique("vendor-key")
    created = ctx.client.request("POST", doc.path("createVendor"), json_body=body, headers={ctx.policy.header: key})
    expect.premise_status(created, 201, "a new vendor")
    vendor_id = str(expect.get(created, "/id", str))
    expect.fields(
        created,
        {"/name": body["name"], "/external_id": external, "/website": body["website"], "/services": []},
        "the new vendor repeats what it was given",
    )
    replay = ctx.client.request(
        "POST",
        doc.path("createVendor"),
        json_body={**body, "name": body["name"] + " 2"},
        headers={ctx.policy.header: key},
    )
    expect.same(created, replay, "a replay of the vendor's creation (Idempotency-Key)")
    by_external = ctx.client.request("GET", listing, params=[("external_id", external)])
    expect.fields(
        by_external,
        {"/total": 1, "/items/0/id": vendor_id},
        "the vendor found by its external_id: exactly one, the replay created none",
    )

    ctx.begin_example()
    twin = ctx.client.request("POST", doc.path("createVendor"), json_body={**body, "name": body["name"] + " twin"})
    expect.coded_as(
        twin, doc.coded_error("invalid_vendor"), "a second vendor with a taken external_id", decision=EXTERNAL_ID_UNIQUE
    )
    ctx.begin_example()
    stranger = "cbuser_" + secrets.token_hex(16)
    foreign = ctx.client.request(
        "POST", doc.path("createVendor"), json_body={"name": NAME_PREFIX + "x", "watcher_ids": [stranger]}
    )
    expect.coded_as(
        foreign, doc.coded_error("invalid_vendor"), "a vendor watched by an unknown user", decision=INVALID_INPUT_400
    )

    ctx.begin_example()
    path = doc.path("updateVendor", vendor_id=vendor_id)
    updated = ctx.client.request("PATCH", path, json_body={"website": None, "description": "updated by the suite"})
    expect.status(updated, 200, "update a vendor")
    expect.fields(
        updated,
        {"/website": body["website"], "/description": "updated by the suite", "/external_id": external},
        "null leaves a field unchanged; a given one changes",
    )
    fixed = ctx.client.request("PATCH", path, json_body={"external_id": KEY_PREFIX + "changed"})
    expect.status(fixed, 200, "a PATCH naming external_id (not a field of the body)", decision=UNKNOWN_INPUT_IGNORED)
    expect.fields(fixed, {"/external_id": external}, "external_id is not updatable")

    ctx.begin_example()
    services_path = doc.path("createVendorService", vendor_id=vendor_id)
    service_body = {"name": NAME_PREFIX + ctx.unique("service")}
    first = ctx.client.request("POST", services_path, json_body=service_body, headers={ctx.policy.header: key})
    again = ctx.client.request("POST", services_path, json_body=service_body, headers={ctx.policy.header: key})
    for reply in (first, again):
        expect.status(reply, 201, "add a service")
        expect.fields(reply, {"/vendor_id": vendor_id, "/name": service_body["name"]}, "the new service")
    expect.differs(first, again, "/id", "a retried service creation creates a second service (not idempotent)")
    service_id = str(expect.get(first, "/id", str))
    by_service = ctx.client.request("GET", listing, params=[("name", service_body["name"]), ("limit", "200")])
    expect.true(
        vendor_id in [v.get("id") for v in expect.get(by_service, "/items", list) if isinstance(v, dict)],
        "name= finds a vendor by one of its services' names",
        by_service,
    )
    renamed = ctx.client.request(
        "PATCH",
        doc.path("updateVendorService", vendor_id=vendor_id, service_id=service_id),
        json_body={"name": service_body["name"] + " renamed", "description": None},
    )
    expect.status(renamed, 200, "update a service")
    expect.fields(renamed, {"/id": service_id, "/name": service_body["name"] + " renamed"}, "the updated service")
    nowhere = ctx.client.request(
        "PATCH",
        doc.path("updateVendorService", vendor_id=vendor_id, service_id="cbsvc_" + secrets.token_hex(16)),
        json_body={"name": "x"},
    )
    expect.coded(nowhere, doc.coded_error("service_not_found"), "update a missing service")
    elsewhere = ctx.client.request(
        "PATCH",
        doc.path("updateVendorService", vendor_id=target, service_id=service_id),
        json_body={"name": "x"},
    )
    expect.coded(
        elsewhere,
        doc.coded_error("service_not_found"),
        "update a service through another vendor",
        decision=SERVICE_OF_ANOTHER_VENDOR,
    )

    ctx.begin_example()
    refresh = ctx.client.request("POST", doc.path("refreshVendorFactSheet", vendor_id=vendor_id))
    expect.status(refresh, 202, "queue a fact sheet")
    expect.fields(refresh, {"/vendor_id": vendor_id, "/status": "pending"}, "the queued fact sheet")
    entity = expect.get(refresh, "/entity_id")
    sheet = ctx.client.request("GET", doc.path("getVendorFactSheet", vendor_id=vendor_id))
    expect.status(sheet, 200, "read the fact sheet being generated")
    expect.true(expect.get(sheet, "/status") is not None, "a refreshed fact sheet has a status", refresh, sheet)
    expect.fields(sheet, {"/entity_id": entity}, "the fact sheet's entity is the refresh's")
    if ctx.env.clock is None:
        return
    clock = ctx.env.clock
    clock.set(clock.now() + 86400)
    done = ctx.client.request("GET", doc.path("getVendorFactSheet", vendor_id=vendor_id))
    expect.fields(done, {"/status": "completed"}, "a fact sheet a day after its refresh")
    expect.get(done, "/generated_at", int)
