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
from .clocks import ClockControl
from .context import Context
from .document import Document
from .oracle import Oracle
from .outcome import CheckResult, Skip, Status, Violation
from .profiles import PROFILES
from .target import ConfigError, discover

MAX_REPRO = 8
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


@dataclass
class Run:
    results: list[CheckResult]
    spent: int
    limit: int
    seconds: float
    unarchived: int

    @property
    def failed(self) -> bool:
        return any(r.status is Status.FAILED for r in self.results)


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
        env = discover(client, options.target, options.second_api_key, clock)
        ctx = Context(doc=doc, client=client, env=env, profile=profile, seed=options.seed, budget=budget, app=app)
        results = [_run_one(ctx, check, progress) for check in checks]
        unarchived = _archive(ctx)
    return Run(results, budget.spent, budget.limit, time.monotonic() - started, unarchived)


def _run_one(ctx: Context, check: Check, progress: Callable[[str], None] | None) -> CheckResult:
    if progress:
        progress(f"running {check.name} ...")
    mark = ctx.client.mark()
    spent = ctx.budget.spent
    started = time.monotonic()
    result = CheckResult(check.name, check.description, Status.PASSED)
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
        result.status, result.detail = Status.FAILED, str(exc)
        exchanges = exc.exchanges or ctx.client.journal[max(mark, ctx.example_mark) :]
        result.reproduction = [e.curl() for e in exchanges[-MAX_REPRO:]]
    except Exception as exc:  # the target answered something the check could not even interpret
        result.status = Status.FAILED
        result.detail = f"{type(exc).__name__}: {exc}\n" + "".join(traceback.format_exception(exc)[-3:])
        result.reproduction = [e.curl() for e in ctx.client.journal[max(mark, ctx.example_mark) :][-MAX_REPRO:]]
    result.seconds = time.monotonic() - started
    result.requests = ctx.budget.spent - spent
    if progress:
        progress(f"  {result.status.value} ({result.requests} requests, {result.seconds:.1f}s)")
    return result


def _first_of(group: BaseExceptionGroup[BaseException]) -> BaseException:
    for exc in group.exceptions:
        if isinstance(exc, BaseExceptionGroup):
            return _first_of(exc)
        if isinstance(exc, Violation | Skip | BudgetExhausted):
            return exc
    return group.exceptions[0]


def _archive(ctx: Context) -> int:
    """Archive (DELETE) every assessment the suite created; returns how many could not be archived."""
    left = 0
    for assessment_id in ctx.created.assessments:
        try:
            ctx.client.request(
                "DELETE", ctx.doc.path("deleteAssessment", assessment_id=assessment_id), from_reserve=True
            )
        except (BudgetExhausted, httpx.HTTPError):
            left += 1
    return left
