"""Run lifecycle on the target's clock: started -> terminal, completed_at iff terminal, steps only grow."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from .. import expect
from ..client import Reply
from ..context import Context
from .registry import check

MAX_POLLS = 40


def _state(ctx: Context, reply: Reply) -> dict[str, Any]:
    """The fields of a run the lifecycle rules speak about, each read with its documented type."""
    state = {
        "status": expect.get(reply, "/status", str),
        "started_at": expect.get(reply, "/started_at", int),
        "completed_at": expect.get(reply, "/completed_at", (int, type(None))),
        "steps": expect.get(reply, "/steps", list),
    }
    state["step_ids"] = [s.get("step_id") if isinstance(s, dict) else s for s in state["steps"]]
    terminal = sorted(ctx.doc.terminal_run_statuses())
    statuses = ctx.doc.enum("WorkflowRunStatus")
    done = state["status"] in terminal
    expect.true(
        state["status"] in statuses,
        f"unknown run status {state['status']!r}",
        reply,
        check=f"body.get('status') in {statuses!r}",
    )
    expect.true(
        (state["completed_at"] is not None) == done,
        f"completed_at is {state['completed_at']} while the status is {state['status']}"
        " (set exactly when the status is terminal)",
        reply,
        check=f"(body.get('completed_at') is not None) == (body.get('status') in {terminal!r})",
    )
    if done:
        expect.true(
            state["completed_at"] >= state["started_at"],
            "completed_at before started_at",
            reply,
            check="body.get('completed_at') is None or body['completed_at'] >= body['started_at']",
        )
    return state


@check("run_lifecycle", requires=["runWorkflow", "getWorkflowRun"])
def lifecycle(ctx: Context) -> str:
    """Status only moves started -> terminal, completed_at iff terminal, steps only grow."""
    clock = ctx.need_clock()
    initial = ctx.doc.initial_run_status()

    def prop(steps: list[int]) -> None:
        created = ctx.start_run()
        expect.premise_status(created, 201, "a new run")
        path = ctx.doc.path("getWorkflowRun", workflow_run_id=str(expect.get(created, "/workflow_run_id", str)))
        previous: dict[str, Any] | None = None
        replies: list[Reply] = [created]
        terminal_seen = False
        for index in range(MAX_POLLS):
            reply = ctx.client.request("GET", path)
            replies.append(reply)
            expect.status(reply, 200, "read the run")
            state = _state(ctx, reply)
            if previous is not None:
                if previous["status"] != initial:
                    expect.same(replies[-2], reply, "a terminal run changed")
                expect.true(
                    state["step_ids"][: len(previous["step_ids"])] == previous["step_ids"],
                    "steps shrank or were reordered",
                    *replies[-2:],
                )
                expect.equal(state["started_at"], previous["started_at"], "started_at changed", *replies[-2:])
            if state["status"] != initial:
                if terminal_seen:
                    return
                terminal_seen = True
            previous = state
            clock.set(clock.now() + (steps[index] if index < len(steps) else 3600))
        raise expect.fail(f"the run was not terminal after {MAX_POLLS} polls", *replies[-3:])

    ctx.prove(prop, st.lists(st.integers(1, 2400), min_size=1, max_size=8))
    return "runs observed from start to terminal under clock moves"
