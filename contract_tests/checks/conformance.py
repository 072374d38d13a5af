"""Schemathesis: every operation with positive and negative data, then stateful sequences along every link.

Each failing operation/mode pair is its own finding with its own reproduction. A generated request that
breaks only the document's Decisions (an unknown field where strict input is decided, a key outside the
decided format, a non-UTF-8 body) tells how the target does those Decisions: on a target that is not the
mock its answer is a deviation, not a failure, and generation goes on so that it hides no failure.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests
import schemathesis
from hypothesis import given, seed
from hypothesis.stateful import Bundle
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.core.failures import Failure, FailureGroup, ServerError
from schemathesis.generation import GenerationMode
from schemathesis.generation.meta import TestPhase
from schemathesis.generation.stateful.state_machine import StepInput, StepOutput, normalize_name
from schemathesis.openapi.checks import JsonSchemaError
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    ignored_auth,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.specs.openapi.stateful import is_root_allowed, transition

from .. import determined
from ..budget import Budget
from ..classify import Classifier
from ..client import Reply
from ..context import NAME_PREFIX, Context, suite_settings
from ..decisions import Decision
from ..diff import Mismatch
from ..exchange import Exchange
from ..outcome import Finding, ScriptCheck
from ..verdicts import CURRENT
from .registry import check

# use_after_free is left out: deleteAssessment archives (a soft delete), and the document says an archived
# assessment stays readable, which use_after_free would report as a resource used after its deletion.
SCHEMATHESIS_CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    negative_data_rejection,
    ignored_auth,
]
EXTRA_STATEFUL_ROUNDS = 4  # more scenarios (other seeds) while a link of the document is still unwalked
STATEFUL_ROUND_BUDGET = 200  # requests a further round may need
RESPONSE_FAILURES = ("JsonSchemaError",)


class BudgetedSession(requests.Session):
    """Every request schemathesis sends over HTTP, its own probes included, spends the budget."""

    def __init__(self, budget: Budget) -> None:
        super().__init__()
        self.budget = budget

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        self.budget.spend()
        return super().send(request, **kwargs)


class BudgetedApp:
    """The same budget for an in-process ASGI target."""

    def __init__(self, app: Any, budget: Budget) -> None:
        self.app = app
        self.budget = budget

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            # The app's lifespan already runs under the suite's own client; a second one per case would clash.
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        if scope["type"] == "http":
            self.budget.spend()
        await self.app(scope, receive, send)


def load_schema(ctx: Context) -> tuple[Any, dict[str, Any]]:
    """The schema bound to the target, and the keyword arguments every call needs."""
    # Configured (not injected) credentials: schemathesis then knows when its own negative cases drop them.
    config = SchemathesisConfig.from_dict({"auth": {"openapi": {_scheme(ctx): {"bearer": ctx.client.keys["primary"]}}}})
    schema: Any = schemathesis.openapi.from_dict(ctx.doc.copy_raw(), config=config)
    unsafe = unsafe_operations(ctx)
    if unsafe:
        schema = schema.exclude(operation_id=unsafe)
    kwargs: dict[str, Any] = {}
    if ctx.app is not None:
        schema.app = BudgetedApp(ctx.app, ctx.budget)
    else:
        schema.config.update(base_url=ctx.client.base_url)
        kwargs["session"] = BudgetedSession(ctx.budget)
    return schema, kwargs


# Writes that `sanitize` keeps on the target's own objects; any other write is left out on a real deployment.
SANITIZED_WRITES = frozenset({"createAssessment", "runWorkflow", "deleteAssessment"})


def unsafe_operations(ctx: Context) -> list[str]:
    if ctx.env.control_plane:
        return []
    return [op for op in ctx.doc.operation_ids if ctx.doc.method(op) != "GET" and op not in SANITIZED_WRITES]


def _tested_operations(ctx: Context) -> list[str]:
    unsafe = unsafe_operations(ctx)
    return [op for op in ctx.doc.operation_ids if op not in unsafe]


def _linked_operations(ctx: Context) -> list[str]:
    tested = set(_tested_operations(ctx))
    return sorted({op for link in ctx.doc.links for op in (link.source, link.target) if op in tested})


def sanitize(ctx: Context, case: Any) -> None:
    """Keep generated requests recognisable and, on a real deployment, away from workflows it was not given."""
    objects = ctx.env.objects
    if case.operation.label == "POST /v1/assessments" and isinstance(case.body, dict):
        if isinstance(case.body.get("name"), str) and not case.body["name"].startswith(NAME_PREFIX):
            case.body["name"] = NAME_PREFIX + case.body["name"]
        if not ctx.env.control_plane and isinstance(case.body.get("trigger_workflow"), str):
            case.body["trigger_workflow"] = objects.enabled_workflow
    _own_keys(ctx, case)
    assessment_id = (case.path_parameters or {}).get("assessment_id")
    foreign = isinstance(assessment_id, str) and assessment_id not in ctx.created.assessments
    if not ctx.env.control_plane and case.method.upper() == "DELETE" and foreign:
        case.path_parameters["assessment_id"] = "cbqsrw_" + "0" * 32  # never archive what the suite did not create
    if (
        not ctx.env.control_plane
        and case.path_parameters
        and isinstance(case.path_parameters.get("workflow_name"), str)
    ):
        allowed = {objects.enabled_workflow, objects.other_enabled_workflow, objects.disabled_workflow}
        if case.path_parameters["workflow_name"] not in allowed:
            case.path_parameters["workflow_name"] = "coverbase-contract-missing-workflow"


def _own_keys(ctx: Context, case: Any) -> None:
    """A valid generated Idempotency-Key gets the run's own prefix: never a key of another run, or of a user."""
    policy = ctx.policy
    headers = case.headers or {}
    for name, value in list(headers.items()):
        mine = isinstance(value, str) and value.startswith(ctx.key_prefix)
        valid = isinstance(value, str) and policy.key_pattern.fullmatch(value) is not None
        if name.lower() == policy.header.lower() and valid and not mine:
            headers[name] = (ctx.key_prefix + value)[: policy.key_max]


