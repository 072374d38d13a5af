"""Idempotency-Key properties the schema cannot express, read from the document's `x-idempotency`.

Documented facts: keys are scoped to (organization, endpoint, key), a replay inside the window returns
the original status and body and creates nothing. The rest of the policy is the document's Decisions
(`x-decision` on `x-idempotency` and on the Idempotency-Key parameter), named where they are asserted.
Every property first establishes its premise (the first request created something that exists and was
counted); a premise that cannot be established is a failure, never a pass.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from typing import Any

from hypothesis import strategies as st

from .. import expect
from ..client import Reply
from ..context import VENDOR_OPERATION, Context
from ..outcome import ScriptCheck, Skip
from .registry import check
from .strategies import invalid_keys, run_inputs, valid_keys

SCOPE = "idempotency-scope-concrete-path"
CONCURRENCY = "idempotency-concurrency-single-execution"
BODY_MISMATCH = "idempotency-body-mismatch-replays"
STORED = "idempotency-only-2xx-stored"
KEY_FORMAT = "idempotency-key-format"


def _endpoints(ctx: Context) -> list[str]:
    return ctx.idempotent_operations()


def _idempotent_and_reads(ctx: Context) -> Iterable[str]:
    reads = ["getWorkflowRun", "getAssessment", "listWorkflowRuns"]
    return [*_endpoints(ctx), *reads, *(["getVendor", "listVendors"] if VENDOR_OPERATION in _endpoints(ctx) else [])]


def create_idempotent(
    ctx: Context, operation: str, key: str | None, *, run_input: Any = None, body: Any = None
) -> Reply:
    if operation == "runWorkflow":
        return ctx.start_run(key=key, run_input=run_input)
    if operation == VENDOR_OPERATION:
        return ctx.create_vendor(body, key=key)
    return ctx.create_assessment(body, key=key)


def idempotent_body(ctx: Context, operation: str, workflow: str) -> dict[str, Any]:
    """A new request body of an idempotent create (a run's is its input, given separately)."""
    return ctx.vendor_body() if operation == VENDOR_OPERATION else ctx.assessment_body(trigger_workflow=workflow)


def effects(ctx: Context, operation: str, *, role: str = "primary") -> Reply:
    """What an execution of `operation` adds to (a list whose `total` counts it): the workflow's runs, or this
    run's vendors."""
    if operation == VENDOR_OPERATION:
        return ctx.vendors_of_this_run()
    return ctx.runs_listed(role, workflow_name=ctx.env.objects.enabled_workflow)


def _run_of(reply: Reply) -> str:
    return str(expect.get(reply, "/workflow_run_id", str))


def established(ctx: Context, operation: str, first: Reply, before: Reply, *, role: str = "primary") -> Reply:
    """The premise of every property: the first request answered 201, started one run (or made one vendor), and
    what it made exists."""
    expect.premise_status(first, 201, f"a fresh {operation}")
    after = effects(ctx, operation, role=role)
    if operation == VENDOR_OPERATION:
        expect.premise_delta(before, after, 1, "that the first createVendor made exactly one vendor", first)
        vendor = ctx.client.request("GET", ctx.doc.path("getVendor", vendor_id=str(expect.get(first, "/id", str))))
        expect.premise_status(vendor, 200, "that the created vendor is readable", first)
        return after
    expect.premise_delta(before, after, 1, f"that the first {operation} started exactly one run", first)
    run = ctx.client.request("GET", ctx.doc.path("getWorkflowRun", workflow_run_id=_run_of(first)), key=role)
    expect.premise_status(run, 200, f"that the run the first {operation} started is readable", first)
    if operation == "createAssessment":
        assessment_id = str(expect.get(first, "/id", str))
        read = ctx.client.request("GET", ctx.doc.path("getAssessment", assessment_id=assessment_id), key=role)
        expect.premise_status(read, 200, "that the created assessment is readable", first)
    return after


@check("idempotency.replay", requires=_idempotent_and_reads)
def replay(ctx: Context) -> str:
    """A replay inside the window returns the identical status and body and creates nothing."""
    workflow = ctx.env.objects.enabled_workflow

    def prop(run_input: dict[str, Any]) -> None:
        for operation in _endpoints(ctx):
            ctx.begin_example()
            key = ctx.unique("replay")
            body = idempotent_body(ctx, operation, workflow)
            before = effects(ctx, operation)
            first = create_idempotent(ctx, operation, key, run_input=run_input, body=body)
            after_first = established(ctx, operation, first, before)
            again = create_idempotent(ctx, operation, key, run_input=run_input, body=body)
            expect.same(first, again, f"a replay of {operation} returns the original status and body")
            after = effects(ctx, operation)
            made = "vendors" if operation == VENDOR_OPERATION else "runs"
            expect.delta(after_first, after, 0, f"{made} created by a replay of {operation} (list total)", first, again)

    ctx.prove(prop, run_inputs())
    return f"{ctx.profile.examples} examples on each of {', '.join(_endpoints(ctx))}"


@check("idempotency.snapshot", requires=["runWorkflow", "getWorkflowRun"])
def snapshot(ctx: Context) -> str:
    """A replay returns the original snapshot after the run has progressed."""
    clock = ctx.need_clock()
    duration = ctx.env.objects.run_duration_seconds
    if duration is None:
        raise Skip("the enabled workflow's run duration is unknown (set run_duration_seconds in --target)")
    initial = ctx.doc.initial_run_status()

    def prop(extra: int) -> None:
        key = ctx.unique("snapshot")
        first = ctx.start_run(key=key)
        expect.premise_status(first, 201, "a fresh run")
        clock.set(clock.now() + duration + extra)
        read = ctx.client.request("GET", ctx.doc.path("getWorkflowRun", workflow_run_id=_run_of(first)))
        expect.premise_status(read, 200, "that the run is readable", first)
        status = expect.get(read, "/status")
        progressed = ScriptCheck("expr", read.exchange, f"body.get('status') != {initial!r}")
        expect.premise(
            status != initial,
            f"that the run progressed once its duration passed (still {status})",
            first,
            read,
            script=progressed,
        )
        again = ctx.start_run(key=key)
        expect.same(first, again, "a replay after the run progressed returns the original snapshot", read)

    ctx.prove(prop, st.integers(1, 600))
    return "replays compared after each run became terminal"


@check("idempotency.distinct_keys", requires=["runWorkflow", "listWorkflowRuns"])
def distinct_keys(ctx: Context) -> str:
    """Distinct keys give distinct runs."""
    workflow = ctx.env.objects.enabled_workflow

    def prop(k1: str, k2: str) -> None:
        k1, k2 = ctx.unique("a-") + k1, ctx.unique("b-") + k2
        before = ctx.runs_listed(workflow_name=workflow)
        a, b = ctx.start_run(key=k1), ctx.start_run(key=k2)
        expect.premise_status(a, 201, "a run with a fresh key")
        expect.status(b, 201, "a run with another fresh key")
        expect.differs(a, b, "/workflow_run_id", "two distinct keys gave the same run")
        after = ctx.runs_listed(workflow_name=workflow)
        expect.delta(before, after, 2, f"runs of {workflow} created by two distinct keys", a, b)

    ctx.prove(prop, valid_keys(ctx.policy), valid_keys(ctx.policy))
    return "two keys, two runs"


@check("idempotency.endpoint_scope", requires=["runWorkflow", "createAssessment"])
def endpoint_scope(ctx: Context) -> str:
    """The same key on another endpoint (workflow, assessments) is independent."""
    other = ctx.env.objects.other_enabled_workflow
    if other is None:
        raise Skip("the target names only one enabled workflow (other_enabled_workflow)")

    def prop(suffix: str) -> None:
        key = ctx.unique("scope-") + suffix
        a = ctx.start_run(key=key)
        expect.premise_status(a, 201, "a run with a fresh key")
        b = ctx.start_run(workflow=other, key=key)
        c = ctx.create_assessment(key=key)
        if expect.status(b, 201, "the same key on another workflow's path", decision=SCOPE):
            expect.fields(b, {"/workflow_name": other}, "the other workflow's run is its own", decision=SCOPE)
            expect.differs(a, b, "/workflow_run_id", "the same key on another workflow's path replayed", decision=SCOPE)
        expect.status(c, 201, "the same key on /v1/assessments")
        expect.true(
            isinstance(c.body, dict) and "id" in c.body and "vendor_id" in c.body,
            "the same key on /v1/assessments answered a run instead of an assessment",
            a,
            c,
        )

    ctx.prove(prop, valid_keys(ctx.policy))
    return f"paths of {ctx.env.objects.enabled_workflow}, {other} and assessments"


@check("idempotency.org_scope", requires=["runWorkflow"])
def org_scope(ctx: Context) -> str:
    """The same key from another org is independent and reveals nothing."""
    ctx.need_second_key()
    workflow = ctx.env.objects.enabled_workflow

    def prop(suffix: str) -> None:
        key = ctx.unique("org-") + suffix
        a = ctx.start_run(key=key)
        expect.premise_status(a, 201, "org A's run with a fresh key")
        run_id = _run_of(a)
        b = ctx.start_run(key=key, role="second", run_input={})
        expect.true(
            run_id not in b.exchange.response_text, "org B's request with org A's key revealed org A's run", a, b
        )
        expect.status(b, [201, 404, 409], f"org B's run of {workflow} (its own run, or its own not found/disabled)")
        if b.status == 201:
            theirs = ctx.client.request("GET", ctx.doc.path("getWorkflowRun", workflow_run_id=_run_of(b)), key="second")
            expect.status(theirs, 200, "org B reads the run it started")
        again = ctx.start_run(key=key)
        expect.same(a, again, "org A's replay after org B used the same key", b)

    ctx.prove(prop, valid_keys(ctx.policy))
    return "same key from two organizations"


@check("idempotency.concurrency", requires=["runWorkflow", "listWorkflowRuns"])
def concurrency(ctx: Context) -> str:
    """Concurrent same-key requests execute once and get the same body."""
    if ctx.policy.concurrency != "single_execution":
        raise Skip(f"the document's concurrency policy {ctx.policy.concurrency!r} is not checked by this suite")
    workflow = ctx.env.objects.enabled_workflow

    def prop(parallel: int) -> None:
        key = ctx.unique("concurrent")
        before = ctx.runs_listed(workflow_name=workflow)
        barrier = threading.Barrier(parallel)
        replies: list[Reply | None] = [None] * parallel
        errors: list[BaseException] = []

        def send(index: int) -> None:
            try:
                barrier.wait(timeout=10)
                replies[index] = ctx.start_run(key=key)
            except BaseException as exc:  # re-raised below on the checking thread
                errors.append(exc)

        threads = [threading.Thread(target=send, args=(i,)) for i in range(parallel)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=30)
        if errors:
            raise errors[0]
        done = [r for r in replies if r is not None]
        first = done[0]
        expect.premise_status(first, 201, "a run with a fresh key", *done[1:])
        for reply in done[1:]:
            expect.same(first, reply, "concurrent same-key requests got different answers", decision=CONCURRENCY)
        after = ctx.runs_listed(workflow_name=workflow)
        moved = expect.get(after, "/total", int) - expect.get(before, "/total", int)
        expect.premise(
            moved >= 1,
            f"that {parallel} requests with a fresh key started a run (the list total moved by {moved})",
            before,
            *done,
            after,
            script=ScriptCheck("delta", after.exchange, 1, "/total", other=before.exchange),
        )
        expect.equal(
            moved,
            1,
            f"runs of {workflow} created by {parallel} concurrent same-key requests",
            before,
            *done,
            after,
            decision=CONCURRENCY,
        )

    ctx.prove(prop, st.integers(2, 4))
    return "2-4 simultaneous requests per example"


@check("idempotency.body_mismatch", requires=["runWorkflow", "getWorkflowRun", "listWorkflowRuns"])
def body_mismatch(ctx: Context) -> str:
    """A replay with another body gets the original response and starts nothing."""
    if ctx.policy.body_mismatch != "replay_original":
        raise Skip(f"the document's body_mismatch policy {ctx.policy.body_mismatch!r} is not checked by this suite")
    workflow = ctx.env.objects.enabled_workflow

    def prop(first_input: dict[str, Any], second_input: dict[str, Any]) -> None:
        second_input = {**second_input, "mismatch": True}
        key = ctx.unique("mismatch")
        before = ctx.runs_listed(workflow_name=workflow)
        first = ctx.start_run(key=key, run_input=first_input)
        after_first = established(ctx, "runWorkflow", first, before)
        again = ctx.start_run(key=key, run_input=second_input)
        expect.same(first, again, "a replay with another body returns the original response", decision=BODY_MISMATCH)
        after = ctx.runs_listed(workflow_name=workflow)
        moved = expect.get(after, "/total", int) - expect.get(after_first, "/total", int)
        expect.equal(
            moved,
            0,
            "runs created by a replay with another body (list total)",
            first,
            again,
            after,
            decision=BODY_MISMATCH,
        )

    ctx.prove(prop, run_inputs(), run_inputs())
    return "replays with a different input"


@check("idempotency.not_stored_retry", requires=["createAssessment", "runWorkflow"])
def not_stored_retry(ctx: Context) -> str:
    """Outcomes that are not stored can be retried with the same key."""
    policy = ctx.policy
    notes = []

    def prop(suffix: str) -> None:
        key = ctx.unique("retry-") + suffix
        bad = ctx.assessment_body(vendor_id="cbvndr_" + "0" * 32)
        rejected = ctx.create_assessment(bad, key=key)
        expect.premise_status(rejected, 400, "a rejected request (an unknown vendor)")
        retried = ctx.create_assessment(ctx.assessment_body(), key=key)
        expect.status(retried, 201, f"a retry with the same key after a {rejected.status}", decision=STORED)
        missing = ctx.unique("missing-workflow")
        unknown = ctx.client.request("POST", ctx.run_path(missing), json_body={}, headers={policy.header: key})
        expect.premise_status(unknown, 404, "a rejected run (an unknown workflow)")

    ctx.prove(prop, st.text("abcdef0123456789", min_size=1, max_size=8))
    notes.append("400 then 201 on /v1/assessments")
    if ctx.env.rehearsals:
        workflow = ctx.env.objects.enabled_workflow
        key = ctx.unique("dispatch")
        armed = ctx.client.control(
            "POST", "/_mock/rehearsals", {"kind": "dispatch_failure", "workflow_name": workflow, "count": 1}
        )
        expect.premise_status(armed, 201, "an armed dispatch_failure rehearsal")
        failed = ctx.start_run(key=key)
        expect.coded(
            failed,
            ctx.doc.coded_error("workflow_dispatch_failed"),
            "a run during a dispatch failure",
            workflow_run_id=_dispatch_run(failed),
        )
        retried = ctx.start_run(key=key)
        expect.status(retried, 201, "a retry with the same key after a 502", decision=STORED)
        expect.true(
            _run_of(retried) not in failed.exchange.response_text,
            "the retry replayed the failed run",
            failed,
            retried,
            decision=STORED,
        )
        notes.append("502 then 201 on the run endpoint")
    else:
        notes.append("502 retry not exercised: no /_mock/rehearsals on this target")
    return "; ".join(notes)


def _dispatch_run(reply: Reply) -> str:
    """The run ID a workflow_dispatch_failed message carries (the message template's placeholder)."""
    message = str(expect.get(reply, "/detail/message", str))
    start, end = message.rfind("("), message.rfind(")")
    return message[start + 1 : end] if 0 <= start < end else ""


@check("idempotency.invalid_keys", requires=_endpoints)
def invalid_keys_rejected(ctx: Context) -> str:
    """Invalid keys are rejected as documented and start nothing."""
    policy = ctx.policy
    where = ["header", policy.header]
    workflow = ctx.env.objects.enabled_workflow

    def prop(invalid: tuple[str, bytes]) -> None:
        kind, raw = invalid
        for operation in _endpoints(ctx):
            ctx.begin_example()
            before = effects(ctx, operation)
            headers: dict[str, str | bytes] = {policy.header: raw}
            if operation == "runWorkflow":
                reply = ctx.client.request("POST", ctx.run_path(workflow), json_body={}, headers=headers)
            else:
                body = idempotent_body(ctx, operation, workflow)
                reply = ctx.client.request("POST", ctx.doc.path(operation), json_body=body, headers=headers)
            ctx.note_created(reply)
            label = f"{operation} with an invalid {policy.header} ({kind}: {raw[:40]!r})"
            if expect.status(reply, policy.invalid_status, label, decision=KEY_FORMAT):
                detail = reply.body.get("detail") if isinstance(reply.body, dict) else None
                items = [i for i in detail if isinstance(i, dict)] if isinstance(detail, list) else []
                expect.true(
                    any(i.get("loc") == where for i in items),
                    f"{label}: the {policy.invalid_status} names loc {where}",
                    reply,
                    decision=KEY_FORMAT,
                )
                if kind == "pattern":
                    expect.true(
                        any(i.get("type") == policy.invalid_type for i in items),
                        f"{label}: the error's type is {policy.invalid_type}",
                        reply,
                        decision=KEY_FORMAT,
                    )
            after = effects(ctx, operation)
            moved = expect.get(after, "/total", int) - expect.get(before, "/total", int)
            expect.equal(moved, 0, f"objects created by {label}", before, reply, after, decision=KEY_FORMAT)

    ctx.prove(prop, invalid_keys(policy))
    return f"empty, too long, inner whitespace and non-ASCII keys on {', '.join(_endpoints(ctx))}"
