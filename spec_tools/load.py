"""The documents as the spec tools see them: read through the mock's reader (`mock_server.spec`), plus pointers.

Every fact of a document - a `$ref` resolution, the operation list and each operation's parameters, the
idempotency policy, the error catalog - has one reader, `mock_server.spec`, shared by the mock and the spec
tools, so lint, docs and diff can never read a document differently from the mock that serves it. This module
only adds what printing needs: JSON pointers to where something is written, and an operation's label.
`contract_tests` keeps its own reader by design (it never imports the mock).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from mock_server import spec

REPO_ROOT = Path(__file__).resolve().parent.parent
API_DOCUMENT = REPO_ROOT / "openapi" / "coverbase.yaml"
CONTROL_DOCUMENT = REPO_ROOT / "openapi" / "mock-control.yaml"

Document = dict[str, Any]


def load_document(path: Path) -> Document:
    """The document in a file as the mock loads it; a copy of its cached one, so callers may change it."""
    try:
        return copy.deepcopy(spec.load_document(path))
    except yaml.YAMLError as exc:
        raise ValueError(f"{path}: not valid YAML: {' '.join(str(exc).split())}") from exc


def parse_document(text: str, source: str) -> Document:
    """A document given as text (an older version from git), parsed as the mock parses files."""
    try:
        return spec.parse_document(text, source)
    except yaml.YAMLError as exc:
        raise ValueError(f"{source}: not valid YAML: {' '.join(str(exc).split())}") from exc


def escape_token(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


def pointer(*parts: str | int) -> str:
    """JSON pointer (as a URI fragment) to the node reached by the given keys."""
    return "#" + "".join("/" + escape_token(str(part)) for part in parts)


def resolve_ref(doc: Document, ref: str) -> Any:
    """The node a local reference such as ``#/components/schemas/X`` names, followed as the mock follows it."""
    return spec.resolve(doc, {"$ref": ref})


def ref_name(node: Any) -> str | None:
    """The component name a ``$ref`` node points at (last pointer token), else None."""
    if isinstance(node, dict) and isinstance(node.get("$ref"), str):
        return str(node["$ref"]).rsplit("/", 1)[-1]
    return None


@dataclass(frozen=True)
class Operation:
    """One operation of `mock_server.spec.operations`, with its resolved parameters and where it is written."""

    path: str
    method: str  # lowercase, as written in the document
    node: dict[str, Any]
    parameters: list[dict[str, Any]] = field(default_factory=list)

    @property
    def pointer(self) -> str:
        return pointer("paths", self.path, self.method)

    @property
    def operation_id(self) -> str:
        return str(self.node.get("operationId", ""))

    @property
    def label(self) -> str:
        return f"{self.method.upper()} {self.path}"


def iter_operations(doc: Document) -> list[Operation]:
    """Operations in document order, as the mock lists them."""
    return [
        Operation(op.path, op.method.lower(), op.raw, spec.operation_parameters(doc, op)) for op in spec.operations(doc)
    ]


def operations_by_id(doc: Document) -> dict[str, Operation]:
    return {op.operation_id: op for op in iter_operations(doc)}


def media_examples(media: dict[str, Any], doc: Document) -> list[tuple[str, Any]]:
    """(name, value) of a media type's or parameter's ``example``/``examples``; ``example`` is named "example"."""
    found: list[tuple[str, Any]] = []
    if "example" in media:
        found.append(("example", media["example"]))
    for name, example in (media.get("examples") or {}).items():
        resolved = spec.resolve(doc, example)
        if isinstance(resolved, dict) and "value" in resolved:
            found.append((str(name), resolved["value"]))
    return found


def json_media(node: dict[str, Any]) -> dict[str, Any] | None:
    """The JSON media type object of a request body or response, if it has one."""
    content = node.get("content") or {}
    for media_type, media in content.items():
        if "json" in media_type and isinstance(media, dict):
            return media
    return None
