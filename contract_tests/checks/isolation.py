"""Isolation between organizations: org B sees nothing of org A, reported exactly like a missing object."""

from __future__ import annotations

import secrets

from ..context import Context
from . import Check, expect


def isolation(ctx: Context) -> str:
    ctx.need_second_key()
    doc = ctx.doc
    run = ctx.start_run()
    expect.status(run, 201, "org A starts a run")
    assessment = ctx.create_assessment()
    expect.status(assessment, 201, "org A creates an assessment")
    run_id, assessment_id = run.body["workflow_run_id"], assessment.body["id"]
    pairs = [
        (
            "GET",
            doc.path("getWorkflowRun", workflow_run_id=run_id),
            doc.path("getWorkflowRun", workflow_run_id="cbwr_" + secrets.token_hex(16)),
        ),
        (
            "GET",
            doc.path("getAssessment", assessment_id=assessment_id),
            doc.path("getAssessment", assessment_id="cbqsrw_" + secrets.token_hex(16)),
        ),
        (
            "DELETE",
            doc.path("getAssessment", assessment_id=assessment_id),
            doc.path("getAssessment", assessment_id="cbqsrw_" + secrets.token_hex(16)),
        ),
    ]
    for method, theirs, missing in pairs:
        foreign = ctx.client.request(method, theirs, key="second")
        absent = ctx.client.request(method, missing, key="second")
        expect.equal(
            (foreign.status, foreign.body),
            (absent.status, absent.body),
            f"org B's {method} of org A's object vs a missing one",
            foreign,
            absent,
        )
        expect.true(foreign.status == 404, f"org B's {method} of org A's object answered {foreign.status}", foreign)
    still = ctx.client.request("GET", doc.path("getAssessment", assessment_id=assessment_id))
    expect.equal(still.body.get("status"), assessment.body["status"], "org A's assessment after org B's DELETE", still)
    listed = ctx.client.request(
        "GET",
        doc.path("listWorkflowRuns"),
        key="second",
        params=[("created_at_after", str(run.body["started_at"])), ("limit", "500")],
    )
    expect.status(listed, 200, "org B lists its runs")
    expect.true(run_id not in listed.exchange.response_text, "org B's run list shows org A's run", listed)
    return "run and assessment of org A read, archived and listed with org B's key"


CHECKS = [Check("isolation", "nothing of org A is visible to org B (404, same body as missing)", isolation)]
