"""The document's Decisions (`x-decision` markers): what the document decided where the public docs are silent.

A marker sits on the schema, parameter, response, operation or extension it applies to: one object
`{id, rule, production?, keywords?, applies_to?}`, or a list of them where one node carries several.
`keywords` (on a schema) names the JSON-Schema keywords of that node the Decision governs; `applies_to`
(in an extension) names the key of the extension it governs. Every assertion of the suite checks either a
documented fact or one of these Decisions, by id. Against a target that is not the mock, a Decision done
differently is a deviation (reported with its evidence), not a failure, unless --strict-decisions.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

MARKER = "x-decision"


@dataclass(frozen=True)
class Decision:
    id: str
    rule: str
    pointer: str  # where the marker sits in the document
    production: str | None = None
    keywords: tuple[str, ...] = ()
    applies_to: str | None = None

    def covers_keyword(self, keyword: str) -> bool:
        return not self.keywords or keyword in self.keywords

    def describe(self) -> str:
        text = f"Decision {self.id} ({self.pointer}): {self.rule}"
        if self.production:
            text += f" [production: {self.production}]"
        return text


def _escape(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


def markers(node: Any) -> list[dict[str, Any]]:
    """The marker objects a node carries (none, one, or a list)."""
    if not isinstance(node, dict) or MARKER not in node:
        return []
    value = node[MARKER]
    entries = value if isinstance(value, list) else [value]
    return [entry for entry in entries if isinstance(entry, dict)]


def walk(node: Any, pointer: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    """(pointer of the holder, marker object) for every marker in the document, in document order."""
    for entry in markers(node):
        yield pointer or "/", entry
    if isinstance(node, dict):
        for key, value in node.items():
            if key != MARKER:
                yield from walk(value, f"{pointer}/{_escape(str(key))}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from walk(value, f"{pointer}/{index}")


def parse(entry: dict[str, Any], pointer: str) -> Decision:
    return Decision(
        id=str(entry.get("id", "")),
        rule=" ".join(str(entry.get("rule", "")).split()),
        pointer=pointer,
        production=" ".join(str(entry["production"]).split()) if entry.get("production") else None,
        keywords=tuple(str(k) for k in entry.get("keywords") or ()),
        applies_to=str(entry["applies_to"]) if entry.get("applies_to") else None,
    )


def collect(raw: dict[str, Any]) -> dict[str, Decision]:
    """Every Decision of the document by id (the first marker wins if an id repeats; the linter forbids that)."""
    found: dict[str, Decision] = {}
    for pointer, entry in walk(raw):
        decision = parse(entry, pointer)
        found.setdefault(decision.id, decision)
    return found


def on_node(node: Any, pointer: str = "") -> list[Decision]:
    """The Decisions a schema or parameter node carries itself."""
    return [parse(entry, pointer) for entry in markers(node)]
