"""Isolation between organizations: org B sees nothing of org A, reported exactly like a missing object."""

from __future__ import annotations

import secrets

from .. import expect
from ..context import Context
from .registry import check


@check(
    "isolation",
    requires=[
        "runWorkflow",
        "createAssessment",
        "getWorkflowRun",
        "getAssessment",
        "deleteAssessment",
        "listWorkflowRuns",
    ],
)
def isolation(ctx: Context) -> str:
    """Nothing of org A is visible to org B (404, same body as missing)."""
    ctx.need_second_key()
    doc = ctx.doc
    run = ctx.start_run()
    expect.premise_status(run, 201, "org A's new run")
    assessment = ctx.create_assessment()
    expect.premise_status(assessment, 201, "org A's new assessment")
    run_id = str(expect.get(run, "/workflow_run_id", str))
    assessment_id = str(expect.get(assessment, "/id", str))
    run_path = doc.path("getWorkflowRun", workflow_run_id=run_id)
    assessment_path = doc.path("getAssessment", assessment_id=assessment_id)
    for path, what in ((run_path, "run"), (assessment_path, "assessment")):
        mine = ctx.client.request("GET", path)
        expect.premise_status(mine, 200, f"that org A reads its new {what}")
    pairs = [
        ("GET", run_path, doc.path("getWorkflowRun", workflow_run_id="cbwr_" + secrets.token_hex(16))),
        ("GET", assessment_path, doc.path("getAssessment", assessment_id="cbqsrw_" + secrets.token_hex(16))),
        ("DELETE", assessment_path, doc.path("getAssessment", assessment_id="cbqsrw_" + secrets.token_hex(16))),
    ]
    for method, theirs, missing in pairs:
        ctx.begin_example()
        absent = ctx.client.request(method, missing, key="second")
        foreign = ctx.client.request(method, theirs, key="second")
        expect.status(foreign, 404, f"org B's {method} of org A's object")
        expect.same(absent, foreign, f"org B's {method} of org A's object answers like a missing one")
    ctx.begin_example()
    still = ctx.client.request("GET", assessment_path)
    expect.status(still, 200, "org A reads its assessment after org B's DELETE")
    expect.fields(still, {"/status": expect.get(assessment, "/status")}, "org A's assessment after org B's DELETE")
    listed = ctx.client.request(
        "GET",
        doc.path("listWorkflowRuns"),
        key="second",
        params=[("created_at_after", str(expect.get(run, "/started_at", int))), ("limit", "500")],
    )
    expect.status(listed, 200, "org B lists its runs")
    expect.true(run_id not in listed.exchange.response_text, "org B's run list shows org A's run", listed)
    return "run and assessment of org A read, archived and listed with org B's key"
