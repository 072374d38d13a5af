"""Our own lint rules for the OpenAPI documents, one function per rule, each yielding findings with a fix.

openapi-spec-validator runs first (see spec_tools.lint) and covers structure, $ref resolution, unique
operationIds and declared path parameters; then spec_tools.lint_reader checks that the mock's reader
(mock_server.spec) can read the document, because these rules read every fact through it (operations,
references, the idempotency policy, the error catalog). The rules add what neither checks. Examples are validated
with openapi-schema-validator's OAS30Validator. Spectral (`spectral:oas`) and Redocly (`recommended`) run
after these in `make lint-spec` (spec_tools.npm_linters); they overlap with the metadata, example and
unused-component rules, but the catalog, idempotency, reader and ID rules would need custom JavaScript
functions there, so our rules stay here in Python, next to the reader they check against.
The ID-prefix rule and its exemptions live in spec_tools.lint_ids.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from typing import Any

from openapi_schema_validator import OAS30Validator

from mock_server import spec
from mock_server.spec import resolve
from spec_tools.errors import coded_example_codes, is_error_status
from spec_tools.finding import Finding
from spec_tools.lint_ids import id_prefixes
from spec_tools.load import (
    Document,
    Operation,
    escape_token,
    iter_operations,
    json_media,
    media_examples,
    operations_by_id,
    pointer,
    resolve_ref,
)

# CodedOrValidationError: a status answered with a coded error or the validation array (webhooks' 422).
ERROR_SCHEMAS = ("CodedError", "FreeFormError", "PlainError", "ValidationError", "CodedOrValidationError")
COMPONENT_KINDS = ("schemas", "parameters", "responses", "requestBodies", "headers", "examples")


Rule = Callable[[Document], Iterator[Finding]]


def operation_metadata(doc: Document) -> Iterator[Finding]:
    """Every operation has a summary and at least one tag declared at the top level.

    A missing operationId is reported before the rules run (spec_tools.lint_reader): the mock needs one.
    """
    declared = {t.get("name") for t in doc.get("tags") or [] if isinstance(t, dict)}
    for op in iter_operations(doc):
        if not str(op.node.get("summary") or "").strip():
            yield Finding(op.pointer, "operation-metadata", f"{op.label} has no summary.", "add a one-line summary.")
        tags = op.node.get("tags") or []
        if not tags:
            yield Finding(op.pointer, "operation-metadata", f"{op.label} has no tag.", "add one tag from `tags`.")
        for tag in tags:
            if tag not in declared:
                yield Finding(
                    op.pointer + "/tags",
                    "operation-metadata",
                    f"{op.label} uses tag '{tag}', which the top-level `tags` list does not declare.",
                    f"declare '{tag}' (with a description) in the top-level `tags`.",
                )


def _error_responses(doc: Document) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(pointer, status, resolved response) for every 4xx/5xx response of every operation."""
    for op in iter_operations(doc):
        for status, raw in (op.node.get("responses") or {}).items():
            if is_error_status(str(status)):
                yield pointer("paths", op.path, op.method, "responses", str(status)), str(status), resolve(doc, raw)


def error_bodies(doc: Document) -> Iterator[Finding]:
    """Every 4xx/5xx response uses one of the documented error body schemas by reference."""
    schemas = (doc.get("components") or {}).get("schemas") or {}
    # A 4xx that carries a domain result (the Import API's all-failed 400) is declared in the catalog.
    declared = spec.error_result_bodies(doc) if "x-error-catalog" in doc else ()
    allowed = [name for name in (*ERROR_SCHEMAS, *declared) if name in schemas]
    choices = ", ".join(allowed) or "an error schema (none of " + ", ".join(ERROR_SCHEMAS) + " is defined)"
    for where, status, response in _error_responses(doc):
        media = json_media(response)
        schema = media.get("schema") if media else None
        ref = schema.get("$ref") if isinstance(schema, dict) else None
        if ref not in {f"#/components/schemas/{name}" for name in allowed}:
            used = f"uses {ref}" if ref else ("has an inline schema" if schema else "has no JSON body")
            yield Finding(
                where,
                "error-body",
                f"Error response {status} {used}.",
                f"give it an application/json body whose schema is a $ref to one of: {choices}.",
            )


