"""Every object the suite created is readable afterwards, and the oracle's verdict on every response."""

from __future__ import annotations

from ..context import Context
from . import Check, expect


def created_resources_readable(ctx: Context) -> str:
    if len(ctx.created.runs) < 2:
        for _ in range(2):
            ctx.start_run()
        trigger = ctx.create_assessment(ctx.assessment_body(trigger_workflow=ctx.env.objects.enabled_workflow))
        expect.status(trigger, 201, "create an assessment with trigger_workflow")
    unreadable = []
    for run_id in list(ctx.created.runs):
        reply = ctx.client.request("GET", ctx.doc.path("getWorkflowRun", workflow_run_id=run_id))
        if reply.status != 200:
            unreadable.append(reply)
    for assessment_id in list(ctx.created.assessments):
        reply = ctx.client.request("GET", ctx.doc.path("getAssessment", assessment_id=assessment_id))
        if reply.status != 200:
            unreadable.append(reply)
    if unreadable:
        raise expect.fail(f"{len(unreadable)} created object(s) not readable", *unreadable[:5])
    return f"{len(ctx.created.runs)} runs and {len(ctx.created.assessments)} assessments re-read"


def oracle(ctx: Context) -> str:
    violations = ctx.client.oracle.violations
    if violations:
        reason = violations[0][1]
        from ..outcome import Violation

        raise Violation(
            f"{len(violations)} response(s) do not match the document; first: {reason}", [e for e, _ in violations[:5]]
        )
    if ctx.client.oracle.validated == 0:
        from ..outcome import Skip

        raise Skip("no property check ran, so the oracle saw no response")
    return f"{ctx.client.oracle.validated} responses validated with openapi-core"


CHECKS = [
    Check(
        "created_resources_readable",
        "every run and assessment the suite created is readable afterwards",
        created_resources_readable,
    ),
    Check("openapi_core_oracle", "every response of the property checks validates with openapi-core", oracle),
]
