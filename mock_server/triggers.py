"""Workflow trigger bindings: which enabled workflows an object event starts, by simple conditions."""

from __future__ import annotations

from typing import Any

# Events the mock raises for trigger bindings (the workflow-engine page's object events).
TRIGGER_EVENTS = ("Vendor.Created", "Vendor.Updated", "Service.Created", "Service.Updated", "Assessment.Created")

CONDITION_SCHEMA: dict[str, Any] = {
    "oneOf": [
        {
            "type": "object",
            "additionalProperties": False,
            "required": ["all"],
            "properties": {"all": {"type": "array", "items": {"$ref": "#/definitions/condition"}}},
        },
        {
            "type": "object",
            "additionalProperties": False,
            "required": ["any"],
            "properties": {"any": {"type": "array", "items": {"$ref": "#/definitions/condition"}}},
        },
        {
            "type": "object",
            "additionalProperties": False,
            "required": ["not"],
            "properties": {"not": {"$ref": "#/definitions/condition"}},
        },
        {
            "type": "object",
            "additionalProperties": False,
            "required": ["field", "op"],
            "properties": {
                "field": {"type": "string", "minLength": 1},
                "op": {"enum": ["equals", "not_equals", "in", "contains_any", "contains_all", "exists", "gte", "lte"]},
                "value": {},
            },
        },
    ],
}


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, (list, tuple)) else [value]


def matches(condition: dict[str, Any] | None, attributes: dict[str, Any]) -> bool:
    """Evaluate a condition tree against an object's attributes (absent condition: always)."""
    if condition is None:
        return True
    if "all" in condition:
        return all(matches(c, attributes) for c in condition["all"])
    if "any" in condition:
        return any(matches(c, attributes) for c in condition["any"])
    if "not" in condition:
        return not matches(condition["not"], attributes)
    actual = attributes.get(condition["field"])
    op, expected = condition["op"], condition.get("value")
    if op == "exists":
        return (actual is not None) == bool(expected if expected is not None else True)
    if op == "equals":
        return bool(actual == expected)
    if op == "not_equals":
        return bool(actual != expected)
    if op == "in":
        return actual in _as_list(expected)
    if op == "contains_any":
        return bool(set(map(str, _as_list(actual))) & set(map(str, _as_list(expected))))
    if op == "contains_all":
        return set(map(str, _as_list(expected))) <= set(map(str, _as_list(actual)))
    if op in ("gte", "lte"):
        try:
            number, bound = float(str(actual)), float(str(expected))
        except ValueError:
            return False
        return number >= bound if op == "gte" else number <= bound
    raise ValueError(f"unknown condition operator {op!r}")
