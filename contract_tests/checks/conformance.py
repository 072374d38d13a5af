"""Schemathesis over every operation with positive and negative data; each failing pair is its own finding."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hypothesis import given, seed
from schemathesis.core.failures import FailureGroup
from schemathesis.generation import GenerationMode

from .. import determined
from ..client import Reply
from ..context import Context, suite_settings
from ..exchange import Exchange
from ..generated import (
    SCHEMATHESIS_CHECKS,
    Judge,
    check_determined,
    failure,
    load_schema,
    sanitize,
    scrub,
    tested_operations,
    unsafe_operations,
)
from ..outcome import Finding, ScriptCheck
from .registry import check

__all__ = ["SCHEMATHESIS_CHECKS", "conformance"]


def _case_test(
    ctx: Context, judge: Judge, kwargs: dict[str, Any], label: str, first: list[Finding], generated: dict[str, int]
) -> Callable[[Any], None]:
    """The test hypothesis runs for each generated case of one operation and mode."""

    def test(case: Any) -> None:
        sanitize(ctx, case)
        mark = ctx.client.mark()
        response = case.call(**kwargs)
        exchange = Exchange.from_schemathesis(response, ctx.client.keys)
        ctx.client.record(exchange)
        generated[label] += 1
        reply = Reply(exchange.status, exchange.json(), response.headers, exchange)
        ctx.note_created(reply)
        found = check_determined(ctx, judge.classifier, exchange, case)
        if found and not first:
            first.append(
                Finding(
                    "failure",
                    f"{label}: the answer does not repeat what the request determined",
                    found,
                    steps=[exchange],
                    evidence=[exchange],
                    script=ScriptCheck("json", exchange, determined.fixed_fields(found)),
                )
            )
        try:
            case.validate_response(response, checks=SCHEMATHESIS_CHECKS, transport_kwargs=kwargs)
        except FailureGroup as group:
            judged = judge.judge(group, exchange)
            if judge.record(judged, label, ctx.client.since(mark)):
                return
            if not first:
                first.append(failure(judged, label, ctx.client.since(mark)))
            raise
        if first:
            raise AssertionError(first[0].message)

    return test


@check("schema_conformance", requires=tested_operations)
def conformance(ctx: Context) -> str:
    """Every operation with schemathesis' positive and negative data."""
    schema, kwargs = load_schema(ctx)
    judge = Judge(ctx)
    operations = [result.ok() for result in schema.get_all_operations()]
    generated: dict[str, int] = {}
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            label = f"{operation.label} [{mode.value}]"
            first: list[Finding] = []
            generated[label] = 0
            test = _case_test(ctx, judge, kwargs, label, first, generated)
            strategy = operation.as_strategy(generation_mode=mode)
            wrapped = suite_settings(ctx.profile.conformance_examples)(seed(ctx.seed)(given(case=strategy)(test)))
            try:
                wrapped()
            except (FailureGroup, AssertionError):
                pass
            except Exception as exc:  # hypothesis could not generate data, or the target's answer broke the call
                if not first:
                    first.append(
                        Finding(
                            "failure", f"{label}: {type(exc).__name__}: {scrub(ctx, str(exc))}", steps=ctx.steps()[-1:]
                        )
                    )
            ctx.findings.extend(first[:1])
    silent = [label for label, n in generated.items() if n == 0 and "[positive]" in label]
    if silent:
        ctx.findings.append(
            Finding(
                "failure",
                "coverage below what the document offers: no case could be generated for " + ", ".join(silent),
            )
        )
    left_out = unsafe_operations(ctx)
    note = f"; left out on a real deployment (writes it cannot keep safe): {', '.join(left_out)}" if left_out else ""
    negative = sum(n for label, n in generated.items() if "[negative]" in label)
    return (
        f"{len(operations)} operations: {sum(generated.values()) - negative} positive and {negative} negative cases"
        f" (up to {ctx.profile.conformance_examples} per operation and mode){note}"
    )
