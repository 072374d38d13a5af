"""A lint finding: where (JSON pointer), which rule, what is wrong and how to fix it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, order=True)
class Finding:
    pointer: str
    rule: str
    message: str
    fix: str

    def render(self, source: str) -> str:
        return f"{source}: {self.pointer}: [{self.rule}] {self.message} Fix: {self.fix}"
