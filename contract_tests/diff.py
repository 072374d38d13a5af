"""Field-level differences between two JSON values, addressed by JSON pointer (RFC 6901)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

MISSING: Any = type("Missing", (), {"__repr__": lambda self: "<missing>"})()


@dataclass(frozen=True)
class Mismatch:
    """At `pointer`, the document requires `expected` and the target answered `got` (either may be MISSING)."""

    pointer: str
    expected: Any
    got: Any

    def render(self) -> str:
        return f"{self.pointer or '/'}: expected {show(self.expected)}, got {show(self.got)}"


def show(value: Any) -> str:
    """A value as compact JSON (never truncated); MISSING as `(absent)`."""
    if value is MISSING:
        return "(absent)"
    try:
        return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(", ", ": "))
    except (TypeError, ValueError):
        return repr(value)


def escape(token: str | int) -> str:
    return str(token).replace("~", "~0").replace("/", "~1")


def join(base: str, token: str | int) -> str:
    return f"{base}/{escape(token)}"


def diff(expected: Any, got: Any, base: str = "") -> list[Mismatch]:
    """Every leaf where `got` differs from `expected`; objects by key, arrays by index, the rest by equality."""
    if isinstance(expected, dict) and isinstance(got, dict):
        found: list[Mismatch] = []
        for key in sorted(set(expected) | set(got), key=str):
            found += diff(expected.get(key, MISSING), got.get(key, MISSING), join(base, key))
        return found
    if isinstance(expected, list) and isinstance(got, list):
        found = []
        for index in range(max(len(expected), len(got))):
            left = expected[index] if index < len(expected) else MISSING
            right = got[index] if index < len(got) else MISSING
            found += diff(left, right, join(base, index))
        return found
    if expected is MISSING and got is MISSING:
        return []
    if type(expected) is not type(got) or expected != got:
        return [Mismatch(base, expected, got)]
    return []


def resolve(document: Any, pointer: str) -> Any:
    """The value at `pointer` inside `document`, or MISSING when any step does not exist."""
    if pointer in ("", "/"):
        return document
    node = document
    for raw in pointer.lstrip("/").split("/"):
        token = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(node, dict):
            if token not in node:
                return MISSING
            node = node[token]
        elif isinstance(node, list):
            if not token.isdigit() or int(token) >= len(node):
                return MISSING
            node = node[int(token)]
        else:
            return MISSING
    return node
