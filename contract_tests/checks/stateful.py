"""Stateful schemathesis sequences along every link of the document: a root per link source, all links walked."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import requests
from hypothesis import seed
from hypothesis.errors import Flaky
from hypothesis.stateful import Bundle
from schemathesis.core.failures import FailureGroup
from schemathesis.generation import GenerationMode
from schemathesis.generation.meta import TestPhase
from schemathesis.generation.stateful.state_machine import StepInput, StepOutput, normalize_name
from schemathesis.specs.openapi.stateful import is_root_allowed, transition

from .. import determined
from ..client import Reply
from ..context import NAME_PREFIX, Context, suite_settings
from ..exchange import Exchange
from ..generated import (
    SCHEMATHESIS_CHECKS,
    Judge,
    check_determined,
    failure,
    linked_operations,
    load_schema,
    sanitize,
    tested_operations,
    unsafe_operations,
)
from ..outcome import Finding, ScriptCheck
from .registry import check

EXTRA_STATEFUL_ROUNDS = 10  # more scenarios (other seeds) while a link of the document is still unwalked
STATEFUL_ROUND_BUDGET = 200  # requests a further round may need


# Stateful: a root rule per link source, so that every link of the document can be walked.


def _import_mapping(ctx: Context) -> dict[str, str] | None:
    """The import report's mapping (Coverbase field -> display name), from an all-failed probe that writes nothing."""
    report = ctx.env.objects.import_report
    if report is None or "importRecords" in unsafe_operations(ctx):
        return None
    probe = ctx.client.request("POST", ctx.doc.path("importRecords", report_name=report), json_body={"data": [{}]})
    mapping = probe.body.get("mapping") if isinstance(probe.body, dict) else None
    if not isinstance(mapping, dict) or not all(isinstance(v, str) for v in mapping.values()):
        return None
    return {str(k): str(v) for k, v in mapping.items()}


def _root_preparers(ctx: Context) -> dict[str, Callable[[Any], None]]:
    """For each operation a link starts from: how to turn a generated case into one that succeeds."""
    objects = ctx.env.objects
    mapping = _import_mapping(ctx)

    def run(case: Any) -> None:
        case.path_parameters = {**(case.path_parameters or {}), "workflow_name": objects.enabled_workflow}

    def assessment(case: Any) -> None:
        body = dict(case.body) if isinstance(case.body, dict) else {}
        for name in ("assignee_id", "supporting_document_ids", "assessment_name_format"):
            body.pop(name, None)
        body.update(
            vendor_id=objects.vendor_id,
            control_set_ids=list(objects.control_set_ids),
            service_ids=list(objects.service_ids),
            trigger_workflow=objects.enabled_workflow,
            name=NAME_PREFIX + ctx.unique("stateful"),
        )
        case.body = body

    def imports(case: Any) -> None:
        assert mapping is not None and objects.import_report is not None
        external = ctx.unique("stateful-import")
        case.path_parameters = {**(case.path_parameters or {}), "report_name": objects.import_report}
        case.body = {
            "data": [
                {
                    mapping.get("name", "Name"): NAME_PREFIX + external,
                    mapping.get("external_id", "External Id"): external,
                }
            ]
        }

    def vendor(case: Any) -> None:
        case.body = {"name": NAME_PREFIX + ctx.unique("stateful-vendor"), "external_id": ctx.unique("stateful-ext")}

    def of_vendor(case: Any) -> None:
        case.path_parameters = {**(case.path_parameters or {}), "vendor_id": objects.vendor_id}

    def service(case: Any) -> None:
        of_vendor(case)
        case.body = {"name": NAME_PREFIX + ctx.unique("stateful-service")}

    def webhook(case: Any) -> None:
        assert objects.webhook_url is not None
        events = sorted(ctx.doc.raw["x-webhook-events"]["events"])[:1]
        case.body = {"url": objects.webhook_url, "events": events, "secret": "coverbase-contract-" + "s" * 16}
        case.body["enabled"] = False  # never delivered to: the suite only walks the links

    preparers: dict[str, Callable[[Any], None]] = {"runWorkflow": run, "createAssessment": assessment}
    if mapping is not None and "name" in mapping and "external_id" in mapping:
        preparers["importRecords"] = imports
    if objects.vendor_writes:
        preparers.update(createVendor=vendor, createVendorService=service, refreshVendorFactSheet=of_vendor)
    if objects.webhook_url is not None:
        preparers["createWebhook"] = webhook
    return preparers