def error_catalog(doc: Document) -> Iterator[Finding]:
    """Codes in error examples are catalogued (with the same status) and every catalogued code is used."""
    codes = spec.error_catalog(doc) if "x-error-catalog" in doc else {}
    used: set[str] = set()
    for where, status, response in _error_responses(doc):
        for code in coded_example_codes(doc, response):
            used.add(code)
            entry = codes.get(code)
            if entry is None:
                yield Finding(
                    where,
                    "error-catalog",
                    f"Error code '{code}' in the example of response {status} is not in `x-error-catalog.codes`.",
                    f"add '{code}' (status, message, when) to #/x-error-catalog/codes or fix the example's code.",
                )
            elif str(entry.status) != status:
                yield Finding(
                    where,
                    "error-catalog",
                    f"Error code '{code}' is catalogued with status {entry.status} but used in a {status}.",
                    f"use '{code}' only in {entry.status} responses, or correct its catalogued status.",
                )
    for code in codes:
        if code not in used:
            yield Finding(
                pointer("x-error-catalog", "codes", code),
                "error-catalog",
                f"Catalogued error code '{code}' is not used by any response example.",
                "add a 4xx/5xx response example with this code, or remove the code from the catalog.",
            )


def _examples(doc: Document) -> Iterator[tuple[str, Any, Any]]:
    """(pointer, schema, value) of every parameter, request body and response example (and header example)."""
    for op in iter_operations(doc):
        levels = ((pointer("paths", op.path), doc["paths"][op.path]), (op.pointer, op.node))
        for base, holder in levels:
            for index, raw in enumerate(holder.get("parameters") or []):
                yield from _holder_examples(doc, raw, f"{base}/parameters/{index}")
        body = op.node.get("requestBody")
        if isinstance(body, dict):
            where = _written_at(body, op.pointer + "/requestBody")
            for media_type, media in (resolve(doc, body).get("content") or {}).items():
                yield from _holder_examples(doc, media, f"{where}/content/{escape_token(media_type)}")
        for status, raw in (op.node.get("responses") or {}).items():
            response = resolve(doc, raw)
            where = _written_at(raw, f"{op.pointer}/responses/{status}")
            for media_type, media in (response.get("content") or {}).items():
                yield from _holder_examples(doc, media, f"{where}/content/{escape_token(media_type)}")
            for name, header in (response.get("headers") or {}).items():
                yield from _holder_examples(doc, header, f"{where}/headers/{escape_token(name)}")


def _written_at(raw: Any, inline: str) -> str:
    """Where a possibly referenced node is written: the component it references, else its inline pointer."""
    if isinstance(raw, dict) and isinstance(raw.get("$ref"), str):
        return str(raw["$ref"])
    return inline


def _holder_examples(doc: Document, raw: Any, inline: str) -> Iterator[tuple[str, Any, Any]]:
    where = _written_at(raw, inline)
    holder = resolve(doc, raw)
    if not isinstance(holder, dict) or "schema" not in holder:
        return
    for name, value in media_examples(holder, doc):
        suffix = "/example" if name == "example" else f"/examples/{escape_token(name)}/value"
        yield where + suffix, holder["schema"], value


def examples_match_schemas(doc: Document) -> Iterator[Finding]:
    """Every example validates against its schema (OAS 3.0 semantics, local $refs resolved)."""
    components = doc.get("components") or {}
    seen: set[str] = set()
    for where, schema, value in _examples(doc):
        if where in seen:
            continue
        seen.add(where)
        validator = OAS30Validator({**schema, "components": components} if isinstance(schema, dict) else schema)
        for error in sorted(validator.iter_errors(value), key=lambda e: list(map(str, e.absolute_path))):
            inner = "".join("/" + escape_token(str(p)) for p in error.absolute_path)
            yield Finding(
                where + inner,
                "example-schema",
                f"Example does not match its schema: {error.message}.",
                "correct the example value, or the schema if the example is right.",
            )


