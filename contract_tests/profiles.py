"""How hard each profile pushes hypothesis and schemathesis."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Profile:
    name: str
    examples: int  # hypothesis examples per property
    conformance_examples: int  # schemathesis cases per operation and generation mode
    stateful_examples: int  # state machine scenarios
    stateful_steps: int
    default_budget: int


PROFILES = {
    "quick": Profile(
        "quick", examples=5, conformance_examples=12, stateful_examples=8, stateful_steps=6, default_budget=3000
    ),
    "thorough": Profile(
        "thorough", examples=40, conformance_examples=100, stateful_examples=60, stateful_steps=12, default_budget=30000
    ),
}
