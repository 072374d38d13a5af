"""Assessments: trigger_workflow starts a readable run, unknown workflows create nothing, DELETE is idempotent."""

from __future__ import annotations

from hypothesis import strategies as st

from .. import expect
from ..context import Context
from ..determined import timestamp
from .registry import check
from .strategies import SAFE_NAME

DISABLED_TRIGGER = "assessment-disabled-trigger-409"
ARCHIVE_CANCELS = "assessment-archive-cancels-unfinished"
UNKNOWN_TRIGGER = "assessment-unknown-trigger-creates-nothing"


@check(
    "assessments",
    requires=["createAssessment", "getAssessment", "deleteAssessment", "getWorkflowRun", "listWorkflowRuns"],
)
def assessments(ctx: Context) -> str:
    """Assessments: trigger_workflow starts a readable run, an unknown workflow creates nothing, DELETE idempotent."""
    objects = ctx.env.objects

    def prop(name_suffix: str) -> None:
        for trigger in (False, True):
            ctx.begin_example()
            one(name_suffix, trigger)

    def one(name_suffix: str, trigger: bool) -> None:
        extra = {"trigger_workflow": objects.enabled_workflow} if trigger else {}
        body = ctx.assessment_body(**extra)
        body["name"] += name_suffix
        created = ctx.create_assessment(body)
        expect.premise_status(created, 201, "a new assessment")
        assessment_id = str(expect.get(created, "/id", str))
        if trigger:
            run_id = str(expect.get(created, "/workflow_run_id", str))
            run = ctx.client.request("GET", ctx.doc.path("getWorkflowRun", workflow_run_id=run_id))
            expect.status(run, 200, "read the run trigger_workflow started")
            expect.fields(
                run, {"/workflow_run_id": run_id, "/workflow_name": objects.enabled_workflow}, "the triggered run"
            )
        path = ctx.doc.path("getAssessment", assessment_id=assessment_id)
        read = ctx.client.request("GET", path)
        expect.status(read, 200, "read the assessment")
        shape = {f"/{k}": v for k, v in created.body.items() if k != "workflow_run_id"}
        expect.fields(read, shape, "the read shape repeats the create shape (minus workflow_run_id)")
        bounds = ctx.target_time.bounds()
        first = ctx.client.request("DELETE", path)
        expect.status(first, 200, "archive")
        expect.fields(first, {"/id": assessment_id, "/is_archived": True}, "the archive envelope")
        expect.equal(
            timestamp(first.body, "/archived_at", (bounds[0], ctx.target_time.bounds()[1])),
            [],
            "archived_at is the moment of the archive",
            first,
        )
        expect.fields(
            first, {"/status": "canceled"}, "archiving an unfinished assessment cancels it", decision=ARCHIVE_CANCELS
        )
        second = ctx.client.request("DELETE", path)
        expect.same(first, second, "a repeated archive returns the same envelope")
        again = ctx.client.request("GET", path)
        expect.status(again, 200, "an archived assessment is still readable")

    ctx.prove(prop, st.text(SAFE_NAME, max_size=12))

    ctx.begin_example()
    missing = ctx.unique("no-such-workflow")
    before = ctx.runs_listed()
    reply = ctx.create_assessment(ctx.assessment_body(trigger_workflow=missing))
    expect.coded(
        reply, ctx.doc.coded_error("workflow_not_found"), "trigger_workflow naming no workflow", workflow_name=missing
    )
    after = ctx.runs_listed()
    expect.delta(before, after, 0, "runs started by a rejected assessment", reply, decision=UNKNOWN_TRIGGER)
    if objects.disabled_workflow is not None:
        ctx.begin_example()
        reply = ctx.create_assessment(ctx.assessment_body(trigger_workflow=objects.disabled_workflow))
        expect.coded(
            reply,
            ctx.doc.coded_error("workflow_disabled"),
            "trigger_workflow naming a disabled workflow",
            decision=DISABLED_TRIGGER,
            workflow_name=objects.disabled_workflow,
        )
    return "create/read/archive, trigger_workflow, unknown and disabled workflows"
