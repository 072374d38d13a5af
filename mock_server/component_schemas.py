"""JSON-schema validators for the document's component schemas (OpenAPI 3.0 dialect)."""

from __future__ import annotations

from typing import Any

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


def describe_errors(validator: Validator, instance: Any, where: str) -> list[str]:
    """Human-readable errors, each naming the JSON path of the offending field."""
    found = []
    for error in sorted(validator.iter_errors(instance), key=lambda e: list(e.absolute_path)):
        path = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path)
        found.append(f"{where}{path}: {error.message}")
    return found
