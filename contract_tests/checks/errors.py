"""Every documented error, with the body the document's x-error-catalog gives it."""

from __future__ import annotations

import secrets

from hypothesis import strategies as st

from ..context import Context
from . import Check, expect
from .strategies import SAFE_NAME


def coded_errors(ctx: Context) -> str:
    doc = ctx.doc

    def prop(name: str) -> None:
        name = "zz-" + name  # never an existing workflow
        expected = doc.coded_error("workflow_not_found")
        reply = ctx.client.request("POST", ctx.run_path(name), json_body={})
        expect.coded(reply, expected, "run an unknown workflow", workflow_name=name)
        listed = ctx.client.request("GET", doc.path("listWorkflowRuns"), params=[("workflow_name", name)])
        expect.coded(listed, expected, "list runs of an unknown workflow", workflow_name=name)

    ctx.prove(prop, st.text(SAFE_NAME, min_size=1, max_size=20))
    disabled = ctx.env.objects.disabled_workflow
    if disabled is not None:
        expected = doc.coded_error("workflow_disabled")
        reply = ctx.client.request("POST", ctx.run_path(disabled), json_body={})
        expect.coded(reply, expected, "run a disabled workflow", workflow_name=disabled)
    missing_assessment = "cbqsrw_" + secrets.token_hex(16)
    expected = doc.coded_error("assessment_not_found")
    for method in ("GET", "DELETE"):
        reply = ctx.client.request(method, doc.path("getAssessment", assessment_id=missing_assessment))
        expect.coded(reply, expected, f"{method} a missing assessment")
    expected = doc.coded_error("workflow_run_not_found")
    reply = ctx.client.request("GET", doc.path("getWorkflowRun", workflow_run_id="cbwr_" + secrets.token_hex(16)))
    expect.coded(reply, expected, "read a missing run")
    return "workflow_not_found, workflow_disabled, assessment_not_found, workflow_run_not_found" + (
        "" if disabled else " (no disabled workflow named: workflow_disabled not exercised)"
    )


def unauthorized(ctx: Context) -> str:
    status, body = ctx.doc.plain_error("invalid_api_key")
    samples = {
        "authTest": ctx.doc.path("authTest"),
        "listWorkflowRuns": ctx.doc.path("listWorkflowRuns"),
        "getWorkflowRun": ctx.doc.path("getWorkflowRun", workflow_run_id="cbwr_" + "0" * 32),
        "getAssessment": ctx.doc.path("getAssessment", assessment_id="cbqsrw_" + "0" * 32),
    }
    posts = {
        "runWorkflow": (ctx.run_path(ctx.env.objects.enabled_workflow), {}),
        "createAssessment": (ctx.doc.path("createAssessment"), ctx.assessment_body()),
    }

    def prop(credential: str) -> None:
        for label, path in samples.items():
            reply = ctx.client.request(
                "GET", path, key=None, headers={"Authorization": credential} if credential else None
            )
            expect.equal((reply.status, reply.body), (status, body), f"{label} with credential {credential!r}", reply)
            expect.equal(reply.headers.get("www-authenticate"), "Bearer", "WWW-Authenticate header of a 401", reply)
        for label, (path, json_body) in posts.items():
            reply = ctx.client.request(
                "POST",
                path,
                key=None,
                json_body=json_body,
                headers={"Authorization": credential} if credential else None,
            )
            ctx.note_created(reply.status, reply.body)
            expect.equal((reply.status, reply.body), (status, body), f"{label} with credential {credential!r}", reply)

    bad_keys = st.sampled_from(["", "Bearer", "Basic dXNlcjpwYXNz"]) | st.text(
        "abcdef0123456789", min_size=8, max_size=40
    ).map(lambda s: f"Bearer ak_live_{s}")
    ctx.prove(prop, bad_keys, examples=max(3, ctx.profile.examples // 2))
    return "missing, malformed and unknown credentials on every authenticated operation"


CHECKS = [
    Check(
        "errors.coded",
        "workflow_not_found, workflow_disabled, assessment_not_found, workflow_run_not_found with catalog bodies",
        coded_errors,
    ),
    Check(
        "errors.unauthorized",
        "401 with the documented body and WWW-Authenticate without or with a bad key",
        unauthorized,
    ),
]
