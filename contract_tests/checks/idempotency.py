"""Idempotency-Key properties the schema cannot express, read from the document's `x-idempotency`."""

from __future__ import annotations

import threading
from typing import Any

from hypothesis import strategies as st

from ..context import Context
from ..outcome import Skip
from . import Check, expect
from .strategies import invalid_keys, run_inputs, valid_keys


def _endpoints(ctx: Context) -> list[str]:
    return sorted(ctx.policy.operations)


def replay(ctx: Context) -> str:
    """Same key inside the window: identical status and body, nothing new (checked through list and read)."""

    def prop(operation: str, run_input: dict[str, Any]) -> None:
        key = ctx.unique("replay")
        body = ctx.assessment_body(trigger_workflow=ctx.env.objects.enabled_workflow)
        before = ctx.run_total()
        first = (
            ctx.start_run(key=key, run_input=run_input)
            if operation == "runWorkflow"
            else ctx.create_assessment(body, key=key)
        )
        after_first = ctx.run_total()
        again = (
            ctx.start_run(key=key, run_input=run_input)
            if operation == "runWorkflow"
            else ctx.create_assessment(body, key=key)
        )
        if operation == "createAssessment":
            read = ctx.client.request("GET", ctx.doc.path("getAssessment", assessment_id=first.body["id"]))
            expect.status(read, 200, "the created assessment is readable")
        expect.status(first, 201, f"{operation} with a fresh key")
        expect.equal(
            (again.status, again.body),
            (first.status, first.body),
            "a replay returns the original status and body",
            first,
            again,
        )
        run_id = first.body["workflow_run_id"]
        expect.status(
            ctx.client.request("GET", ctx.doc.path("getWorkflowRun", workflow_run_id=run_id)),
            200,
            "the run is readable",
        )
        expect.true(after_first > before, "the first request started no run (list total)", first)
        expect.equal(ctx.run_total() - after_first, 0, "runs created by a replay (list total delta)", first, again)

    ctx.prove(prop, st.sampled_from(_endpoints(ctx)), run_inputs())
    return f"{ctx.profile.examples} examples over {', '.join(_endpoints(ctx))}"


def snapshot(ctx: Context) -> str:
    """A replay is the stored first response even after the run has moved on."""
    clock = ctx.need_clock()
    duration = ctx.env.objects.run_duration_seconds
    if duration is None:
        raise Skip("the enabled workflow's run duration is unknown (set run_duration_seconds in --target)")

    def prop(extra: int) -> None:
        key = ctx.unique("snapshot")
        first = ctx.start_run(key=key)
        expect.status(first, 201, "run with a fresh key")
        clock.set(clock.now() + duration + extra)
        read = ctx.client.request("GET", ctx.doc.path("getWorkflowRun", workflow_run_id=first.body["workflow_run_id"]))
        expect.true(read.body["status"] != first.body["status"], "the run progressed (precondition)", first, read)
        again = ctx.start_run(key=key)
        expect.equal(
            (again.status, again.body),
            (first.status, first.body),
            "a replay after progress returns the original snapshot",
            first,
            read,
            again,
        )

    ctx.prove(prop, st.integers(1, 600))
    return "replays compared after each run became terminal"


def distinct_keys(ctx: Context) -> str:
    def prop(k1: str, k2: str) -> None:
        k1, k2 = ctx.unique("a-") + k1, ctx.unique("b-") + k2
        workflow = ctx.env.objects.enabled_workflow
        before = ctx.run_total(workflow_name=workflow)
        a, b = ctx.start_run(key=k1), ctx.start_run(key=k2)
        expect.status(a, 201, "first key")
        expect.status(b, 201, "second key")
        expect.true(a.body["workflow_run_id"] != b.body["workflow_run_id"], "distinct keys gave the same run", a, b)
        expect.equal(
            ctx.run_total(workflow_name=workflow) - before, 2, f"runs of {workflow} created by two distinct keys", a, b
        )

    ctx.prove(prop, valid_keys(ctx.policy), valid_keys(ctx.policy))
    return "two keys, two runs"


