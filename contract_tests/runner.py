"""Runs the selected checks against one target and collects their outcomes."""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from .budget import Budget, BudgetExhausted
from .checks import Check, catalogue
from .client import ApiClient
from .clocks import TOLERANCE_CONTROLLED, TOLERANCE_UNCONTROLLED, ClockControl, TargetTime
from .context import Context
from .document import Document
from .exchange import Exchange
from .oracle import Oracle
from .outcome import CheckResult, Coverage, Finding, Skip, Status, Violation
from .profiles import PROFILES
from .repro import complete
from .target import ConfigError, discover
from .verdicts import CURRENT, Verdicts

ASGI_BASE_URL = "http://testserver"


@dataclass
class Options:
    base_url: str
    api_key: str
    second_api_key: str | None = None
    target: Path | None = None
    profile: str = "quick"
    max_requests: int | None = None
    seed: int = 0
    checks: list[str] = field(default_factory=list)
    spec: Path | None = None
    strict_decisions: bool = False


@dataclass
class Unarchived:
    assessment_id: str
    reason: str


@dataclass
class Run:
    results: list[CheckResult]
    spent: int
    limit: int
    seconds: float
    unarchived: list[Unarchived]
    base_url: str = ""
    control_plane: bool = False
    lenient: bool = False  # Decisions done differently are deviations (a target that is not the mock)
    journal: list[Exchange] = field(default_factory=list)  # every exchange of the run, in order

    @property
    def failed(self) -> bool:
        return any(r.status is Status.FAILED for r in self.results)

    @property
    def deviations(self) -> list[Finding]:
        return [f for r in self.results for f in r.deviations]


def select(names: list[str]) -> list[Check]:
    checks = catalogue()
    if not names:
        return checks
    known = {c.name for c in checks}
    unknown = [n for n in names if n not in known and not any(c.name.startswith(n + ".") for c in checks)]
    if unknown:
        raise ConfigError(f"unknown check(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")
    return [c for c in checks if c.name in names or any(c.name.startswith(n + ".") for n in names)]


def run_suite(
    options: Options,
    *,
    app: Any = None,
    clock: ClockControl | None = None,
    progress: Callable[[str], None] | None = None,
) -> Run:
    """Run against `options.base_url` over HTTP, or against `app` in this process (ASGI)."""
    profile = PROFILES[options.profile]
    checks = select(options.checks)
    doc = Document.load(options.spec)
    budget = Budget(options.max_requests or profile.default_budget)
    started = time.monotonic()
    if app is not None:
        from starlette.testclient import TestClient

        base_url = ASGI_BASE_URL
        http: httpx.Client = TestClient(app, base_url=base_url, raise_server_exceptions=False)
    else:
        base_url = options.base_url.rstrip("/")
        http = httpx.Client(timeout=30.0)
    with http:
        client = ApiClient(http, base_url, {"primary": options.api_key}, budget, Oracle(doc.raw, base_url))
        target_time = TargetTime(TOLERANCE_UNCONTROLLED)
        env = discover(client, options.target, options.second_api_key, clock, target_time)
        if env.clock is not None:
            target_time.tolerance = TOLERANCE_CONTROLLED
        ctx = Context(
            doc=doc,
            client=client,
            env=env,
            profile=profile,
            seed=options.seed,
            budget=budget,
            app=app,
            target_time=target_time,
        )
        lenient = not env.control_plane and not options.strict_decisions
        results = []
        for index, check in enumerate(checks, 1):
            if progress:
                progress(f"[{index}/{len(checks)}] {check.name} ...")
            result = _run_one(ctx, check, lenient)
            if progress:
                extra = f", {len(result.deviations)} deviation(s)" if result.deviations else ""
                progress(f"  {result.status.value} ({result.requests} requests, {result.seconds:.1f}s{extra})")
            results.append(result)
        unarchived = _archive(ctx)
        if env.namespace is not None:
            client.control("DELETE", f"/_mock/namespaces/{env.namespace}")
    for result in results:
        for finding in result.findings:
            finding.steps = complete(finding.steps, client.journal)
    return Run(
        results,
        budget.spent,
        budget.limit,
        time.monotonic() - started,
        unarchived,
        base_url=base_url,
        control_plane=env.control_plane,
        lenient=lenient,
        journal=client.journal,
    )


