"""Loading OpenAPI documents and walking their operations, parameters and local references."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
REPO_ROOT = Path(__file__).resolve().parent.parent
API_DOCUMENT = REPO_ROOT / "openapi" / "coverbase.yaml"
CONTROL_DOCUMENT = REPO_ROOT / "openapi" / "mock-control.yaml"

Document = dict[str, Any]


def load_document(path: Path) -> Document:
    """Parse one YAML/JSON OpenAPI document; the root must be a mapping."""
    return parse_document(path.read_text(encoding="utf-8"), str(path))


def parse_document(text: str, source: str) -> Document:
    # The C loader (when PyYAML was built with libyaml) is about ten times faster; both give the same data.
    data = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    if not isinstance(data, dict):
        raise ValueError(f"{source}: the document root is not a mapping")
    return data


def escape_token(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


def pointer(*parts: str | int) -> str:
    """JSON pointer (as a URI fragment) to the node reached by the given keys."""
    return "#" + "".join("/" + escape_token(str(part)) for part in parts)


def resolve_pointer(doc: Document, ref: str) -> Any:
    """The node a local reference such as ``#/components/schemas/X`` names; KeyError if it names nothing."""
    if not ref.startswith("#"):
        raise KeyError(f"{ref} is not a local reference")
    node: Any = doc
    for raw in ref[1:].split("/")[1:]:
        token = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(node, dict) and token in node:
            node = node[token]
        elif isinstance(node, list) and token.isdigit() and int(token) < len(node):
            node = node[int(token)]
        else:
            raise KeyError(f"{ref} does not resolve")
    return node


def deref(doc: Document, node: Any) -> Any:
    """Follow ``$ref`` chains until a node without one; cycles of pure references raise KeyError."""
    seen: set[str] = set()
    while isinstance(node, dict) and isinstance(node.get("$ref"), str):
        ref = node["$ref"]
        if ref in seen:
            raise KeyError(f"{ref} is a reference cycle")
        seen.add(ref)
        node = resolve_pointer(doc, ref)
    return node


def ref_name(node: Any) -> str | None:
    """The component name a ``$ref`` node points at (last pointer token), else None."""
    if isinstance(node, dict) and isinstance(node.get("$ref"), str):
        return str(node["$ref"]).rsplit("/", 1)[-1]
    return None


@dataclass(frozen=True)
class Operation:
    """One operation with its path-level parameters merged in (operation-level ones win, as in OpenAPI)."""

    path: str
    method: str
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


def iter_operations(doc: Document) -> Iterator[Operation]:
    """Operations in document order."""
    for path, item in (doc.get("paths") or {}).items():
        if not isinstance(item, dict):
            continue
        path_params = [deref(doc, p) for p in item.get("parameters") or []]
        for method in HTTP_METHODS:
            node = item.get(method)
            if not isinstance(node, dict):
                continue
            merged: dict[tuple[str, str], dict[str, Any]] = {}
            for param in path_params + [deref(doc, p) for p in node.get("parameters") or []]:
                merged[(str(param.get("name")), str(param.get("in")))] = param
            yield Operation(path, method, node, list(merged.values()))


def operations_by_id(doc: Document) -> dict[str, Operation]:
    return {op.operation_id: op for op in iter_operations(doc) if op.operation_id}


def media_examples(media: dict[str, Any], doc: Document) -> list[tuple[str, Any]]:
    """(name, value) of a media type's or parameter's ``example``/``examples``; ``example`` is named "example"."""
    found: list[tuple[str, Any]] = []
    if "example" in media:
        found.append(("example", media["example"]))
    for name, example in (media.get("examples") or {}).items():
        resolved = deref(doc, example)
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
