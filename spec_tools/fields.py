"""Flattening schemas into field rows (name, type, required, nullable, enum, pattern, ID prefix) for docs and diff."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mock_server.spec import resolve
from spec_tools.load import Document, ref_name

CONSTRAINT_KEYS = ("minimum", "maximum", "minLength", "maxLength", "minItems", "maxItems", "minProperties")


@dataclass(frozen=True)
class Field:
    """One (possibly nested) field; nested names use ``parent.child`` and ``list[].child``."""

    name: str
    type: str
    required: bool
    nullable: bool
    description: str
    enum: tuple[Any, ...] | None = None
    pattern: str | None = None
    id_prefix: str | None = None
    default: Any = None
    has_default: bool = False
    constraints: tuple[tuple[str, Any], ...] = ()
    schema_name: str | None = None
    wire_type: str = ""


def type_label(doc: Document, schema: Any) -> str:
    """Human-readable type such as ``string``, ``array of AssessmentStatus`` or ``string | integer``."""
    name = ref_name(schema)
    resolved = resolve(doc, schema)
    if not isinstance(resolved, dict):
        return "any"
    if resolved.get("type") == "array":
        return "array of " + type_label(doc, resolved.get("items", {}))
    for combinator in ("oneOf", "anyOf"):
        if combinator in resolved:
            return " | ".join(type_label(doc, option) for option in resolved[combinator])
    if "type" not in resolved:
        return name or ("object" if "properties" in resolved else "any")
    base = str(resolved["type"])
    if name and base != "object":
        # An enum or scalar alias keeps its base type visible; the component name goes to schema_name.
        return base
    return name or base


def wire_type(doc: Document, schema: Any) -> str:
    """The JSON type as sent on the wire, ignoring component names (``array of object``, ``string``)."""
    resolved = resolve(doc, schema)
    if not isinstance(resolved, dict):
        return "any"
    if resolved.get("type") == "array":
        return "array of " + wire_type(doc, resolved.get("items", {}))
    for combinator in ("oneOf", "anyOf"):
        if combinator in resolved:
            return " | ".join(sorted(wire_type(doc, option) for option in resolved[combinator]))
    return str(resolved.get("type") or ("object" if "properties" in resolved else "any"))


def _scalar_facts(doc: Document, schema: Any) -> dict[str, Any]:
    """enum/pattern/prefix/constraints of a scalar or of an array's items (an ID list carries them on items)."""
    resolved = resolve(doc, schema)
    if not isinstance(resolved, dict):
        return {}
    if resolved.get("type") == "array":
        facts = _scalar_facts(doc, resolved.get("items", {}))
        facts["constraints"] = tuple((k, resolved[k]) for k in CONSTRAINT_KEYS if k in resolved)
        return facts
    return {
        "enum": tuple(resolved["enum"]) if "enum" in resolved else None,
        "pattern": resolved.get("pattern"),
        "id_prefix": resolved.get("x-id-prefix"),
        "constraints": tuple((k, resolved[k]) for k in CONSTRAINT_KEYS if k in resolved),
    }


def is_nullable(doc: Document, schema: Any) -> bool:
    """Whether null is allowed: ``nullable`` on the schema, or on one of its ``oneOf``/``anyOf`` options.

    OpenAPI 3.0 lets ``nullable`` only stand beside a ``type``, so a union that admits null says so on an option.
    """
    resolved = resolve(doc, schema)
    if not isinstance(resolved, dict):
        return False
    options = [*(resolved.get("oneOf") or []), *(resolved.get("anyOf") or [])]
    return bool(resolved.get("nullable")) or any(is_nullable(doc, option) for option in options)


def describe(doc: Document, schema: Any) -> str:
    """A property's own description, falling back to that of the component it references."""
    if isinstance(schema, dict) and schema.get("description"):
        return str(schema["description"]).strip()
    resolved = resolve(doc, schema)
    if isinstance(resolved, dict) and resolved.get("description"):
        return str(resolved["description"]).strip()
    return ""


def make_field(doc: Document, name: str, schema: Any, required: bool) -> Field:
    resolved = resolve(doc, schema)
    resolved = resolved if isinstance(resolved, dict) else {}
    facts = _scalar_facts(doc, schema)
    return Field(
        name=name,
        type=type_label(doc, schema),
        required=required,
        nullable=is_nullable(doc, resolved),
        description=describe(doc, schema),
        enum=facts.get("enum"),
        pattern=facts.get("pattern"),
        id_prefix=facts.get("id_prefix") or (schema.get("x-id-prefix") if isinstance(schema, dict) else None),
        default=resolved.get("default"),
        has_default="default" in resolved,
        constraints=facts.get("constraints", ()),
        schema_name=ref_name(schema) or ref_name(resolved.get("items")),
        wire_type=wire_type(doc, schema),
    )


def _object_of(doc: Document, schema: Any) -> dict[str, Any] | None:
    """The object schema whose properties a field's children are (itself, or its array's items)."""
    resolved = resolve(doc, schema)
    if not isinstance(resolved, dict):
        return None
    if resolved.get("type") == "array":
        return _object_of(doc, resolved.get("items", {}))
    if "properties" in resolved:
        return resolved
    return None


def flatten(doc: Document, schema: Any, prefix: str = "", seen: frozenset[str] = frozenset()) -> list[Field]:
    """Every property of an object schema, depth first in document order; recursion stops at cycles."""
    obj = _object_of(doc, schema)
    if obj is None:
        return []
    required = set(obj.get("required") or [])
    fields: list[Field] = []
    for prop_name, prop in (obj.get("properties") or {}).items():
        field = make_field(doc, prefix + str(prop_name), prop, prop_name in required)
        fields.append(field)
        refs = _refs_along(doc, prop)
        if refs & seen:
            continue
        resolved = resolve(doc, prop)
        is_list = isinstance(resolved, dict) and resolved.get("type") == "array"
        child_prefix = f"{field.name}[]." if is_list else f"{field.name}."
        fields.extend(flatten(doc, prop, child_prefix, seen | refs))
    return fields


def _refs_along(doc: Document, schema: Any) -> frozenset[str]:
    """References crossed to reach a property's object schema (through array items), to detect cycles."""
    refs: set[str] = set()
    node = schema
    while isinstance(node, dict):
        if isinstance(node.get("$ref"), str):
            refs.add(node["$ref"])
        resolved = resolve(doc, node)
        if not isinstance(resolved, dict) or resolved.get("type") != "array":
            break
        node = resolved.get("items")
    return frozenset(refs)
