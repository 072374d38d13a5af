"""Schemathesis: every operation with positive and negative data, then stateful sequences along the links."""

from __future__ import annotations

import contextlib
from typing import Any

import requests
import schemathesis
from hypothesis import given, seed
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.core.failures import FailureGroup
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    ignored_auth,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
    use_after_free,
)

from ..budget import Budget
from ..context import NAME_PREFIX, Context, suite_settings
from ..outcome import Violation
from . import Check

SCHEMATHESIS_CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    negative_data_rejection,
    ignored_auth,
    use_after_free,
]
MAX_REPORTED = 5


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


def sanitize(ctx: Context, case: Any) -> None:
    """Keep generated requests recognisable and, on a real deployment, away from workflows it was not given."""
    objects = ctx.env.objects
    if case.operation.label == "POST /v1/assessments" and isinstance(case.body, dict):
        if isinstance(case.body.get("name"), str):
            case.body["name"] = NAME_PREFIX + case.body["name"]
        if not ctx.env.control_plane and isinstance(case.body.get("trigger_workflow"), str):
            case.body["trigger_workflow"] = objects.enabled_workflow
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


def _scheme(ctx: Context) -> str:
    schemes = ctx.doc.raw["components"]["securitySchemes"]
    return str(next(name for name, scheme in schemes.items() if scheme.get("scheme") == "bearer"))


def _record(ctx: Context, case: Any, response: Any) -> None:
    if response.status_code == 201:
        with contextlib.suppress(ValueError):
            ctx.note_created(201, response.json())


def _scrub(ctx: Context, text: str) -> str:
    for role, key in ctx.client.keys.items():
        text = text.replace(key, "$API_KEY" if role == "primary" else "$SECOND_API_KEY")
    return text


def conformance(ctx: Context) -> str:
    schema, kwargs = load_schema(ctx)
    failures: list[str] = []
    operations = [result.ok() for result in schema.get_all_operations()]
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            def test(case: Any) -> None:
                sanitize(ctx, case)
                response = case.call(**kwargs)
                _record(ctx, case, response)
                case.validate_response(response, checks=SCHEMATHESIS_CHECKS, transport_kwargs=kwargs)

            strategy = operation.as_strategy(generation_mode=mode)
            wrapped = suite_settings(ctx.profile.conformance_examples)(seed(ctx.seed)(given(case=strategy)(test)))
            try:
                wrapped()
            except FailureGroup as group:
                failures.append(f"{operation.label} [{mode.value}]: {_scrub(ctx, str(group))}")
    if failures:
        raise Violation(f"{len(failures)} operation/mode pair(s) failed:\n" + "\n".join(failures[:MAX_REPORTED]))
    left_out = unsafe_operations(ctx)
    note = f"; left out on a real deployment (writes it cannot keep safe): {', '.join(left_out)}" if left_out else ""
    return f"{len(operations)} operations x positive/negative, {ctx.profile.conformance_examples} cases each{note}"


def stateful(ctx: Context) -> str:
    schema, kwargs = load_schema(ctx)
    unreadable: list[str] = []
    base = schema.as_state_machine()

    class Machine(base):  # type: ignore[valid-type, misc]
        def before_call(self, case: Any) -> None:
            sanitize(ctx, case)

        def get_call_kwargs(self, case: Any) -> dict[str, Any]:
            return dict(kwargs)

        def after_call(self, response: Any, case: Any) -> None:
            super().after_call(response, case)
            _record(ctx, case, response)
            if response.status_code != 201:
                return
            body = response.json()
            targets = []
            if isinstance(body.get("workflow_run_id"), str):
                targets.append(ctx.doc.path("getWorkflowRun", workflow_run_id=body["workflow_run_id"]))
            if isinstance(body.get("id"), str):
                targets.append(ctx.doc.path("getAssessment", assessment_id=body["id"]))
            for path in targets:
                read = ctx.client.request("GET", path)
                if read.status != 200:
                    unreadable.append(read.exchange.curl())

        def validate_response(self, response: Any, case: Any, additional_checks: Any = None, **kw: Any) -> None:
            case.validate_response(
                response,
                checks=SCHEMATHESIS_CHECKS,
                transport_kwargs=kw or None,
                recorder=getattr(self, "recorder", None),
            )

    run_settings = suite_settings(ctx.profile.stateful_examples, stateful_step_count=ctx.profile.stateful_steps)
    try:
        Machine.run(settings=run_settings)
    except FailureGroup as group:
        raise Violation(f"stateful sequence failed: {_scrub(ctx, str(group))}") from None
    if unreadable:
        raise Violation(
            f"{len(unreadable)} created resource(s) not readable right after creation:\n"
            + "\n".join(unreadable[:MAX_REPORTED])
        )
    return f"{ctx.profile.stateful_examples} scenarios of up to {ctx.profile.stateful_steps} linked steps"


CHECKS = [
    Check("schema_conformance", "schemathesis over every operation, positive and negative data", conformance),
    Check(
        "stateful_links",
        "schemathesis stateful sequences along the document's links; created resources readable",
        stateful,
    ),
]
