"""The ID-prefix lint rule: response IDs carry a prefix pattern, request IDs and ID path parameters an x-id-prefix.

Exemptions of the ID-prefix rule (``id_prefixes``), decided here:

* The control plane document (every path under ``/_mock/``) is exempt: it lists fixture keys and IDs of
  mixed kinds and its own ``mockreh_`` handles, which are not Coverbase IDs.
* Only names that are exactly ``id`` or end in ``_id``/``_ids`` are IDs; names that merely contain "id"
  (``field_name``, ``trigger_workflow``, ``idempotency``) and free-text names are not checked.
* Only string fields (or arrays of strings) are checked: a numeric ``*_id`` is not a prefixed ID.
* A generic prefix pattern such as ``^[a-z]+_[0-9a-f]{32}$`` is accepted for polymorphic references
  (a step artifact's ``id`` whose kind is given by ``artifact_type``).
* A field (or parameter) marked ``x-external-id: true`` holds the caller's own identifier (e.g.
  ``external_id``), not a Coverbase ID, and needs no prefix, in responses and requests alike.
* A pattern may name several prefixes (``^(cbvndr|cbsvc)_...``) for a field that holds one of several kinds.
* On request fields and path parameters a prefix ``pattern`` is accepted instead of ``x-id-prefix``, so
  fields such as ``config_id`` that carry a pattern pass on either side.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from mock_server.spec import resolve
from spec_tools.finding import Finding
from spec_tools.load import Document, escape_token, iter_operations, json_media, pointer

ID_NAME = re.compile(r"^(id|.+_ids?)$")
# One prefix, an alternation of prefixes (a field naming one of several kinds), or the generic `[a-z]+`.
PREFIX_PATTERN = re.compile(r"^\^([a-z][a-z0-9]*|\(([a-z][a-z0-9]*\|)+[a-z][a-z0-9]*\)|\[a-z\]\+)_")
CONTROL_PLANE_PREFIX = "/_mock/"


def _is_control_plane(doc: Document) -> bool:
    paths = list(doc.get("paths") or {})
    return bool(paths) and all(path.startswith(CONTROL_PLANE_PREFIX) for path in paths)


def _string_like(doc: Document, schema: dict[str, Any]) -> dict[str, Any] | None:
    """The string schema carrying an ID's facts: the field itself or its array items; None if not a string."""
    if schema.get("type") == "array":
        items = resolve(doc, schema.get("items") or {})
        return items if isinstance(items, dict) and items.get("type") == "string" else None
    return schema if schema.get("type") == "string" else None


def _walk_properties(doc: Document, schema: Any, where: str, seen: set[str]) -> Iterator[tuple[str, str, Any]]:
    """(pointer, name, raw property schema) of every property reachable from a schema; pointers follow $refs."""
    if isinstance(schema, dict) and isinstance(schema.get("$ref"), str):
        ref = schema["$ref"]
        if ref in seen:
            return
        seen.add(ref)
        where, schema = ref, resolve(doc, schema)
    if not isinstance(schema, dict):
        return
    for name, prop in (schema.get("properties") or {}).items():
        yield where + "/properties/" + escape_token(str(name)), str(name), prop
        yield from _walk_properties(doc, prop, where + "/properties/" + escape_token(str(name)), seen)
    if "items" in schema:
        yield from _walk_properties(doc, schema["items"], where + "/items", seen)
    for combinator in ("allOf", "oneOf", "anyOf"):
        for index, option in enumerate(schema.get(combinator) or []):
            yield from _walk_properties(doc, option, f"{where}/{combinator}/{index}", seen)
    extra = schema.get("additionalProperties")
    if isinstance(extra, dict):
        yield from _walk_properties(doc, extra, where + "/additionalProperties", seen)


def _prefix_of(pattern: Any) -> str | None:
    match = PREFIX_PATTERN.match(str(pattern)) if pattern is not None else None
    return match.group(0) if match else None


