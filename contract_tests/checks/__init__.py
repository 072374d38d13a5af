"""The catalogue of checks, in the order they run."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ..context import Context


@dataclass(frozen=True)
class Check:
    name: str
    description: str
    run: Callable[[Context], str | None]


def catalogue() -> list[Check]:
    from . import (
        assessments,
        conformance,
        errors,
        idempotency,
        integrations,
        isolation,
        lifecycle,
        list_runs,
        readable,
        window,
    )

    return [
        *idempotency.CHECKS,
        *window.CHECKS,
        *lifecycle.CHECKS,
        *assessments.CHECKS,
        *errors.CHECKS,
        *isolation.CHECKS,
        *list_runs.CHECKS,
        *integrations.CHECKS,
        *conformance.CHECKS,
        *readable.CHECKS,
    ]