def endpoint_scope(ctx: Context) -> str:
    """The same key on another concrete path (another workflow, or assessments) is independent."""
    other = ctx.env.objects.other_enabled_workflow
    if other is None:
        raise Skip("the target names only one enabled workflow (other_enabled_workflow)")

    def prop(suffix: str) -> None:
        key = ctx.unique("scope-") + suffix
        a = ctx.start_run(key=key)
        b = ctx.start_run(workflow=other, key=key)
        c = ctx.create_assessment(key=key)
        expect.status(a, 201, "run A")
        expect.status(b, 201, "same key, other workflow")
        expect.equal(b.body.get("workflow_name"), other, "the other workflow's run is its own", a, b)
        expect.true(a.body["workflow_run_id"] != b.body["workflow_run_id"], "same key on another path replayed", a, b)
        expect.status(c, 201, "same key on the assessments endpoint")
        expect.true("id" in c.body, "same key on /v1/assessments returned a run instead of an assessment", a, c)

    ctx.prove(prop, valid_keys(ctx.policy))
    return f"paths of {ctx.env.objects.enabled_workflow}, {other} and assessments"


def org_scope(ctx: Context) -> str:
    """The same key from another organization is independent and never reveals the first org's response."""
    ctx.need_second_key()

    def prop(suffix: str) -> None:
        key = ctx.unique("org-") + suffix
        a = ctx.start_run(key=key)
        expect.status(a, 201, "org A's run")
        b = ctx.client.request(
            "POST",
            ctx.run_path(ctx.env.objects.enabled_workflow),
            key="second",
            json_body={"input": {}},
            headers={ctx.policy.header: key},
        )
        ctx.note_created(b.status, b.body)
        expect.true(
            a.body["workflow_run_id"] not in b.exchange.response_text,
            "org B's request with org A's key revealed org A's run",
            a,
            b,
        )
        expect.true(b.status in (201, 404, 409), f"org B got {b.status}", a, b)
        again = ctx.start_run(key=key)
        expect.equal(again.body, a.body, "org A's replay is unaffected by org B", a, b, again)

    ctx.prove(prop, valid_keys(ctx.policy))
    return "same key from two organizations"


def concurrency(ctx: Context) -> str:
    if ctx.policy.concurrency != "single_execution":
        raise Skip(f"the document's concurrency policy {ctx.policy.concurrency!r} is not checked by this suite")

    def prop(parallel: int) -> None:
        key = ctx.unique("concurrent")
        workflow = ctx.env.objects.enabled_workflow
        before = ctx.run_total(workflow_name=workflow)
        barrier = threading.Barrier(parallel)
        replies: list[Any] = [None] * parallel
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
        first = replies[0]
        for reply in replies[1:]:
            expect.equal(
                (reply.status, reply.body),
                (first.status, first.body),
                "concurrent same-key requests got different answers",
                *replies,
            )
        expect.equal(
            ctx.run_total(workflow_name=workflow) - before,
            1,
            f"runs of {workflow} created by concurrent same-key requests",
            *replies,
        )

    ctx.prove(prop, st.integers(2, 4))
    return "2-4 simultaneous requests per example"


def body_mismatch(ctx: Context) -> str:
    if ctx.policy.body_mismatch != "replay_original":
        raise Skip(f"the document's body_mismatch policy {ctx.policy.body_mismatch!r} is not checked by this suite")

    def prop(first_input: dict[str, Any], second_input: dict[str, Any]) -> None:
        second_input = {**second_input, "mismatch": True}
        key = ctx.unique("mismatch")
        first = ctx.start_run(key=key, run_input=first_input)
        before = ctx.run_total()
        again = ctx.start_run(key=key, run_input=second_input)
        expect.equal(
            (again.status, again.body),
            (first.status, first.body),
            "a replay with another body returns the original response",
            first,
            again,
        )
        expect.equal(ctx.run_total() - before, 0, "runs created by a replay with another body", first, again)

    ctx.prove(prop, run_inputs(), run_inputs())
    return "replays with a different input"


