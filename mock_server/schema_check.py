"""JSON Schema checks compiled once per schema, and their failures translated into FastAPI's 422 items."""

from __future__ import annotations

import importlib
from typing import Any

from connexion.json_schema import Draft4RequestValidator, Draft4ResponseValidator
from jsonschema import Draft4Validator, ValidationError

from .errors import ErrorFactory

jsonschema_rs: Any
try:
    jsonschema_rs = importlib.import_module("jsonschema_rs")
except ImportError:  # pragma: no cover - the accelerator is optional; jsonschema alone gives the same answers
    jsonschema_rs = None

Loc = list[str | int]
Item = dict[str, Any]

_TYPE_NAMES = {
    "string": ("string_type", "Input should be a valid string"),
    "integer": ("int_type", "Input should be a valid integer"),
    "number": ("float_type", "Input should be a valid number"),
    "boolean": ("bool_type", "Input should be a valid boolean"),
    "object": ("dict_type", "Input should be a valid dictionary"),
    "array": ("list_type", "Input should be a valid list"),
}


def item(loc: Loc, msg: str, type_: str) -> Item:
    return ErrorFactory.validation_item(loc, msg, type_)


def schema_errors(error: ValidationError, base: Loc) -> list[Item]:
    """Translate one jsonschema error into FastAPI-style items (one per missing or extra field)."""
    loc: Loc = base + list(error.absolute_path)
    # jsonschema types these as "maybe unset"; an error from iter_errors always has them.
    validator: Any = error.validator
    value: Any = error.validator_value
    schema: Any = error.schema
    if validator == "required":
        missing = [name for name in value if isinstance(error.instance, dict) and name not in error.instance]
        return [item([*loc, name], "Field required", "missing") for name in missing]
    if validator == "additionalProperties" and isinstance(error.instance, dict):
        allowed = set(schema.get("properties", {}))
        extra = [name for name in error.instance if name not in allowed]
        return [item([*loc, name], "Extra inputs are not permitted", "extra_forbidden") for name in extra]
    if validator == "type":
        expected = value if isinstance(value, str) else value[0]
        type_, msg = _TYPE_NAMES.get(expected, ("type_error", f"Input should be of type {expected}"))
        return [item(loc, msg, type_)]
    if validator == "enum":
        options = ", ".join(repr(v) for v in value)
        return [item(loc, f"Input should be {options}", "enum")]
    if validator == "minimum":
        return [item(loc, f"Input should be greater than or equal to {value}", "greater_than_equal")]
    if validator == "maximum":
        return [item(loc, f"Input should be less than or equal to {value}", "less_than_equal")]
    if validator == "minLength":
        return [
            item(loc, f"String should have at least {value} character{'s' if value != 1 else ''}", "string_too_short")
        ]
    if validator == "maxLength":
        return [item(loc, f"String should have at most {value} characters", "string_too_long")]
    if validator == "pattern":
        return [item(loc, f"String should match pattern '{value}'", "string_pattern_mismatch")]
    return [item(loc, error.message, "value_error")]


class Compiled:
    """A schema's validators, built once: a compiled yes/no check for the common (valid) case, and the
    jsonschema validator that decides and explains whenever the fast check does not say yes."""

    __slots__ = ("_fast", "schema", "slow")

    def __init__(self, schema: dict[str, Any], slow: Draft4Validator, fast: Any) -> None:
        self.schema = schema
        self.slow = slow
        self._fast = fast

    def is_valid(self, instance: Any) -> bool:
        if self._fast is not None and self._fast.is_valid(instance):
            return True
        # Whatever the fast engine rejects (or cannot compile) is decided by jsonschema.
        return bool(self.slow.is_valid(instance))

    def errors(self, instance: Any, base: Loc) -> list[Item]:
        """FastAPI-style items for every failure, ordered by location (empty when valid)."""
        if self.is_valid(instance):
            return []
        items: list[Item] = []
        for error in sorted(self.slow.iter_errors(instance), key=lambda e: [str(p) for p in e.absolute_path]):
            items.extend(schema_errors(error, base))
        return items


def compile_schema(schema: dict[str, Any], *, response: bool = False) -> Compiled:
    """Validators of a fully resolved schema: connexion's Draft 4 with OpenAPI's `nullable` (for responses with
    its format checker too). Called once per schema when the operation table is built."""
    if response:
        slow = Draft4ResponseValidator(schema, format_checker=Draft4Validator.FORMAT_CHECKER)
    else:
        slow = Draft4RequestValidator(schema)
    return Compiled(schema, slow, _fast(schema))


_SAFE_KEYWORDS = frozenset(
    {
        "type", "properties", "required", "additionalProperties", "items", "enum", "minimum", "maximum",
        "minLength", "maxLength", "pattern", "minItems", "maxItems", "allOf", "anyOf", "oneOf", "not",
    }
)  # fmt: skip
# Annotations with no effect on validation in jsonschema's Draft 4 ("nullable" is handled below).
_IGNORED_KEYWORDS = frozenset({"description", "example", "examples", "title", "default", "nullable", "components"})


def _fast(schema: dict[str, Any]) -> Any:
    """A jsonschema-rs validator answering exactly like jsonschema for this schema, or None.

    Only schemas made of keywords whose Draft 4 meaning both engines share are compiled; `format`,
    `$ref`, `writeOnly` and anything unknown keep the schema on jsonschema alone. connexion lets
    `nullable: true` accept null in `type` and `enum`: the copy says so in Draft 4 terms.
    """
    if jsonschema_rs is None:
        return None
    try:
        converted = _convert(schema, True, top=True)
    except _Unsupported:
        return None
    try:
        return jsonschema_rs.Draft4Validator(converted)
    except Exception:  # any schema the engine refuses stays with jsonschema
        return None


class _Unsupported(Exception):
    pass


def _convert(node: Any, nullable: bool, *, top: bool = False) -> Any:
    if isinstance(node, list):
        return [_convert(entry, nullable) for entry in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key == "components" and top:
            continue
        if key.startswith("x-") or key in _IGNORED_KEYWORDS:
            continue
        if key not in _SAFE_KEYWORDS:
            raise _Unsupported(key)
        if key == "properties":
            out[key] = {name: _convert(sub, nullable) for name, sub in value.items()}
        elif key in ("items", "additionalProperties", "not"):
            out[key] = _convert(value, nullable) if isinstance(value, (dict, list)) else value
        elif key in ("allOf", "anyOf", "oneOf"):
            out[key] = [_convert(sub, nullable) for sub in value]
        else:
            out[key] = value
    if nullable and (node.get("x-nullable") is True or node.get("nullable")):
        if "type" in out:
            types = out["type"] if isinstance(out["type"], list) else [out["type"]]
            out["type"] = [*types, "null"] if "null" not in types else types
        if "enum" in out and None not in out["enum"]:
            out["enum"] = [*out["enum"], None]
    return out
