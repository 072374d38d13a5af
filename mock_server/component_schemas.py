"""JSON-schema validators for the document's component schemas (OpenAPI 3.0 dialect)."""

from __future__ import annotations

from typing import Any

from jsonschema.exceptions import ValidationError
from jsonschema.protocols import Validator

from .schema_check import compile_schema


def component_validator(doc: dict[str, Any], name: str) -> Validator:
    """A validator for `#/components/schemas/<name>` whose local `$ref`s resolve inside `doc`.

    It judges as the mock judges its own answers (`schema_check`, Draft 4 with `nullable`), so a fixture
    literal is accepted exactly when the mock could serve it; and it keeps openapi-schema-validator (and
    pydantic behind it, ~0.1 s) off the mock's start-up path.
    """
    root = {"$ref": f"#/components/schemas/{name}", "components": doc["components"]}
    validator: Validator = compile_schema(root, response=True).slow
    return validator


def schema_validator(doc: dict[str, Any], schema: dict[str, Any]) -> Validator:
    """A validator for an inline schema that may `$ref` the document's components (OpenAPI 3.0 dialect)."""
    # Imported here: only the tests and spec tools need it, never the mock's start-up.
    from openapi_schema_validator import OAS30Validator

    root = dict(schema)
    root["components"] = doc["components"]
    validator: Validator = OAS30Validator(root)
    return validator


def describe_errors(validator: Validator, instance: Any, where: str, *, values: bool = True) -> list[str]:
    """Human-readable errors, each naming the JSON path of the offending field.

    With `values=False` no message quotes the instance (a file given as fixtures may be anything, a password
    file included): only the path, the rule and, for a wrong type, the type found.
    """
    found = []
    for error in sorted(validator.iter_errors(instance), key=lambda e: list(e.absolute_path)):
        path = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path)
        found.append(f"{where}{path}: {error.message if values else _without_values(error)}")
    return found


JSON_TYPES = (
    (bool, "boolean"),
    (str, "string"),
    (int, "integer"),
    (float, "number"),
    (list, "array"),
    (dict, "object"),
)


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    return next((name for kind, name in JSON_TYPES if isinstance(value, kind)), type(value).__name__)


def _without_values(error: ValidationError) -> str:
    """The rule an instance broke, in words that never repeat the instance (names of properties aside)."""
    rule, expected = error.validator, error.validator_value
    if rule == "type":
        return f"must be of type {expected} (found {_json_type(error.instance)})"
    if rule == "required":
        return error.message  # names the missing property, from the schema
    if rule == "additionalProperties" and isinstance(error.instance, dict):
        known = set((error.schema.get("properties") or {}) if isinstance(error.schema, dict) else ())
        extra = sorted(str(name) for name in error.instance if name not in known)
        return f"unexpected propert{'y' if len(extra) == 1 else 'ies'} {', '.join(repr(n) for n in extra)}"
    if rule in ("enum", "const"):
        return f"must be one of {expected!r}" if rule == "enum" else f"must be {expected!r}"
    if rule == "pattern":
        return f"does not match the pattern {expected!r}"
    return f"breaks the rule {rule}: {expected!r}"