def not_stored_retry(ctx: Context) -> str:
    """Outcomes outside stored_statuses are not stored: the same key can be retried."""
    policy = ctx.policy
    notes = []

    def prop(suffix: str) -> None:
        key = ctx.unique("retry-") + suffix
        bad = ctx.assessment_body(vendor_id="cbvndr_" + "0" * 32)
        rejected = ctx.create_assessment(bad, key=key)
        expect.true(
            not policy.stores(rejected.status), f"an unknown vendor should be rejected, got {rejected.status}", rejected
        )
        retried = ctx.create_assessment(ctx.assessment_body(), key=key)
        expect.status(retried, 201, f"retry with the same key after a {rejected.status}")
        missing = ctx.client.request(
            "POST", ctx.run_path(ctx.unique("missing-workflow")), json_body={}, headers={policy.header: key}
        )
        expect.true(not policy.stores(missing.status), f"unknown workflow answered {missing.status}", missing)

    ctx.prove(prop, st.text("abcdef0123456789", min_size=1, max_size=8))
    notes.append("400 then 201 on /v1/assessments")
    if ctx.env.rehearsals:
        workflow = ctx.env.objects.enabled_workflow
        key = ctx.unique("dispatch")
        armed = ctx.client.control(
            "POST", "/_mock/rehearsals", {"kind": "dispatch_failure", "workflow_name": workflow, "count": 1}
        )
        expect.status(armed, 201, "arming a dispatch_failure rehearsal")
        failed = ctx.start_run(key=key)
        expect.status(failed, ctx.doc.coded_error("workflow_dispatch_failed").status, "run during a dispatch failure")
        expect.equal(failed.body["detail"]["code"], "workflow_dispatch_failed", "dispatch failure code", failed)
        retried = ctx.start_run(key=key)
        expect.status(retried, 201, "retry with the same key after a 502")
        failed_id = retried.body["workflow_run_id"]
        expect.true(
            failed_id not in failed.exchange.response_text, "the retry replayed the failed run", failed, retried
        )
        notes.append("502 then 201 on the run endpoint")
    else:
        notes.append("502 retry not exercised: no /_mock/rehearsals on this target")
    return "; ".join(notes)


def invalid_keys_rejected(ctx: Context) -> str:
    policy = ctx.policy

    def prop(operation: str, invalid: tuple[str, bytes]) -> None:
        kind, raw = invalid
        before = ctx.run_total()
        headers: dict[str, str | bytes] = {policy.header: raw}
        if operation == "runWorkflow":
            reply = ctx.client.request(
                "POST", ctx.run_path(ctx.env.objects.enabled_workflow), json_body={}, headers=headers
            )
        else:
            reply = ctx.client.request(
                "POST", ctx.doc.path("createAssessment"), json_body=ctx.assessment_body(), headers=headers
            )
        ctx.note_created(reply.status, reply.body)
        expect.status(reply, policy.invalid_status, f"an invalid Idempotency-Key ({kind})")
        detail = reply.body.get("detail") if isinstance(reply.body, dict) else None
        expect.true(
            isinstance(detail, list) and any(item.get("loc") == ["header", policy.header] for item in detail),
            "the 422 names loc ['header', key header]",
            reply,
        )
        if kind == "pattern" and isinstance(detail, list):
            expect.true(
                any(item.get("type") == policy.invalid_type for item in detail), f"type {policy.invalid_type}", reply
            )
        expect.equal(ctx.run_total() - before, 0, "runs created by a request with an invalid key", reply)

    ctx.prove(prop, st.sampled_from(_endpoints(ctx)), invalid_keys(policy))
    return "empty, too long, inner whitespace and non-ASCII keys"


CHECKS = [
    Check(
        "idempotency.replay",
        "a replay inside the window returns the identical status and body and creates nothing",
        replay,
    ),
    Check("idempotency.snapshot", "a replay returns the original snapshot after the run has progressed", snapshot),
    Check("idempotency.distinct_keys", "distinct keys give distinct runs", distinct_keys),
    Check(
        "idempotency.endpoint_scope",
        "the same key on another endpoint (workflow, assessments) is independent",
        endpoint_scope,
    ),
    Check("idempotency.org_scope", "the same key from another org is independent and reveals nothing", org_scope),
    Check("idempotency.concurrency", "concurrent same-key requests execute once and get the same body", concurrency),
    Check(
        "idempotency.body_mismatch",
        "a replay with another body gets the original response and starts nothing",
        body_mismatch,
    ),
    Check(
        "idempotency.not_stored_retry",
        "outcomes that are not stored can be retried with the same key",
        not_stored_retry,
    ),
    Check(
        "idempotency.invalid_keys", "invalid keys are rejected as documented and start nothing", invalid_keys_rejected
    ),
]
