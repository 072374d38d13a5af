"""The idempotency window, measured on the target's clock with the boundary the document states."""

from __future__ import annotations

from hypothesis import strategies as st

from ..context import Context
from ..outcome import Skip
from . import Check, expect

ATTEMPTS = 6  # a real second may tick between steps; such an attempt is inconclusive and retried


def window(ctx: Context) -> str:
    clock = ctx.need_clock()
    policy = ctx.policy

    def prop(operation: str) -> None:
        for _ in range(ATTEMPTS):
            key = ctx.unique("window")
            t0 = clock.now()
            first = ctx.start_run(key=key) if operation == "runWorkflow" else ctx.create_assessment(key=key)
            if clock.now() != t0:
                continue
            expect.status(first, 201, "first use")
            if clock.set(t0 + policy.last_replay_offset) != t0 + policy.last_replay_offset:
                continue
            before = ctx.run_total()
            late = ctx.start_run(key=key) if operation == "runWorkflow" else ctx.create_assessment(key=key)
            if clock.now() != t0 + policy.last_replay_offset:
                continue
            expect.equal(
                (late.status, late.body),
                (first.status, first.body),
                f"replay at first use + {policy.last_replay_offset}s (inside the window)",
                first,
                late,
            )
            expect.equal(ctx.run_total() - before, 0, "runs created by a replay at the end of the window", first, late)
            # Any moment at or after the end is outside the window; the real clock may already be past it.
            clock.set(max(t0 + policy.first_expired_offset, clock.now()))
            fresh = ctx.start_run(key=key) if operation == "runWorkflow" else ctx.create_assessment(key=key)
            expect.status(fresh, 201, f"same key at first use + {policy.first_expired_offset}s")
            expect.true(
                fresh.body != first.body,
                f"at first use + {policy.first_expired_offset}s (window over) the key still replayed",
                first,
                late,
                fresh,
            )
            return
        raise Skip("the target's clock kept ticking between steps; the window boundary could not be pinned")

    ctx.prove(prop, st.sampled_from(sorted(policy.operations)), examples=min(ctx.profile.examples, 4))
    kind = "exclusive" if policy.boundary_exclusive else "inclusive"
    replay_at, fresh_at = policy.last_replay_offset, policy.first_expired_offset
    return f"window {policy.window_seconds}s ({kind}): replay at +{replay_at}s, new execution at +{fresh_at}s"


CHECKS = [
    Check("idempotency.window", "replay just before the window ends, new execution at its documented end", window)
]

__all__ = ["CHECKS", "Skip"]
