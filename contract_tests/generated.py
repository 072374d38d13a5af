"""Requests schemathesis generates: the schema bound to the target, kept safe and recognisable, and judged.

A generated request that breaks only the document's Decisions (an unknown field where strict input is
decided, a key outside the decided format, a non-UTF-8 body) tells how the target does those Decisions: on a
target that is not the mock its answer is a deviation, not a failure, and generation goes on so that it hides
no failure. Used by the schema_conformance and stateful_links checks.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests
import schemathesis
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.core.failures import Failure, FailureGroup, ServerError
from schemathesis.openapi.checks import JsonSchemaError
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    ignored_auth,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from . import determined
from .budget import Budget
from .classify import Classifier
from .context import NAME_PREFIX, Context
from .decisions import Decision
from .diff import Mismatch
from .exchange import Exchange
from .outcome import Finding, ScriptCheck
from .verdicts import CURRENT

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
    settings: dict[str, Any] = {"auth": {"openapi": {scheme(ctx): {"bearer": ctx.client.keys["primary"]}}}}
    if not ctx.doc.rejects_unknown_query_parameters:
        # x-unknown-input: an undeclared parameter is ignored, so a request carrying one is not negative data.
        settings["generation"] = {"allow-extra-parameters": False}
    config = SchemathesisConfig.from_dict(settings)
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


def tested_operations(ctx: Context) -> list[str]:
    unsafe = unsafe_operations(ctx)
    return [op for op in ctx.doc.operation_ids if op not in unsafe]


def linked_operations(ctx: Context) -> list[str]:
    tested = set(tested_operations(ctx))
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


def scheme(ctx: Context) -> str:
    schemes = ctx.doc.raw["components"]["securitySchemes"]
    return str(next(name for name, scheme in schemes.items() if scheme.get("scheme") == "bearer"))


def scrub(ctx: Context, text: str) -> str:
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
            scrub(self.ctx, f.title if isinstance(f, JsonSchemaError) else f"{f.title}: {f.message}".strip())
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


def failure(judged: Judged, label: str, steps: list[Exchange]) -> Finding:
    return Finding(
        "failure",
        f"{label}: {judged.message}",
        decision=judged.decisions[0] if judged.decisions else None,
        steps=steps,
        evidence=[judged.exchange],
        script=judged.script,
    )


def check_determined(ctx: Context, classifier: Classifier, exchange: Exchange, case: Any) -> list[Mismatch]:
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