class Focus:
    """The links still unwalked when a round began: fixed for the round, so that no precondition changes within it.

    hypothesis replays prefixes of its earlier scenarios and expects the same rules to be enabled each time; a
    precondition reading the live coverage turns off mid-round and fails the round as FlakyStrategyDefinition.
    """

    def __init__(self) -> None:
        self.missing: frozenset[str] = frozenset()


def _focused(ctx: Context, op_id: str, allowed: Callable[[Any], bool], focus: Focus) -> Callable[[Any], bool]:
    """A root's precondition: schemathesis' own, and - while links remained unwalked when the round began - one of
    them starts here."""
    outgoing = [link.label for link in ctx.doc.links if link.source == op_id]

    def precondition(machine: Any) -> bool:
        return bool(allowed(machine)) and (not focus.missing or any(label in focus.missing for label in outgoing))

    return precondition


def _link_names(ctx: Context, schema: Any) -> dict[str, str]:
    """schemathesis' transition id of each document link -> the link's label in the suite's reports."""
    labels = {}
    for link in ctx.doc.links:
        source = f"{ctx.doc.method(link.source)} {ctx.doc.template(link.source)}"
        target = f"{ctx.doc.method(link.target)} {ctx.doc.template(link.target)}"
        labels[f"{source} -> [{link.status}] {link.name} -> {target}"] = link.label
    return labels


