"""Assessments: trigger_workflow starts a readable run, unknown workflows create nothing, DELETE is idempotent."""

from __future__ import annotations

from hypothesis import strategies as st

from ..context import Context
from . import Check, expect
from .strategies import SAFE_NAME


def assessments(ctx: Context) -> str:
    objects = ctx.env.objects

    def prop(name_suffix: str, trigger: bool) -> None:
        extra = {"trigger_workflow": objects.enabled_workflow} if trigger else {}
        body = ctx.assessment_body(**extra)
        body["name"] += name_suffix
        created = ctx.create_assessment(body)
        expect.status(created, 201, "create an assessment")
        expect.equal(created.body["name"], body["name"], "the assessment's name", created)
        run_id = created.body["workflow_run_id"]
        if trigger:
            expect.true(isinstance(run_id, str), "trigger_workflow returned no workflow_run_id", created)
            run = ctx.client.request("GET", ctx.doc.path("getWorkflowRun", workflow_run_id=run_id))
            expect.status(run, 200, "read the triggered run")
            expect.equal(
                run.body["workflow_name"], objects.enabled_workflow, "the triggered run's workflow", created, run
            )
        else:
            expect.equal(run_id, None, "workflow_run_id without trigger_workflow", created)
        path = ctx.doc.path("getAssessment", assessment_id=created.body["id"])
        read = ctx.client.request("GET", path)
        expect.status(read, 200, "read the assessment")
        same = {k: v for k, v in created.body.items() if k != "workflow_run_id"}
        expect.equal(
            {k: read.body.get(k) for k in same}, same, "the read shape repeats the create shape", created, read
        )
        first = ctx.client.request("DELETE", path)
        expect.status(first, 200, "archive")
        second = ctx.client.request("DELETE", path)
        expect.status(second, 200, "archive again")
        expect.equal(second.body, first.body, "a repeated archive returns the same envelope", first, second)
        expect.status(ctx.client.request("GET", path), 200, "an archived assessment is still readable")

    ctx.prove(prop, st.text(SAFE_NAME, max_size=12), st.booleans())

    missing = ctx.unique("no-such-workflow")
    before = ctx.run_total()
    reply = ctx.create_assessment(ctx.assessment_body(trigger_workflow=missing))
    expected = ctx.doc.coded_error("workflow_not_found")
    expect.coded(reply, expected, "trigger_workflow naming no workflow", workflow_name=missing)
    expect.equal(ctx.run_total() - before, 0, "runs started by a rejected assessment", reply)
    if objects.disabled_workflow is not None:
        reply = ctx.create_assessment(ctx.assessment_body(trigger_workflow=objects.disabled_workflow))
        expected = ctx.doc.coded_error("workflow_disabled")
        expect.coded(
            reply, expected, "trigger_workflow naming a disabled workflow", workflow_name=objects.disabled_workflow
        )
    return "create/read/archive, trigger_workflow, unknown and disabled workflows"


CHECKS = [
    Check(
        "assessments",
        "trigger_workflow returns a readable run; unknown workflow creates nothing; DELETE idempotent",
        assessments,
    )
]