def _scheme(ctx: Context) -> str:
    schemes = ctx.doc.raw["components"]["securitySchemes"]
    return str(next(name for name, scheme in schemes.items() if scheme.get("scheme") == "bearer"))


def _scrub(ctx: Context, text: str) -> str:
    for role, key in ctx.client.keys.items():
        text = text.replace(key, "$API_KEY" if role == "primary" else "$SECOND_API_KEY")
    return text


@dataclass
class Judged:
    """A generated exchange that failed schemathesis' checks, and what it breaks."""

    exchange: Exchange
    message: str
    decisions: list[Decision]  # empty: a documented fact
    script: ScriptCheck | None


class Judge:
    """Turns a schemathesis FailureGroup on one exchange into a failure or a deviation of the document."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.classifier = Classifier(ctx.doc, urlsplit(ctx.client.base_url).path)

    def judge(self, group: FailureGroup, exchange: Exchange) -> Judged:
        failures = [f for f in group.exceptions if isinstance(f, Failure)]
        kinds = {type(f).__name__ for f in failures}
        request = self.classifier.request(exchange)
        answer = self.classifier.response(exchange)
        decisions: list[Decision] = []
        if not any(isinstance(f, ServerError) for f in failures):
            if request.problems:
                decisions = request.decisions if request.only_decisions else []
            elif kinds <= set(RESPONSE_FAILURES) and answer.only_decisions:
                decisions = answer.decisions
        # schemathesis' own text of a schema failure repeats the (truncated) schema; the field-level
        # problems the classifier lists below say the same precisely.
        lines = [
            _scrub(self.ctx, f.title if isinstance(f, JsonSchemaError) else f"{f.title}: {f.message}".strip())
            for f in failures
        ]
        if request.problems:
            lines.append(f"the request breaks: {request.describe()}")
        if answer.problems:
            lines.append(f"the answer breaks: {answer.describe()}")
        return Judged(exchange, "\n".join(lines), decisions, self._script(exchange, kinds))

    def _script(self, exchange: Exchange, kinds: set[str]) -> ScriptCheck:
        op = self.ctx.doc.operation_at(exchange.method, self.ctx.client.relative(exchange.url))
        if "UndefinedStatusCode" in kinds and op is not None:
            documented = sorted(int(s) for s in self.ctx.doc.statuses(op) if s.isdigit())
            return ScriptCheck("status", exchange, documented)
        if kinds & {"ServerError", "ContentTypeServerError"}:
            return ScriptCheck("status", exchange, [s for s in range(100, 500)])
        if "AcceptedNegativeData" in kinds:
            return ScriptCheck("status", exchange, [s for s in range(400, 500)])
        if "JsonSchemaError" in kinds and op is not None:
            schema = self.ctx.doc.response_schema(op, exchange.status)
            if schema is not None:
                return ScriptCheck("schema", exchange, _inline(self.ctx, schema))
        return ScriptCheck("answer", exchange, exchange.status)

    def record(self, judged: Judged, label: str, steps: list[Exchange]) -> bool:
        """Record a deviation (True: generation may go on) or, for a fact or a strict run, return False."""
        verdicts = CURRENT.get()
        if judged.decisions and verdicts is not None and verdicts.lenient:
            verdicts.deviate(
                Finding(
                    "deviation",
                    f"{label}: " + judged.message.splitlines()[0],
                    decision=judged.decisions[0],
                    steps=steps,
                    evidence=[judged.exchange],
                    script=judged.script,
                    mismatches=[Mismatch("(decisions)", ", ".join(d.id for d in judged.decisions), "done otherwise")]
                    if len(judged.decisions) > 1
                    else [],
                )
            )
            return True
        return False


def _inline(ctx: Context, schema: Any, depth: int = 0) -> Any:
    """`schema` with every $ref replaced by its target (for a reproduction script's own validator)."""
    if depth > 20:
        return {}
    if isinstance(schema, dict):
        if isinstance(schema.get("$ref"), str):
            return _inline(ctx, ctx.doc.pointer(schema["$ref"]), depth + 1)
        return {k: _inline(ctx, v, depth + 1) for k, v in schema.items() if not k.startswith("x-")}
    if isinstance(schema, list):
        return [_inline(ctx, v, depth + 1) for v in schema]
    return schema


def _failure(judged: Judged, label: str, steps: list[Exchange]) -> Finding:
    return Finding(
        "failure",
        f"{label}: {judged.message}",
        decision=judged.decisions[0] if judged.decisions else None,
        steps=steps,
        evidence=[judged.exchange],
        script=judged.script,
    )


def _check_determined(ctx: Context, classifier: Classifier, exchange: Exchange, case: Any) -> list[Mismatch]:
    """The fields a valid generated create request determines, compared with its 201 answer."""
    fresh = ctx.first_use_of_key(exchange)
    if exchange.status != 201 or not fresh or classifier.request(exchange).problems:
        return []
    body = exchange.json()
    sent = case.body if isinstance(case.body, dict) else {}
    if case.operation.label.endswith("/run"):
        return determined.run_created(
            body,
            workflow=str(case.path_parameters.get("workflow_name")),
            sent_input=sent.get("input", {}),
            initial=ctx.doc.initial_run_status(),
            bounds=None,
        )
    if case.operation.label == "POST /v1/assessments":
        return determined.assessment_created(body, sent, initial=ctx.initial_assessment_status(), bounds=None)
    return []


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
        found = _check_determined(ctx, judge.classifier, exchange, case)
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
                first.append(_failure(judged, label, ctx.client.since(mark)))
            raise
        if first:
            raise AssertionError(first[0].message)

    return test


@check("schema_conformance", requires=_tested_operations)
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
                            "failure", f"{label}: {type(exc).__name__}: {_scrub(ctx, str(exc))}", steps=ctx.steps()[-1:]
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

    preparers: dict[str, Callable[[Any], None]] = {"runWorkflow": run, "createAssessment": assessment}
    if mapping is not None and "name" in mapping and "external_id" in mapping:
        preparers["importRecords"] = imports
    return preparers


def _focused(ctx: Context, op_id: str, allowed: Callable[[Any], bool]) -> Callable[[Any], bool]:
    """A root's precondition: schemathesis' own, and - while links remain unwalked - one of them starts here."""
    outgoing = [link.label for link in ctx.doc.links if link.source == op_id]

    def precondition(machine: Any) -> bool:
        missing = set(ctx.coverage.missing_links)
        return bool(allowed(machine)) and (not missing or any(label in missing for label in outgoing))

    return precondition


def _link_names(ctx: Context, schema: Any) -> dict[str, str]:
    """schemathesis' transition id of each document link -> the link's label in the suite's reports."""
    labels = {}
    for link in ctx.doc.links:
        source = f"{ctx.doc.method(link.source)} {ctx.doc.template(link.source)}"
        target = f"{ctx.doc.method(link.target)} {ctx.doc.template(link.target)}"
        labels[f"{source} -> [{link.status}] {link.name} -> {target}"] = link.label
    return labels


@check("stateful_links", requires=_linked_operations)
def stateful(ctx: Context) -> str:
    """Stateful schemathesis sequences along every link of the document; created resources readable."""
    schema, kwargs = load_schema(ctx)
    judge = Judge(ctx)
    labels = _link_names(ctx, schema)
    tested = set(_tested_operations(ctx))
    failures: list[Finding] = []
    preparers = _root_preparers(ctx)
    unreachable = {link.source for link in ctx.doc.links} - set(preparers) - (set(ctx.doc.operation_ids) - tested)
    ctx.coverage.required_links = [
        link.label
        for link in ctx.doc.links
        if link.source in tested and link.target in tested and link.source not in unreachable
    ]
    base = schema.as_state_machine()
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
            precondition=_focused(ctx, op_id, is_root_allowed(operation.label)),
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
            found = _check_determined(ctx, judge.classifier, exchange, case)
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
            if isinstance(reply.body.get("workflow_run_id"), str):
                targets.append(ctx.doc.path("getWorkflowRun", workflow_run_id=reply.body["workflow_run_id"]))
            if isinstance(reply.body.get("id"), str) and "vendor_id" in reply.body:
                targets.append(ctx.doc.path("getAssessment", assessment_id=reply.body["id"]))
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
                    failures.append(_failure(judged, f"stateful step {case.operation.label}", steps))
                raise

    rounds = 0
    for rounds in range(1 + EXTRA_STATEFUL_ROUNDS):
        run_settings = suite_settings(ctx.profile.stateful_examples, stateful_step_count=ctx.profile.stateful_steps)
        seed(ctx.seed + rounds)(Machine)  # each round its own scenarios, reproducible for a given target
        try:
            Machine.run(settings=run_settings)
        except (FailureGroup, AssertionError):
            pass  # recorded by validate_response
        except Exception as exc:  # the suite could not interpret an answer: a bug of the suite, never a pass
            if not failures:
                failures.append(
                    Finding(
                        "failure",
                        f"the stateful scenarios crashed ({type(exc).__name__}: {exc});"
                        " this is a bug of coverbase-contract",
                        steps=ctx.steps()[-5:],
                        crashed=True,
                    )
                )
        if failures or not ctx.coverage.missing_links or ctx.budget.remaining < STATEFUL_ROUND_BUDGET:
            break
    ctx.findings.extend(failures[:1])
    walked = len(ctx.coverage.required_links) - len(ctx.coverage.missing_links)
    note = ""
    if "importRecords" in unreachable:
        note = "; the links of importRecords need an import report (import_report in --target)"
    return (
        f"{(rounds + 1) * ctx.profile.stateful_examples} scenarios of up to {ctx.profile.stateful_steps} steps;"
        f" links walked {walked}/{len(ctx.coverage.required_links)}{note}"
    )
