"""Run lifecycle on the target's clock: started -> terminal, completed_at iff terminal, steps only grow."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from ..client import Reply
from ..context import Context
from . import Check, expect

MAX_POLLS = 40


def _check_state(ctx: Context, state: dict[str, Any], reply: Reply) -> None:
    terminal = ctx.doc.terminal_run_statuses()
    done = state["status"] in terminal
    expect.true(state["status"] in ctx.doc.enum("WorkflowRunStatus"), f"unknown status {state['status']}", reply)
    expect.true(
        (state["completed_at"] is not None) == done,
        f"completed_at {state['completed_at']} with status {state['status']}",
        reply,
    )
    if done:
        expect.true(state["completed_at"] >= state["started_at"], "completed_at before started_at", reply)


def lifecycle(ctx: Context) -> str:
    clock = ctx.need_clock()
    initial = ctx.doc.initial_run_status()

    def prop(steps: list[int]) -> None:
        created = ctx.start_run()
        expect.status(created, 201, "run")
        expect.equal(created.body["status"], initial, "a new run's status", created)
        path = ctx.doc.path("getWorkflowRun", workflow_run_id=created.body["workflow_run_id"])
        previous: dict[str, Any] | None = None
        replies: list[Reply] = [created]
        terminal_seen: dict[str, Any] | None = None
        for index in range(MAX_POLLS):
            reply = ctx.client.request("GET", path)
            replies.append(reply)
            expect.status(reply, 200, "read the run")
            state = reply.body
            _check_state(ctx, state, reply)
            if previous is not None:
                if previous["status"] != initial:
                    expect.equal(state, previous, "a terminal run changed", *replies[-2:])
                ids = [s["step_id"] for s in state["steps"]]
                old_ids = [s["step_id"] for s in previous["steps"]]
                expect.true(ids[: len(old_ids)] == old_ids, "steps shrank or were reordered", *replies[-2:])
                expect.equal(state["started_at"], previous["started_at"], "started_at changed", *replies[-2:])
            if state["status"] != initial:
                if terminal_seen is not None:
                    return
                terminal_seen = state
            previous = state
            clock.set(clock.now() + (steps[index] if index < len(steps) else 3600))
        raise expect.fail(f"the run was not terminal after {MAX_POLLS} polls", *replies[-3:])

    ctx.prove(prop, st.lists(st.integers(1, 2400), min_size=1, max_size=8))
    return "runs observed from start to terminal under clock moves"


CHECKS = [
    Check(
        "run_lifecycle", "status only moves started -> terminal, completed_at iff terminal, steps only grow", lifecycle
    )
]
