"""The idempotency window, measured on the target's clock with the boundary the document states.

That a key replays for 24 hours after first use is a documented fact; the exact boundary (a key first
used at T replays at T + 86399 and executes anew from T + 86400) is the Decision
`idempotency-window-boundary`.
"""

from __future__ import annotations

from hypothesis import strategies as st

from .. import expect
from ..client import Reply
from ..context import Context
from ..outcome import Skip
from .idempotency import create_idempotent, effects, idempotent_body
from .registry import check

ATTEMPTS = 6  # a real second may tick between steps; such an attempt is inconclusive and retried
BOUNDARY = "idempotency-window-boundary"


@check("idempotency.window", requires=lambda ctx: [*ctx.idempotent_operations(), "listWorkflowRuns"])
def window(ctx: Context) -> str:
    """Replay just before the window ends, new execution at its documented end."""
    clock = ctx.need_clock()
    policy = ctx.policy
    workflow = ctx.env.objects.enabled_workflow

    def create(operation: str, key: str) -> Reply:
        # A vendor's body is new each time (its external_id must be): inside the window the key replays anyway.
        return create_idempotent(ctx, operation, key, body=idempotent_body(ctx, operation, workflow))

    def attempt(operation: str) -> bool:
        """One try at pinning the boundary; False when a real second ticked in between (inconclusive)."""
        ctx.begin_example()
        key = ctx.unique("window")
        t0 = clock.now()
        first = create(operation, key)
        if clock.now() != t0:
            return False
        expect.premise_status(first, 201, f"a fresh {operation}")
        if clock.set(t0 + policy.last_replay_offset) != t0 + policy.last_replay_offset:
            return False
        before = effects(ctx, operation)
        late = create(operation, key)
        if clock.now() != t0 + policy.last_replay_offset:
            return False
        expect.same(
            first, late, f"{operation} replayed at first use + {policy.last_replay_offset}s (inside the window)"
        )
        after = effects(ctx, operation)
        expect.delta(
            before, after, 0, f"objects created by a replay at first use + {policy.last_replay_offset}s", first, late
        )
        # Any moment at or after the end is outside the window; the real clock may already be past it.
        clock.set(max(t0 + policy.first_expired_offset, clock.now()))
        fresh = create(operation, key)
        at = f"first use + {policy.first_expired_offset}s (the window is over)"
        if expect.status(fresh, 201, f"{operation} with the same key at {at}", decision=BOUNDARY):
            pointer = "/workflow_run_id" if operation == "runWorkflow" else "/id"  # an assessment's or vendor's
            expect.differs(first, fresh, pointer, f"at {at} the key still replayed", late, decision=BOUNDARY)
        return True

    def prop(_: int) -> None:
        for operation in ctx.idempotent_operations():
            if not any(attempt(operation) for _ in range(ATTEMPTS)):
                raise Skip("the target's clock kept ticking between steps; the window boundary could not be pinned")

    ctx.prove(prop, st.integers(0, 10**6), examples=max(1, min(ctx.profile.examples, 4) // 2))
    kind = "exclusive" if policy.boundary_exclusive else "inclusive"
    replay_at, fresh_at = policy.last_replay_offset, policy.first_expired_offset
    return f"window {policy.window_seconds}s ({kind}): replay at +{replay_at}s, new execution at +{fresh_at}s"