def _run_one(ctx: Context, check: Check, lenient: bool) -> CheckResult:
    mark = ctx.client.mark()
    ctx.check_mark, ctx.example_mark, ctx.findings = mark, 0, []
    ctx.coverage = Coverage(required_operations=sorted(set(check.requires(ctx))) if check.requires else [])
    spent = ctx.budget.spent
    started = time.monotonic()
    result = CheckResult(check.name, check.description, Status.PASSED)
    verdicts = Verdicts(ctx.doc.decisions, lenient, ctx.steps)
    token = CURRENT.set(verdicts)
    failure: Finding | None = None
    try:
        try:
            result.detail = check.run(ctx) or ""
        except BaseExceptionGroup as group:  # hypothesis' FlakyFailure: report the violation it wraps
            raise _first_of(group) from None
    except Skip as exc:
        result.status, result.detail = Status.SKIPPED, str(exc)
    except BudgetExhausted as exc:
        result.status, result.detail = Status.SKIPPED, f"incomplete: {exc} (raise --max-requests)"
    except Violation as exc:
        failure = _failure(ctx, exc)
    except httpx.HTTPError as exc:
        failure = Finding("failure", f"the target broke the exchange: {type(exc).__name__}: {exc}", steps=ctx.steps())
    except Exception as exc:  # the check could not interpret an answer: a bug of the suite, never a pass
        trace = "".join(traceback.format_exception(exc)[-4:])
        failure = Finding(
            "failure",
            f"the check crashed on an answer it could not interpret ({type(exc).__name__}: {exc});"
            f" this is a bug of coverbase-contract, please report it with the steps below\n{trace}",
            steps=ctx.steps(),
            crashed=True,
        )
    finally:
        CURRENT.reset(token)
    result.findings = [*ctx.findings, *([failure] if failure else []), *verdicts.deviations]
    result.coverage = _coverage(ctx, mark)
    if result.status is not Status.SKIPPED and not result.failures:
        missing = _missing(result.coverage)
        if missing:
            result.findings.insert(0, Finding("failure", "coverage below what the document offers: " + missing))
    if result.failures:
        result.status = Status.FAILED
    elif result.status is Status.PASSED and result.deviations:
        result.status = Status.DEVIATED
    result.seconds = time.monotonic() - started
    result.requests = ctx.budget.spent - spent
    return result


def _failure(ctx: Context, exc: Violation) -> Finding:
    return Finding(
        "failure",
        exc.message,
        exc.mismatches,
        ctx.doc.decision(exc.decision) if exc.decision else None,
        steps=exc.steps if exc.steps is not None else ctx.steps(),
        evidence=exc.exchanges,
        script=exc.script,
    )


def _coverage(ctx: Context, mark: int) -> Coverage:
    coverage = ctx.coverage
    for exchange in ctx.client.since(mark):
        if exchange.is_note:
            continue
        op = ctx.doc.operation_at(exchange.method, ctx.client.relative(exchange.url))
        if op is not None:
            coverage.operations[op] += 1
    return coverage


def _missing(coverage: Coverage) -> str:
    parts = []
    if coverage.missing_operations:
        parts.append("never called " + ", ".join(coverage.missing_operations))
    if coverage.missing_links:
        parts.append("never walked the link(s) " + "; ".join(coverage.missing_links))
    return "; ".join(parts)


def _first_of(group: BaseExceptionGroup[BaseException]) -> BaseException:
    for exc in group.exceptions:
        if isinstance(exc, BaseExceptionGroup):
            return _first_of(exc)
        if isinstance(exc, Violation | Skip | BudgetExhausted):
            return exc
    return group.exceptions[0]


def _archive(ctx: Context) -> list[Unarchived]:
    """Archive (DELETE) every assessment the suite created, with the key that created it; report what is left."""
    left = []
    for item in ctx.created.of("assessment"):
        try:
            reply = ctx.client.request(
                "DELETE", ctx.doc.path("deleteAssessment", assessment_id=item.id), key=item.role, from_reserve=True
            )
        except BudgetExhausted:
            left.append(Unarchived(item.id, "the request budget was spent before cleanup (raise --max-requests)"))
            continue
        except httpx.HTTPError as exc:
            left.append(Unarchived(item.id, f"the DELETE failed in transport: {type(exc).__name__}: {exc}"))
            continue
        if reply.status != 200:
            answer = " ".join(reply.exchange.response_text.split())[:200]
            left.append(Unarchived(item.id, f"the DELETE answered {reply.status} {answer}"))
    return left
