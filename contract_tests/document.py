"""The API document and the facts the suite reads from it (idempotency policy, error catalog, enums)."""

from __future__ import annotations

import copy
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import yaml

SPEC_ENV = "COVERBASE_SPEC_DIR"
HTTP_METHODS = ("get", "put", "post", "delete", "patch")


def default_spec_path() -> Path:
    """coverbase.yaml of this checkout (or $COVERBASE_SPEC_DIR); the suite never imports the mock to find it."""
    override = os.environ.get(SPEC_ENV)
    if override:
        return Path(override) / "coverbase.yaml"
    return Path(__file__).resolve().parent.parent / "openapi" / "coverbase.yaml"


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


class Document:
    """Read-only view of coverbase.yaml."""

    def __init__(self, raw: dict[str, Any], path: Path | None = None) -> None:
        self.raw = raw
        self.source = path
        self._ops: dict[str, tuple[str, str, dict[str, Any]]] = {}
        for template, item in raw.get("paths", {}).items():
            for method in HTTP_METHODS:
                if method in item:
                    self._ops[item[method]["operationId"]] = (method.upper(), template, item[method])

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

    def idempotency(self) -> IdempotencyPolicy:
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
