"""The API document and the facts the suite reads from it (idempotency policy, error catalog, enums)."""

from __future__ import annotations

import copy
import importlib.resources
import os
import re
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

import yaml

from . import decisions
from .decisions import Decision

SPEC_ENV = "COVERBASE_SPEC_DIR"
HTTP_METHODS = ("get", "put", "post", "delete", "patch")


def default_spec_path() -> Path:
    """coverbase.yaml from $COVERBASE_SPEC_DIR, else this checkout's `openapi/`, else the copy installed with the
    suite (`contract_tests/_openapi/` in the wheel); the suite never imports the mock to find it."""
    override = os.environ.get(SPEC_ENV)
    if override:
        return Path(override) / "coverbase.yaml"
    checkout = Path(__file__).resolve().parent.parent / "openapi" / "coverbase.yaml"
    if checkout.is_file():
        return checkout
    # An installed wheel is unpacked on disk, so the resource is a real file.
    return Path(str(importlib.resources.files(__package__ or "contract_tests") / "_openapi" / "coverbase.yaml"))


@dataclass(frozen=True)
class IdempotencyPolicy:
    """The document's `x-idempotency` extension, as the checks need it."""

    header: str
    operations: frozenset[str]
    window_seconds: int
    boundary_exclusive: bool
    scope: tuple[str, ...]
    stored_min: int
    stored_max: int
    body_mismatch: str
    concurrency: str
    key_min: int
    key_max: int
    key_pattern: re.Pattern[str]
    invalid_status: int
    invalid_type: str

    @property
    def last_replay_offset(self) -> int:
        """Seconds after first use of the last moment a replay is still served."""
        return self.window_seconds - 1 if self.boundary_exclusive else self.window_seconds

    @property
    def first_expired_offset(self) -> int:
        return self.last_replay_offset + 1

    def stores(self, status: int) -> bool:
        return self.stored_min <= status <= self.stored_max


@dataclass(frozen=True)
class CodedError:
    code: str
    status: int
    message: str

    def body(self, **fields: str) -> dict[str, Any]:
        return {"detail": {"code": self.code, "message": self.message.format(**fields) if fields else self.message}}


@dataclass(frozen=True)
class Link:
    """An OpenAPI link: a `status` answer of `source` feeds `target` (named `name` in the document)."""

    source: str
    status: str
    name: str
    target: str

    @property
    def label(self) -> str:
        return f"{self.source} -[{self.status} {self.name}]-> {self.target}"