def id_prefixes(doc: Document) -> Iterator[Finding]:
    """Response ID fields carry a prefix pattern; request ID fields and ID path parameters an x-id-prefix."""
    if _is_control_plane(doc):
        return
    reported: set[str] = set()
    for op in iter_operations(doc):
        base = ("paths", op.path, op.method)
        for status, raw in (op.node.get("responses") or {}).items():
            media = json_media(resolve(doc, raw)) or {}
            start = pointer(*base, "responses", str(status), "content", "application/json", "schema")
            for where, name, prop in _walk_properties(doc, media.get("schema"), start, set()):
                finding = _response_id_finding(doc, where, name, prop)
                if finding and finding.pointer not in reported:
                    reported.add(finding.pointer)
                    yield finding
        body = resolve(doc, op.node.get("requestBody") or {})
        media = json_media(body) or {}
        start = pointer(*base, "requestBody", "content", "application/json", "schema")
        for where, name, prop in _walk_properties(doc, media.get("schema"), start, set()):
            finding = _request_id_finding(doc, where, name, prop, "request field")
            if finding and finding.pointer not in reported:
                reported.add(finding.pointer)
                yield finding
        yield from _parameter_id_findings(doc, op.path, op.method, reported)


def _response_id_finding(doc: Document, where: str, name: str, prop: Any) -> Finding | None:
    resolved = resolve(doc, prop)
    target = _string_like(doc, resolved) if ID_NAME.match(name) and isinstance(resolved, dict) else None
    if target is None or _prefix_of(target.get("pattern")) or resolved.get("x-external-id"):
        return None
    return Finding(
        where,
        "id-prefix",
        f"Response ID field '{name}' has no prefix pattern.",
        f'add `pattern: "^<prefix>_[0-9a-f]{{32}}$"` to {"its items" if target is not resolved else "it"}.',
    )


def _request_id_finding(doc: Document, where: str, name: str, prop: Any, kind: str) -> Finding | None:
    resolved = resolve(doc, prop)
    target = _string_like(doc, resolved) if ID_NAME.match(name) and isinstance(resolved, dict) else None
    if target is None or resolved.get("x-external-id"):
        return None
    prefix = target.get("x-id-prefix") or resolved.get("x-id-prefix")
    if prefix is None:
        if _prefix_of(target.get("pattern")):
            return None
        return Finding(
            where,
            "id-prefix",
            f"ID {kind} '{name}' has no `x-id-prefix`.",
            f'add `x-id-prefix: "<prefix>_"` to {"its items" if target is not resolved else "it"}.',
        )
    if not re.fullmatch(r"[a-z][a-z0-9]*_", str(prefix)):
        return Finding(
            where,
            "id-prefix",
            f"`x-id-prefix` of '{name}' is {prefix!r}.",
            'write the prefix as lowercase letters/digits ending in "_", e.g. "cbvndr_".',
        )
    return None


def _parameter_id_findings(doc: Document, path: str, method: str, reported: set[str]) -> Iterator[Finding]:
    levels = (
        (pointer("paths", path, "parameters"), doc["paths"][path].get("parameters") or []),
        (pointer("paths", path, method, "parameters"), doc["paths"][path][method].get("parameters") or []),
    )
    for base, params in levels:
        for index, raw in enumerate(params):
            where = raw["$ref"] if isinstance(raw, dict) and isinstance(raw.get("$ref"), str) else f"{base}/{index}"
            param = resolve(doc, raw)
            if not isinstance(param, dict) or where in reported:
                continue
            schema = resolve(doc, param.get("schema") or {})
            marks = {key: param[key] for key in ("x-id-prefix", "x-external-id") if key in param}
            merged = {**schema, **marks}
            finding = _request_id_finding(doc, where, str(param.get("name")), merged, f"{param.get('in')} parameter")
            if finding:
                reported.add(where)
                yield finding
