"""The stage between openapi-spec-validator and our rules: can the mock's reader (mock_server.spec) read it?

The mock, and every rule after this stage, read a document's facts through `mock_server.spec`; a document it
cannot read would stop the mock at start-up and make the rules fail with a traceback instead of a finding.
This stage calls those readers and reports, with the JSON pointer and the fix, what they refuse:

* a `$ref` the mock cannot follow (it follows local references to mapping keys only, not into lists);
* an operation without an operationId (the mock finds each handler by it);
* an `x-idempotency` or `x-error-catalog` missing a key or holding a value of the wrong kind.

It only runs on a document openapi-spec-validator accepts, so dangling references never reach it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

from mock_server import spec
from spec_tools.finding import Finding
from spec_tools.load import Document, escape_token, pointer, resolve_ref

RULE = "mock-reader"
READ_ERRORS = (KeyError, IndexError, TypeError, ValueError, AttributeError, re.error)


def _reason(exc: Exception) -> str:
    if isinstance(exc, KeyError):
        return f"it has no {exc.args[0]!r}" if exc.args else "a key is missing"
    return f"{type(exc).__name__}: {exc}"


def _written_refs(node: Any, where: str = "#") -> Iterator[tuple[str, str]]:
    """(pointer of the node holding it, reference) of every `$ref` in the document, in document order."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield where, value
            else:
                yield from _written_refs(value, f"{where}/{escape_token(str(key))}")
    elif isinstance(node, list):
        for index, item in enumerate(node):
            yield from _written_refs(item, f"{where}/{index}")


def references(doc: Document) -> Iterator[Finding]:
    """Every `$ref` resolves with the mock's resolver."""
    for where, ref in _written_refs(doc):
        try:
            resolve_ref(doc, ref)
        except READ_ERRORS as exc:
            yield Finding(
                where + "/$ref",
                RULE,
                f"The mock cannot follow `$ref: {ref}` ({_reason(exc)}).",
                "reference a named mapping entry such as #/components/schemas/<Name> (move a shared node into"
                " components first; references into lists or other files are not supported).",
            )


def operation_ids(doc: Document) -> Iterator[Finding]:
    """Every operation has an operationId: the mock lists operations by it and finds each handler by it.

    The walk over paths and `mock_server.spec.HTTP_METHODS` only locates what the mock's list refuses.
    """
    missing = False
    for path, item in (doc.get("paths") or {}).items():
        for method in spec.HTTP_METHODS:
            node = item.get(method) if isinstance(item, dict) else None
            if isinstance(node, dict) and not str(node.get("operationId") or "").strip():
                missing = True
                yield Finding(
                    pointer("paths", path, method),
                    "operation-metadata",
                    f"{method.upper()} {path} has no operationId.",
                    "add a unique camelCase operationId (the mock finds the handler by it).",
                )
    if not missing:
        try:
            spec.operations(doc)
        except READ_ERRORS as exc:
            yield Finding(
                "#/paths", RULE, f"The mock cannot list the operations ({_reason(exc)}).", "fix the path items."
            )


def _extension(doc: Document, name: str, readers: tuple[Callable[[Document], object], ...]) -> Iterator[Finding]:
    if name not in doc:
        return
    for reader in readers:
        try:
            reader(doc)
        except READ_ERRORS as exc:
            yield Finding(
                pointer(name),
                RULE,
                f"`{name}` cannot be read by mock_server.spec.{reader.__name__}: {_reason(exc)}.",
                f"give `{name}` every key that reader needs, with values of the documented kind.",
            )
            return


def extensions(doc: Document) -> Iterator[Finding]:
    """`x-idempotency` and `x-error-catalog`, when present, are readable by the mock's readers."""
    yield from _extension(doc, "x-idempotency", (spec.idempotency_policy, spec.idempotency_terms))
    yield from _extension(
        doc, "x-error-catalog", (spec.error_catalog, spec.plain_errors, spec.catalog_entries, spec.error_result_bodies)
    )


STAGE = (references, operation_ids, extensions)


def reader_findings(doc: Document) -> list[Finding]:
    """What the mock's reader refuses; empty when the rules may read the document through it."""
    return sorted({finding for check in STAGE for finding in check(doc)})