@check("stateful_links", requires=linked_operations)
def stateful(ctx: Context) -> str:
    """Stateful schemathesis sequences along every link of the document; created resources readable."""
    schema, kwargs = load_schema(ctx)
    judge = Judge(ctx)
    labels = _link_names(ctx, schema)
    tested = set(tested_operations(ctx))
    failures: list[Finding] = []
    preparers = _root_preparers(ctx)
    unreachable = {link.source for link in ctx.doc.links} - set(preparers) - (set(ctx.doc.operation_ids) - tested)
    ctx.coverage.required_links = [
        link.label
        for link in ctx.doc.links
        if link.source in tested and link.target in tested and link.source not in unreachable
    ]
    base = schema.as_state_machine()
    focus = Focus()
    roots: dict[str, Any] = {}
    for result in schema.get_all_operations():
        operation = result.ok()
        op_id = operation.definition.raw.get("operationId")
        if op_id not in preparers:
            continue
        prepare = preparers[op_id]

        def prepared(case: Any, prepare: Callable[[Any], None] = prepare) -> StepInput:
            prepare(case)
            return StepInput.initial(case)

        name = normalize_name(f"ROOT -> {operation.label}")
        strategy = operation.as_strategy(generation_mode=GenerationMode.POSITIVE, phase=TestPhase.STATEFUL)
        roots[name] = transition(
            name=name,
            target=Bundle("catch_all"),
            precondition=_focused(ctx, op_id, is_root_allowed(operation.label), focus),
            input=strategy.map(prepared),
        )
    root_labels = {f"{ctx.doc.method(op)} {ctx.doc.template(op)}" for op in preparers}

    # schemathesis' own roots with random data for the same operations rarely succeed (unknown workflow names,
    # vendors, reports): they are replaced (schema_conformance covers random data for every operation).
    replaced = {
        name for name in base.root_rules if any(name == normalize_name(f"RANDOM -> {label}") for label in root_labels)
    }

    class Machine(base):  # type: ignore[valid-type, misc]
        root_rules = (base.root_rules - replaced) | frozenset(roots)
        _root_labels = base._root_labels | frozenset(root_labels)
        locals().update(roots)
        locals().update(dict.fromkeys(replaced))

        def setup(self) -> None:
            self.scenario_mark = ctx.client.mark()

        def step(self, input: StepInput) -> StepOutput:
            output: StepOutput = super().step(input)
            if input.transition is not None and input.is_applied and input.transition.id in labels:
                ctx.coverage.links[labels[input.transition.id]] += 1
            return output

        def before_call(self, case: Any) -> None:
            sanitize(ctx, case)

        def get_call_kwargs(self, case: Any) -> dict[str, Any]:
            return dict(kwargs)

        def after_call(self, response: Any, case: Any) -> None:
            super().after_call(response, case)
            exchange = Exchange.from_schemathesis(response, ctx.client.keys)
            ctx.client.record(exchange)
            self.last = exchange
            reply = Reply(exchange.status, exchange.json(), response.headers, exchange)
            ctx.note_created(reply)
            if failures:
                return
            found = check_determined(ctx, judge.classifier, exchange, case)
            if found:
                failures.append(
                    Finding(
                        "failure",
                        f"{case.operation.label}: the answer does not repeat what the request determined",
                        found,
                        steps=ctx.client.since(self.scenario_mark),
                        evidence=[exchange],
                        script=ScriptCheck("json", exchange, determined.fixed_fields(found)),
                    )
                )
            if exchange.status != 201 or not isinstance(reply.body, dict):
                return
            targets = []
            created_by = case.operation.definition.raw.get("operationId")
            if isinstance(reply.body.get("workflow_run_id"), str):
                targets.append(ctx.doc.path("getWorkflowRun", workflow_run_id=reply.body["workflow_run_id"]))
            readers = {
                "createAssessment": ("getAssessment", "assessment_id"),
                "createVendor": ("getVendor", "vendor_id"),
            }
            if created_by in readers and isinstance(reply.body.get("id"), str):
                reader, name = readers[created_by]
                targets.append(ctx.doc.path(reader, **{name: reply.body["id"]}))
            for path in targets:
                read = ctx.client.request("GET", path)
                if read.status != 200 and not failures:
                    failures.append(
                        Finding(
                            "failure",
                            f"a resource created by {case.operation.label} is not readable right after"
                            f" creation: GET {path} answered {read.status}",
                            steps=ctx.client.since(self.scenario_mark),
                            evidence=[exchange, read.exchange],
                            script=ScriptCheck("status", read.exchange, [200]),
                        )
                    )

        def validate_response(self, response: Any, case: Any, additional_checks: Any = None, **kw: Any) -> None:
            try:
                case.validate_response(
                    response,
                    checks=SCHEMATHESIS_CHECKS,
                    transport_kwargs=kw or None,
                    recorder=getattr(self, "recorder", None),
                )
            except FailureGroup as group:
                judged = judge.judge(group, self.last)
                steps = ctx.client.since(self.scenario_mark)
                if judge.record(judged, f"stateful step {case.operation.label}", steps):
                    return
                if not failures:
                    failures.append(failure(judged, f"stateful step {case.operation.label}", steps))
                raise

    rounds = cut_short = 0
    for rounds in range(1 + EXTRA_STATEFUL_ROUNDS):
        run_settings = suite_settings(ctx.profile.stateful_examples, stateful_step_count=ctx.profile.stateful_steps)
        seed(ctx.seed + rounds)(Machine)  # each round its own scenarios, reproducible for a given target
        focus.missing = frozenset(ctx.coverage.missing_links)
        try:
            Machine.run(settings=run_settings)
        except (FailureGroup, AssertionError):
            pass  # recorded by validate_response
        except Flaky:
            # The target's state is external to hypothesis: a response that fills a bundle (a subscription deleted
            # by an earlier scenario, ...) may differ when hypothesis replays a prefix, which ends the round. What
            # the round found is already recorded; schemathesis' own stateful runner treats it the same way.
            cut_short += 1
        except (requests.RequestException, httpx.HTTPError, OSError) as exc:  # the target stopped answering
            if not failures:
                failures.append(
                    Finding(
                        "failure", f"the target broke the exchange: {type(exc).__name__}: {exc}", steps=ctx.steps()[-5:]
                    )
                )
        except Exception as exc:  # the suite could not interpret an answer: a bug of the suite, never a pass
            if not failures:
                failures.append(
                    Finding(
                        "failure",
                        f"the stateful scenarios crashed ({type(exc).__name__}: {exc}); this is a bug of"
                        " coverbase-contract",
                        steps=ctx.steps()[-5:],
                        crashed=True,
                    )
                )
        if failures or not ctx.coverage.missing_links or ctx.budget.remaining < STATEFUL_ROUND_BUDGET:
            break
    ctx.findings.extend(failures[:1])
    walked = len(ctx.coverage.required_links) - len(ctx.coverage.missing_links)
    note = ""
    if cut_short:
        note += f"; {cut_short} round(s) ended early (the target's state changed a replayed scenario)"
    if "importRecords" in unreachable:
        note += "; the links of importRecords need an import report (import_report in --target)"
    return (
        f"{(rounds + 1) * ctx.profile.stateful_examples} scenarios of up to {ctx.profile.stateful_steps} steps;"
        f" links walked {walked}/{len(ctx.coverage.required_links)}{note}"
    )
