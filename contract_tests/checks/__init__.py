"""The catalogue of checks: each module registers its checks with `@check`; MODULES sets the run order."""

from __future__ import annotations

import importlib

from .registry import Check, catalogue, check

# Imported eagerly, in this order: the catalogue runs the checks of each module in the order they are declared.
MODULES = (
    "idempotency",
    "window",
    "lifecycle",
    "assessments",
    "progress",
    "errors",
    "isolation",
    "list_runs",
    "vendors",
    "integrations",
    "webhooks",
    "conformance",
    "stateful",
    "readable",
)

for _module in MODULES:
    importlib.import_module(f"{__name__}.{_module}")

__all__ = ["MODULES", "Check", "catalogue", "check"]
