"""Every documented error, with the body the document's x-error-catalog gives it."""

from __future__ import annotations

import secrets
from typing import Any

from hypothesis import strategies as st

from .. import expect
from ..context import NAME_PREFIX, Context
from .registry import check
from .strategies import SAFE_NAME

WWW_AUTHENTICATE = "unauthorized-www-authenticate"
MISSING_REPORT = "coverbase-contract-missing-report"


@check(
    "errors.coded",
    requires=["runWorkflow", "listWorkflowRuns", "getAssessment", "deleteAssessment", "getWorkflowRun"],
)
def coded_errors(ctx: Context) -> str:
    """Coded errors with their catalog bodies (workflow_not_found, _disabled, assessment/run not found)."""
    doc = ctx.doc

    def prop(name: str) -> None:
        name = "zz-" + name  # never an existing workflow
        expected = doc.coded_error("workflow_not_found")
        reply = ctx.client.request("POST", ctx.run_path(name), json_body={})
        expect.coded(reply, expected, "run an unknown workflow", workflow_name=name)
        listed = ctx.client.request("GET", doc.path("listWorkflowRuns"), params=[("workflow_name", name)])
        expect.coded(listed, expected, "list runs of an unknown workflow", workflow_name=name)

    ctx.prove(prop, st.text(SAFE_NAME, min_size=1, max_size=20))
    ctx.begin_example()
    disabled = ctx.env.objects.disabled_workflow
    if disabled is not None:
        reply = ctx.client.request("POST", ctx.run_path(disabled), json_body={})
        expect.coded(reply, doc.coded_error("workflow_disabled"), "run a disabled workflow", workflow_name=disabled)
    missing_assessment = "cbqsrw_" + secrets.token_hex(16)
    for method in ("GET", "DELETE"):
        ctx.begin_example()
        reply = ctx.client.request(method, doc.path("getAssessment", assessment_id=missing_assessment))
        expect.coded(reply, doc.coded_error("assessment_not_found"), f"{method} a missing assessment")
    ctx.begin_example()
    reply = ctx.client.request("GET", doc.path("getWorkflowRun", workflow_run_id="cbwr_" + secrets.token_hex(16)))
    expect.coded(reply, doc.coded_error("workflow_run_not_found"), "read a missing run")
    return "workflow_not_found, workflow_disabled, assessment_not_found, workflow_run_not_found" + (
        "" if disabled else " (no disabled workflow named: workflow_disabled not exercised)"
    )


def _authenticated(ctx: Context) -> list[str]:
    return [op for op in ctx.doc.operation_ids if ctx.doc.operation(op).get("security", ctx.doc.raw.get("security"))]


def _sample(ctx: Context, operation: str) -> tuple[str, str, Any]:
    """A request to `operation` that would be valid with a key: method, path, JSON body (or None)."""
    objects = ctx.env.objects
    values = {
        "workflow_name": objects.enabled_workflow,
        "assessment_id": "cbqsrw_" + "0" * 32,
        "workflow_run_id": "cbwr_" + "0" * 32,
        "report_name": objects.import_report or MISSING_REPORT,
        "vendor_id": objects.vendor_id,
        "service_id": "cbsvc_" + "0" * 32,
        "webhook_id": "cbwh_" + "0" * 32,
    }
    method = ctx.doc.method(operation)
    path = ctx.doc.path(operation, **values)
    # Bodies a valid key would make succeed (or meet a documented 4xx): nothing is written without a key.
    bodies: dict[str, Any] = {
        "runWorkflow": {},
        "createAssessment": ctx.assessment_body(),
        "importRecords": {"data": [{}]},
        "createVendor": ctx.vendor_body(),
        "updateVendor": {},
        "createVendorService": {"name": NAME_PREFIX + "service"},
        "updateVendorService": {},
        "createWebhook": {"url": "https://example.com/coverbase-contract", "events": [], "secret": "s" * 16},
        "updateWebhook": {},
        "testWebhook": {},
    }
    return method, path, bodies.get(operation)


@check("errors.unauthorized", requires=_authenticated)
def unauthorized(ctx: Context) -> str:
    """401 with the documented body and WWW-Authenticate without or with a bad key."""
    status, body = ctx.doc.plain_error("invalid_api_key")
    operations = _authenticated(ctx)

    def prop(credential: str) -> None:
        for operation in operations:
            ctx.begin_example()
            method, path, json_body = _sample(ctx, operation)
            reply = ctx.client.request(
                method,
                path,
                key=None,
                json_body=json_body,
                headers={"Authorization": credential} if credential else None,
            )
            ctx.note_created(reply)
            what = f"{operation} with credential {credential!r}"
            expect.fields(reply, {expect.STATUS: status, "/detail": body["detail"]}, what)
            expect.equal(
                reply.headers.get("www-authenticate"),
                "Bearer",
                f"{what}: WWW-Authenticate of the 401",
                reply,
                decision=WWW_AUTHENTICATE,
            )

    bad_keys = st.sampled_from(["", "Bearer", "Basic dXNlcjpwYXNz"]) | st.text(
        "abcdef0123456789", min_size=8, max_size=40
    ).map(lambda s: f"Bearer ak_live_{s}")
    ctx.prove(prop, bad_keys, examples=max(3, ctx.profile.examples // 2))
    return f"missing, malformed and unknown credentials on {len(operations)} operations"
