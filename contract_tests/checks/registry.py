"""The check registry: `@check("name")` registers a check once, its description taken from its docstring."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from ..context import Context

CheckFunction = Callable[[Context], str | None]
# The operations (operationIds) a check must have called for its coverage to match what the document offers.
Requirement = Callable[[Context], Iterable[str]]


@dataclass(frozen=True)
class Check:
    name: str
    description: str
    run: CheckFunction
    requires: Requirement | None = None


REGISTRY: list[Check] = []


def check(
    name: str, *, requires: Requirement | Iterable[str] | None = None
) -> Callable[[CheckFunction], CheckFunction]:
    """Register `function` as the check `name`; the first docstring line is its description.

    Checks run in registration order: the order `checks/__init__.py` imports their modules, then the order
    of the decorators within a module. `requires` lists the operations the check must call (or computes
    them from the context); calling fewer is a coverage failure.
    """

    def register(function: CheckFunction) -> CheckFunction:
        doc = inspect.getdoc(function)
        if not doc or not doc.splitlines()[0].strip():
            raise TypeError(f"check {name}: {function.__qualname__} needs a docstring (its first line describes it)")
        if any(existing.name == name for existing in REGISTRY):
            raise ValueError(f"check {name} is registered twice")
        needed: Requirement | None
        if requires is None or callable(requires):
            needed = requires
        else:
            fixed = tuple(requires)

            def needed(ctx: Any) -> Iterable[str]:
                return fixed

        REGISTRY.append(Check(name, doc.splitlines()[0].strip().rstrip("."), function, needed))
        return function

    return register


def catalogue() -> list[Check]:
    """Every registered check, in the order they run."""
    return list(REGISTRY)
