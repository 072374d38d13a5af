"""JSON-schema validators for the document's component schemas (OpenAPI 3.0 dialect)."""

from __future__ import annotations

from typing import Any

from jsonschema.protocols import Validator
from openapi_schema_validator import OAS30Validator


def component_validator(doc: dict[str, Any], name: str) -> Validator:
    """A validator for `#/components/schemas/<name>` whose local `$ref`s resolve inside `doc`."""
    root = {"$ref": f"#/components/schemas/{name}", "components": doc["components"]}
    validator: Validator = OAS30Validator(root)
    return validator


def schema_validator(doc: dict[str, Any], schema: dict[str, Any]) -> Validator:
    """A validator for an inline schema that may `$ref` the document's components."""
    root = dict(schema)
    root["components"] = doc["components"]
    validator: Validator = OAS30Validator(root)
    return validator


def describe_errors(validator: Validator, instance: Any, where: str) -> list[str]:
    """Human-readable errors, each naming the JSON path of the offending field."""
    found = []
    for error in sorted(validator.iter_errors(instance), key=lambda e: list(e.absolute_path)):
        path = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path)
        found.append(f"{where}{path}: {error.message}")
    return found
