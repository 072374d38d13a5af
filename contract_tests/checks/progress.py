"""Assessments progress on the target's clock: statuses only move forward, initiated_at, score and findings."""

from __future__ import annotations

from typing import Any

from .. import expect
from ..client import Reply
from ..context import Context
from ..outcome import Skip
from .registry import check

MOVES_FORWARD = "assessment-status-moves-forward"
FIRST_STEP_SECONDS = 30
HORIZON_SECONDS = 30 * 86400


@check("assessment_progress", requires=["createAssessment", "getAssessment"])
def progress(ctx: Context) -> str:
    """An assessment moves forward through the documented statuses to complete or failed (needs clock control)."""
    clock = ctx.need_clock()
    lifecycle = ctx.doc.raw["components"]["schemas"]["AssessmentStatus"]["x-lifecycle"]
    order = [lifecycle["initial"], *lifecycle["working"]]
    finished = set(lifecycle["finished"])
    created = ctx.create_assessment()
    expect.premise_status(created, 201, "a new assessment")
    created_at = int(expect.get(created, "/created_at", int))
    path = ctx.doc.path("getAssessment", assessment_id=str(expect.get(created, "/id", str)))
    start = clock.now()
    step = FIRST_STEP_SECONDS
    replies: list[Reply] = [created]
    seen: list[str] = []
    initiated: Any = None
    while clock.now() - start <= HORIZON_SECONDS:
        reply = ctx.client.request("GET", path)
        replies.append(reply)
        expect.status(reply, 200, "read the assessment")
        status = str(expect.get(reply, "/status", str))
        at = expect.get(reply, "/initiated_at", (int, type(None)))
        if status not in seen:
            seen.append(status)
        rank = [s for s in seen if s not in finished]
        expect.true(
            rank == sorted(rank, key=lambda s: order.index(s) if s in order else len(order))
            and status in [*order, *finished],
            f"the status went {' -> '.join(seen)}: not forward in the documented order {order}",
            *replies[-2:],
            decision=MOVES_FORWARD,
        )
        expect.true(
            (at is None) == (status == lifecycle["initial"]),
            f"initiated_at is {at} while the status is {status} (set when work starts)",
            reply,
            decision=MOVES_FORWARD,
        )
        if at is not None:
            expect.true(at >= created_at, "initiated_at before created_at", reply)
            expect.true(initiated in (None, at), f"initiated_at changed from {initiated} to {at}", *replies[-2:])
            initiated = at
        if status in finished:
            _finished(ctx, clock, path, reply, status)
            return f"{' -> '.join(seen)} within {clock.now() - start} s of the target's clock"
        clock.set(clock.now() + step)
        step *= 2
    if seen == [lifecycle["initial"]]:
        raise Skip(f"the assessment did not start within {HORIZON_SECONDS // 86400} days: nothing to judge")
    raise expect.fail(f"the assessment was still {seen[-1]} after {HORIZON_SECONDS // 86400} days", *replies[-2:])


def _finished(ctx: Context, clock: Any, path: str, reply: Reply, status: str) -> None:
    if status == "complete":
        expect.get(reply, "/score_percent", (int, float))
        expect.get(reply, "/findings_count", int)
    clock.set(clock.now() + 86400)
    later = ctx.client.request("GET", path)
    expect.same(reply, later, "a finished assessment changed", decision=MOVES_FORWARD)