def idempotency_references(doc: Document) -> Iterator[Finding]:
    """`x-idempotency.operations` names existing POST operations, and exactly those point at the policy.

    The mock honours `Idempotency-Key` on the operations the policy lists; an operation's own
    `x-idempotency: "#/x-idempotency"` is the marker readers of the operation see, so the two must agree.
    """
    by_id = operations_by_id(doc)
    listed = spec.idempotency_policy(doc).operation_ids if "x-idempotency" in doc else frozenset()
    where = pointer("x-idempotency", "operations")
    for name in sorted(listed):
        op = by_id.get(name)
        if op is None:
            yield Finding(
                where, "idempotency-ref", f"'{name}' is not an operationId.", "name an existing POST operation."
            )
        elif op.method != "post":
            yield Finding(
                where,
                "idempotency-ref",
                f"'{name}' is {op.label}; idempotency keys apply to POST operations only.",
                "remove it from the list or point at the POST operation.",
            )
        elif "x-idempotency" not in op.node:
            yield Finding(
                op.pointer,
                "idempotency-ref",
                f"{op.label} is listed in {POLICY}/operations but does not carry `x-idempotency`.",
                f'add `x-idempotency: "{POLICY}"` to the operation.',
            )
    for op in iter_operations(doc):
        ref = op.node.get("x-idempotency")
        if ref is None:
            continue
        finding = _marker_finding(doc, op, ref, listed)
        if finding:
            yield finding


POLICY = "#/x-idempotency"


def _marker_finding(doc: Document, op: Operation, ref: Any, listed: frozenset[str]) -> Finding | None:
    where = op.pointer + "/x-idempotency"
    if ref != POLICY:
        try:
            target = resolve_ref(doc, ref) if isinstance(ref, str) and re.fullmatch(r"#/[^/]+", ref) else None
        except (KeyError, TypeError, ValueError):
            target = None
        named = "names no top-level key of the document" if target is None else "is not the policy the mock reads"
        return Finding(
            where,
            "idempotency-ref",
            f"`x-idempotency` of {op.label} is {ref!r}, which {named}.",
            f'point it at the policy, "{POLICY}".',
        )
    if op.operation_id not in listed:
        return Finding(
            where,
            "idempotency-ref",
            f"{op.label} points at {POLICY} but is not in that policy's `operations` list.",
            f"add '{op.operation_id}' to {POLICY}/operations or drop the operation's `x-idempotency`.",
        )
    return None


def idempotency_key_schema(doc: Document) -> Iterator[Finding]:
    """`x-idempotency.key` and the key's header parameter state the same rules.

    The mock checks keys against `x-idempotency.key` (min_length, max_length, pattern), while request
    validators, generated clients and the docs read the header parameter's schema (minLength, maxLength,
    pattern). Every operation the policy lists declares the header, and each declaration of it (reported
    once where it is written) has exactly the policy's bounds and pattern.
    """
    if "x-idempotency" not in doc:
        return
    policy = spec.idempotency_policy(doc)
    key = policy.key
    wanted: tuple[tuple[str, str, Any], ...] = (
        ("minLength", "min_length", key.min_length),
        ("maxLength", "max_length", key.max_length),
        ("pattern", "pattern", key.pattern.pattern),
    )
    reported: set[str] = set()
    for op in iter_operations(doc):
        if op.operation_id not in policy.operation_ids:
            continue
        declared = [(w, p) for w, p in _parameters_written(doc, op) if _is_header(p, policy.header)]
        if not declared:
            shared = _header_component(doc, policy.header)
            fix = f'add `- $ref: "{shared}"` to its parameters.' if shared else "declare the header parameter."
            yield Finding(
                op.pointer,
                "idempotency-key",
                f"{op.label} is in {POLICY}/operations but declares no `{policy.header}` header parameter.",
                fix,
            )
        for where, param in declared:
            if where in reported:
                continue
            reported.add(where)
            schema = resolve(doc, param.get("schema")) or {}
            for keyword, policy_key, value in wanted:
                stated = f"{POLICY}/key/{policy_key} is {value!r}"
                wanted_text = f"`{keyword}: {_yaml_scalar(value)}`"
                if keyword not in schema:
                    yield Finding(
                        f"{where}/schema",
                        "idempotency-key",
                        f"The `{policy.header}` header schema has no {keyword}; {stated}.",
                        f"add {wanted_text}, so validators and clients reject what the mock rejects.",
                    )
                elif schema[keyword] != value:
                    yield Finding(
                        f"{where}/schema/{keyword}",
                        "idempotency-key",
                        f"The `{policy.header}` header schema has {keyword} {schema[keyword]!r}, but {stated}.",
                        f"set {wanted_text}, or change both together (the mock enforces {POLICY}/key).",
                    )