class Document:
    """Read-only view of coverbase.yaml; everything derived from it is computed once."""

    def __init__(self, raw: dict[str, Any], path: Path | None = None) -> None:
        self.raw = raw
        self.source = path
        self._ops: dict[str, tuple[str, str, dict[str, Any]]] = {}
        self._routes: list[tuple[str, re.Pattern[str], str]] = []
        for template, item in raw.get("paths", {}).items():
            for method in HTTP_METHODS:
                if method in item:
                    op_id = item[method]["operationId"]
                    self._ops[op_id] = (method.upper(), template, item[method])
                    regex = re.compile("^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template)) + "$")
                    self._routes.append((method.upper(), regex, op_id))
        # Literal paths win over templated ones (/v1/workflows/runs before /v1/workflows/runs/{id}).
        self._routes.sort(key=lambda route: route[1].pattern.count("[^/]+"))

    @classmethod
    def load(cls, path: Path | None = None) -> Document:
        path = path or default_spec_path()
        with open(path, encoding="utf-8") as fh:
            raw = yaml.safe_load(fh)
        if not isinstance(raw, dict) or "paths" not in raw:
            raise ValueError(f"{path}: not an OpenAPI document")
        return cls(raw, path)

    def copy_raw(self) -> dict[str, Any]:
        return copy.deepcopy(self.raw)

    @property
    def operation_ids(self) -> list[str]:
        return list(self._ops)

    def method(self, operation_id: str) -> str:
        return self._ops[operation_id][0]

    def template(self, operation_id: str) -> str:
        return self._ops[operation_id][1]

    def path(self, operation_id: str, **params: str) -> str:
        """The concrete path of an operation, its parameters percent-encoded."""
        return re.sub(r"\{([^}]+)\}", lambda m: quote(params[m.group(1)], safe=""), self.template(operation_id))

    def operation_at(self, method: str, path: str) -> str | None:
        """The operationId serving `method path` (a concrete path, no query), or None."""
        for verb, regex, op_id in self._routes:
            if verb == method.upper() and regex.match(path):
                return op_id
        return None

    @cached_property
    def decisions(self) -> dict[str, Decision]:
        return decisions.collect(self.raw)

    def decision(self, decision_id: str) -> Decision | None:
        return self.decisions.get(decision_id)

    @cached_property
    def links(self) -> list[Link]:
        """Every link the document declares, in document order."""
        found = []
        for op_id, (_, _, node) in self._ops.items():
            for status, response in (node.get("responses") or {}).items():
                for name, link in (self.resolve(response).get("links") or {}).items():
                    found.append(Link(op_id, str(status), str(name), str(link.get("operationId"))))
        return found

    def resolve(self, node: Any) -> Any:
        """`node` with its top-level $ref followed (repeatedly)."""
        while isinstance(node, dict) and isinstance(node.get("$ref"), str):
            node = self.pointer(node["$ref"])
        return node

    def pointer(self, ref: str) -> Any:
        node: Any = self.raw
        for token in ref.lstrip("#/").split("/"):
            node = node[token.replace("~1", "/").replace("~0", "~")]
        return node

    def path_values(self, operation_id: str, path: str) -> dict[str, str]:
        """The path parameters of a concrete `path` of the operation, percent-decoded."""
        names = re.findall(r"\{([^}]+)\}", self.template(operation_id))
        pattern = "^" + re.sub(r"\\\{[^}]+\\\}", "([^/]+)", re.escape(self.template(operation_id))) + "$"
        match = re.match(pattern, path)
        return {name: unquote(value) for name, value in zip(names, match.groups(), strict=True)} if match else {}

    def operation(self, operation_id: str) -> dict[str, Any]:
        return self._ops[operation_id][2]

    def response_schema(self, operation_id: str, status: int) -> dict[str, Any] | None:
        """The JSON schema of the documented `status` answer (by exact code, then NXX, then default)."""
        responses = self.operation(operation_id).get("responses") or {}
        for key in (str(status), f"{str(status)[0]}XX", "default"):
            if key in responses:
                media = (self.resolve(responses[key]).get("content") or {}).get("application/json") or {}
                schema = media.get("schema")
                return self.resolve(schema) if isinstance(schema, dict) else None
        return None

    def parameters(self, operation_id: str) -> list[dict[str, Any]]:
        """Path-level and operation-level parameters, resolved."""
        _, template, node = self._ops[operation_id]
        item = self.raw["paths"][template]
        return [self.resolve(p) for p in [*(item.get("parameters") or []), *(node.get("parameters") or [])]]

    def request_schema(self, operation_id: str) -> dict[str, Any] | None:
        body = self.resolve(self.operation(operation_id).get("requestBody") or {})
        media = (body.get("content") or {}).get("application/json") or {}
        schema = media.get("schema")
        return self.resolve(schema) if isinstance(schema, dict) else None

    @cached_property
    def policy(self) -> IdempotencyPolicy:
        """The `x-idempotency` policy, parsed once."""
        ext = self.raw["x-idempotency"]
        key = ext["key"]
        return IdempotencyPolicy(
            header=str(ext["header"]),
            operations=frozenset(ext["operations"]),
            window_seconds=int(ext["window_seconds"]),
            boundary_exclusive=ext["window_boundary"] == "exclusive",
            scope=tuple(ext["scope"]),
            stored_min=int(ext["stored_statuses"]["min"]),
            stored_max=int(ext["stored_statuses"]["max"]),
            body_mismatch=str(ext["body_mismatch"]),
            concurrency=str(ext["concurrency"]),
            key_min=int(key["min_length"]),
            key_max=int(key["max_length"]),
            key_pattern=re.compile(key["pattern"]),
            invalid_status=int(key["invalid_status"]),
            invalid_type=str(key["invalid_type"]),
        )

    @property
    def rejects_unknown_query_parameters(self) -> bool:
        """`x-unknown-input.query_parameters`: an undocumented query parameter is a 422 (else it is ignored)."""
        return (self.raw.get("x-unknown-input") or {}).get("query_parameters") == "rejected"

    def coded_error(self, code: str) -> CodedError:
        entry = self.raw["x-error-catalog"]["codes"][code]
        return CodedError(code, int(entry["status"]), str(entry["message"]))

    def plain_error(self, name: str) -> tuple[int, dict[str, Any]]:
        entry = self.raw["x-error-catalog"]["plain"][name]
        return int(entry["status"]), {"detail": entry["detail"]}

    def enum(self, schema_name: str) -> list[Any]:
        return list(self.raw["components"]["schemas"][schema_name]["enum"])

    def terminal_run_statuses(self) -> frozenset[str]:
        """Every run status but the one a new run starts in (the document calls the others terminal)."""
        return frozenset(s for s in self.enum("WorkflowRunStatus") if s != self.initial_run_status())

    def initial_run_status(self) -> str:
        example = self._ops["runWorkflow"][2]["responses"]["201"]["content"]["application/json"]["example"]
        return str(example["status"])

    def query_schema(self, operation_id: str, name: str) -> dict[str, Any]:
        for param in self._ops[operation_id][2].get("parameters", []):
            if param.get("in") == "query" and param.get("name") == name:
                schema: dict[str, Any] = param["schema"]
                return schema
        raise KeyError(f"{operation_id} has no query parameter {name}")

    def statuses(self, operation_id: str) -> set[str]:
        return set(self._ops[operation_id][2]["responses"])
