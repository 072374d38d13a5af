"""Every object the suite created is readable afterwards (with the key that created it); the oracle's verdict."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from .. import expect
from ..classify import Classifier
from ..context import Context
from ..decisions import Decision
from ..exchange import Exchange
from ..outcome import Finding, ScriptCheck, Skip, Violation
from ..verdicts import CURRENT
from .registry import check

REPORTED = 20  # unreadable objects whose steps go into the reproduction (the message lists all of them)
ID = re.compile(r"[0-9a-f]{32}")


@check("created_resources_readable", requires=["getWorkflowRun", "getAssessment"])
def created_resources_readable(ctx: Context) -> str:
    """Every run and assessment the suite created is readable afterwards."""
    if len(ctx.created.of("run")) < 2 or not ctx.created.of("assessment"):
        for _ in range(2):
            ctx.start_run()
        trigger = ctx.create_assessment(ctx.assessment_body(trigger_workflow=ctx.env.objects.enabled_workflow))
        expect.premise_status(trigger, 201, "a new assessment to re-read")
    objects = ctx.created.of("run") + ctx.created.of("assessment")
    expect.premise(bool(objects), "that the suite created anything to re-read")
    unreadable = []
    for item in objects:
        op = "getWorkflowRun" if item.kind == "run" else "getAssessment"
        params = {"workflow_run_id": item.id} if item.kind == "run" else {"assessment_id": item.id}
        reply = ctx.client.request("GET", ctx.doc.path(op, **params), key=item.role)
        if reply.status != 200:
            unreadable.append((item, reply))
    if unreadable:
        steps = [e for item, reply in unreadable[:REPORTED] for e in (item.exchange, reply.exchange)]
        lines = [
            f"{item.kind} {item.id} (created with the {item.role} key) answered {reply.status}"
            for item, reply in unreadable
        ]
        violation = Violation(
            f"{len(unreadable)} of {len(objects)} created object(s) not readable with the key that created them:\n"
            + "\n".join(lines),
            [reply.exchange for _, reply in unreadable[:REPORTED]],
            script=ScriptCheck(
                "status", unreadable[0][1].exchange, [200], also=[reply.exchange for _, reply in unreadable[1:REPORTED]]
            ),
        )
        violation.steps = steps
        raise violation
    runs, assessments = len(ctx.created.of("run")), len(ctx.created.of("assessment"))
    roles = sorted({o.role for o in objects})
    return f"{runs} runs and {assessments} assessments re-read with the key that created each ({', '.join(roles)})"


@check("openapi_core_oracle", requires=[])
def oracle(ctx: Context) -> str:
    """Every response of the property checks validates with openapi-core."""
    observed = ctx.client.oracle
    if observed.validated == 0:
        raise Skip("no property check ran, so the oracle saw no response")
    classifier = Classifier(ctx.doc, urlsplit(ctx.client.base_url).path)
    verdicts = CURRENT.get()
    failures = []
    for exchange, reason in observed.violations:
        answer = classifier.response(exchange)
        request = classifier.request(exchange)
        decisions = answer.decisions if answer.only_decisions and not request.facts else []
        if decisions and verdicts is not None and verdicts.lenient:
            verdicts.deviate(
                Finding(
                    "deviation",
                    f"{exchange.method} {exchange.url}: {answer.describe()}",
                    decision=decisions[0],
                    steps=[exchange],
                    evidence=[exchange],
                    script=ScriptCheck("answer", exchange, exchange.status),
                )
            )
            continue
        failures.append((exchange, answer.describe() or reason, decisions))
    groups: dict[tuple[str | None, int, str], list[tuple[Exchange, str, list[Decision]]]] = {}
    for exchange, reason, decisions in failures:
        op = ctx.doc.operation_at(exchange.method, ctx.client.relative(exchange.url))
        groups.setdefault((op, exchange.status, ID.sub("<id>", reason)), []).append((exchange, reason, decisions))
    for (op, status, _), members in groups.items():
        exchange, reason, decisions = members[0]
        more = f" ({len(members)} responses like it)" if len(members) > 1 else ""
        ctx.findings.append(
            Finding(
                "failure",
                f"{op} {status}{more}: {reason}",
                decision=decisions[0] if decisions else None,
                steps=[exchange],
                evidence=[exchange],
                script=ScriptCheck("answer", exchange, exchange.status),
            )
        )
    return f"{observed.validated} responses validated with openapi-core"