def _parameters_written(doc: Document, op: Operation) -> Iterator[tuple[str, dict[str, Any]]]:
    """(where written, resolved parameter) of an operation's path-level and own parameters."""
    for base, holder in ((pointer("paths", op.path), doc["paths"][op.path]), (op.pointer, op.node)):
        for index, raw in enumerate(holder.get("parameters") or []):
            yield _written_at(raw, f"{base}/parameters/{index}"), resolve(doc, raw)


def _header_component(doc: Document, header: str) -> str | None:
    for name, raw in ((doc.get("components") or {}).get("parameters") or {}).items():
        if _is_header(resolve(doc, raw), header):
            return pointer("components", "parameters", name)
    return None


def _is_header(param: dict[str, Any], name: str) -> bool:
    return param.get("in") == "header" and str(param.get("name", "")).lower() == name.lower()


def _yaml_scalar(value: Any) -> str:
    return json.dumps(value) if isinstance(value, str) else str(value)


def links(doc: Document) -> Iterator[Finding]:
    """Every link names an existing operationId and only parameters that operation has."""
    by_id = operations_by_id(doc)
    for op in iter_operations(doc):
        for status, raw in (op.node.get("responses") or {}).items():
            for name, raw_link in (resolve(doc, raw).get("links") or {}).items():
                link = resolve(doc, raw_link)
                where = pointer("paths", op.path, op.method, "responses", str(status), "links", name)
                target = by_id.get(str(link.get("operationId")))
                if target is None:
                    yield Finding(
                        where,
                        "link",
                        f"Link '{name}' targets operationId {link.get('operationId')!r}, which does not exist.",
                        "use the operationId of an existing operation (operationRef is not supported).",
                    )
                    continue
                available = {(str(p.get("in")), str(p.get("name"))) for p in target.parameters}
                for param in link.get("parameters") or {}:
                    location, _, bare = str(param).rpartition(".")
                    if not any(n == bare and (not location or location == i) for i, n in available):
                        yield Finding(
                            where + "/parameters/" + escape_token(str(param)),
                            "link",
                            f"Link '{name}' sets parameter '{param}', which {target.label} does not have.",
                            "use one of: " + ", ".join(sorted(n for _, n in available)) + ".",
                        )


def _refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield value
            else:
                yield from _refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from _refs(item)


def unused_components(doc: Document) -> Iterator[Finding]:
    """Every component is reachable from the paths (or a top-level extension) through $refs."""
    components = doc.get("components") or {}
    # A component is read as written (not followed), so one that is itself a $ref reaches its target.
    written = {
        pointer("components", kind, name): node for kind in components for name, node in components[kind].items()
    }
    roots = {key: value for key, value in doc.items() if key != "components"}
    pending = list(_refs(roots))
    reached: set[str] = set()
    while pending:
        ref = pending.pop()
        if ref in reached:
            continue
        reached.add(ref)
        pending.extend(_refs(written[ref] if ref in written else resolve_ref(doc, ref)))
    for kind in COMPONENT_KINDS:
        for name in components.get(kind) or {}:
            ref = pointer("components", kind, name)
            if ref not in reached:
                yield Finding(
                    ref,
                    "unused-component",
                    f"Component {kind}/{name} is not referenced by any operation.",
                    "reference it where it is meant to be used, or delete it.",
                )


DECISION_ID = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
DECISION_KEYS = {"id", "rule", "production", "keywords", "applies_to"}


def _decision_markers(node: Any, where: tuple[str | int, ...] = ()) -> Iterator[tuple[tuple[str | int, ...], Any]]:
    """(path of the holder, value of its x-decision) for every marker in the document."""
    if isinstance(node, dict):
        if "x-decision" in node:
            yield where, node["x-decision"]
        for key, value in node.items():
            if key != "x-decision":
                yield from _decision_markers(value, (*where, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _decision_markers(value, (*where, index))


def _node_at(doc: Document, where: tuple[str | int, ...]) -> Any:
    node: Any = doc
    for part in where:
        node = node[part]
    return node


def decision_markers(doc: Document) -> Iterator[Finding]:
    """Every x-decision is an object {id, rule, production?, keywords?, applies_to?} (or a list of them) with a
    unique kebab-case id and a one-line rule; applies_to names a key of the extension that holds the marker."""
    seen: dict[str, str] = {}
    for where, value in _decision_markers(doc):
        holder = _node_at(doc, where)
        entries = value if isinstance(value, list) else [value]
        for index, entry in enumerate(entries):
            at = pointer(*where, "x-decision", *([index] if isinstance(value, list) else []))
            if not isinstance(entry, dict):
                yield Finding(
                    at,
                    "decision-marker",
                    "An x-decision is not an object.",
                    "write {id: <kebab-case>, rule: <one line>} (a list of them for several Decisions).",
                )
                continue
            unknown = sorted(set(entry) - DECISION_KEYS)
            if unknown:
                yield Finding(
                    at,
                    "decision-marker",
                    f"Unknown key(s) {', '.join(unknown)} in an x-decision.",
                    f"use only {', '.join(sorted(DECISION_KEYS))}.",
                )
            marker_id = entry.get("id")
            if not isinstance(marker_id, str) or not DECISION_ID.fullmatch(marker_id):
                yield Finding(
                    at,
                    "decision-marker",
                    f"x-decision id {marker_id!r} is not kebab-case.",
                    "give it an id like 'idempotency-key-format' (lowercase words joined by '-').",
                )
            elif marker_id in seen:
                yield Finding(
                    at,
                    "decision-marker",
                    f"x-decision id '{marker_id}' is also used at {seen[marker_id]}.",
                    "give each Decision its own id.",
                )
            else:
                seen[marker_id] = at
            rule = entry.get("rule")
            if not isinstance(rule, str) or not rule.strip() or "\n" in rule.strip():
                yield Finding(
                    at,
                    "decision-marker",
                    "An x-decision has no one-line rule.",
                    "state what was decided in one line under `rule`.",
                )
            if "production" in entry and not (isinstance(entry["production"], str) and entry["production"].strip()):
                yield Finding(
                    at,
                    "decision-marker",
                    "x-decision production is not a sentence.",
                    "say what production's stack does by default, or leave `production` out.",
                )
            keywords = entry.get("keywords", [])
            if not isinstance(keywords, list) or not all(isinstance(k, str) and k for k in keywords):
                yield Finding(
                    at,
                    "decision-marker",
                    "x-decision keywords is not a list of names.",
                    "list the JSON-Schema keywords (or request problems) the Decision governs.",
                )
            applies_to = entry.get("applies_to")
            if applies_to is not None and (not isinstance(holder, dict) or applies_to not in holder):
                yield Finding(
                    at,
                    "decision-marker",
                    f"x-decision applies_to '{applies_to}' names no key of its holder.",
                    "name the key of the extension the Decision governs, or leave `applies_to` out.",
                )


RULES: tuple[Rule, ...] = (
    operation_metadata,
    error_bodies,
    error_catalog,
    examples_match_schemas,
    idempotency_references,
    idempotency_key_schema,
    links,
    unused_components,
    id_prefixes,
    decision_markers,
)


def run_rules(doc: Document) -> list[Finding]:
    return sorted({finding for rule in RULES for finding in rule(doc)})
