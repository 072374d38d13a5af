"""Load the OpenAPI documents and expose the API facts the mock reads from them."""

from __future__ import annotations

import functools
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

SPEC_ENV = "COVERBASE_SPEC_DIR"
# The C loader (when PyYAML was built with libyaml) is about ten times faster; both give the same data.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def spec_dir() -> Path:
    """The folder holding coverbase.yaml and mock-control.yaml (repo checkout or installed copy)."""
    override = os.environ.get(SPEC_ENV)
    if override:
        return Path(override)
    repo_copy = Path(__file__).resolve().parent.parent / "openapi"
    if (repo_copy / "coverbase.yaml").is_file():
        return repo_copy
    return Path(__file__).resolve().parent / "_openapi"


def api_spec_path() -> Path:
    return spec_dir() / "coverbase.yaml"


def control_spec_path() -> Path:
    return spec_dir() / "mock-control.yaml"


@functools.lru_cache(maxsize=4)
def _load(path: str) -> dict[str, Any]:
    with open(path, encoding="utf-8") as fh:
        data = yaml.load(fh, Loader=_LOADER)
    if not isinstance(data, dict):
        raise ValueError(f"{path}: not an OpenAPI document")
    return data


def load_document(path: Path | None = None) -> dict[str, Any]:
    """The raw API document (cached; callers must not mutate it)."""
    return _load(str(path or api_spec_path()))


def load_control_document(path: Path | None = None) -> dict[str, Any]:
    return _load(str(path or control_spec_path()))


def resolve(doc: dict[str, Any], node: Any) -> Any:
    """Follow one local `$ref` (as many hops as needed)."""
    while isinstance(node, dict) and "$ref" in node:
        ref = node["$ref"]
        if not ref.startswith("#/"):
            raise ValueError(f"only local references are supported: {ref}")
        target: Any = doc
        for part in ref[2:].split("/"):
            target = target[part.replace("~1", "/").replace("~0", "~")]
        node = target
    return node


HTTP_METHODS = ("get", "put", "post", "delete", "patch", "options", "head", "trace")


def handler_name(operation_id: str) -> str:
    """createAssessment -> create_assessment."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", operation_id).lower()


@dataclass(frozen=True)
class Operation:
    operation_id: str
    method: str
    path: str
    tag: str
    raw: dict[str, Any]


def operations(doc: dict[str, Any]) -> list[Operation]:
    found: list[Operation] = []
    for path, item in doc.get("paths", {}).items():
        for method in HTTP_METHODS:
            op = item.get(method)
            if op is None:
                continue
            tags = op.get("tags") or ["default"]
            found.append(Operation(op["operationId"], method.upper(), path, tags[0], op))
    return found


@dataclass(frozen=True)
class KeyRules:
    min_length: int
    max_length: int
    pattern: re.Pattern[str]
    invalid_status: int
    invalid_type: str


@dataclass(frozen=True)
class IdempotencyPolicy:
    """The machine-readable `x-idempotency` extension."""

    header: str
    operation_ids: frozenset[str]
    window_seconds: int
    boundary_exclusive: bool
    scope: tuple[str, ...]
    stored_min: int
    stored_max: int
    key: KeyRules

    def stores(self, status: int) -> bool:
        return self.stored_min <= status <= self.stored_max

    def expired(self, first_used_at: int, now: int) -> bool:
        end = first_used_at + self.window_seconds
        return now >= end if self.boundary_exclusive else now > end


def idempotency_policy(doc: dict[str, Any]) -> IdempotencyPolicy:
    ext = doc["x-idempotency"]
    key = ext["key"]
    return IdempotencyPolicy(
        header=ext["header"],
        operation_ids=frozenset(ext["operations"]),
        window_seconds=int(ext["window_seconds"]),
        boundary_exclusive=ext["window_boundary"] == "exclusive",
        scope=tuple(ext["scope"]),
        stored_min=int(ext["stored_statuses"]["min"]),
        stored_max=int(ext["stored_statuses"]["max"]),
        key=KeyRules(
            min_length=int(key["min_length"]),
            max_length=int(key["max_length"]),
            pattern=re.compile(key["pattern"]),
            invalid_status=int(key["invalid_status"]),
            invalid_type=str(key["invalid_type"]),
        ),
    )


@dataclass(frozen=True)
class CodedErrorSpec:
    code: str
    status: int
    message: str


def error_catalog(doc: dict[str, Any]) -> dict[str, CodedErrorSpec]:
    codes = doc["x-error-catalog"]["codes"]
    return {code: CodedErrorSpec(code, int(entry["status"]), str(entry["message"])) for code, entry in codes.items()}


def plain_errors(doc: dict[str, Any]) -> dict[str, tuple[int, str]]:
    plain = doc["x-error-catalog"]["plain"]
    return {name: (int(e["status"]), str(e["detail"])) for name, e in plain.items()}


def schema(doc: dict[str, Any], name: str) -> dict[str, Any]:
    found: dict[str, Any] = doc["components"]["schemas"][name]
    return found


def operation(doc: dict[str, Any], operation_id: str) -> Operation:
    for op in operations(doc):
        if op.operation_id == operation_id:
            return op
    raise KeyError(f"no operation {operation_id}")


@dataclass(frozen=True)
class AssessmentStatuses:
    """The `x-lifecycle` of the AssessmentStatus schema: where an assessment starts, the statuses it works
    through (in order) and the ones it finishes in."""

    initial: str
    working: tuple[str, ...]
    finished: frozenset[str]


def assessment_statuses(doc: dict[str, Any]) -> AssessmentStatuses:
    lifecycle = schema(doc, "AssessmentStatus")["x-lifecycle"]
    return AssessmentStatuses(
        str(lifecycle["initial"]),
        tuple(str(s) for s in lifecycle["working"]),
        frozenset(str(s) for s in lifecycle["finished"]),
    )


def webhook_event_types(doc: dict[str, Any]) -> dict[str, tuple[str, ...]]:
    """`x-webhook-events`: every event type a subscription may name -> the fields of its `data`."""
    events = doc["x-webhook-events"]["events"]
    return {str(name): tuple(str(f) for f in entry["data"]) for name, entry in events.items()}


def webhook_test_event(doc: dict[str, Any]) -> str:
    """The event type of `POST /v1/webhooks/{webhook_id}/test` when none is given (never subscribable)."""
    return str(doc["x-webhook-events"]["test_event"])


def rejects_unknown_input(doc: dict[str, Any]) -> bool:
    """`x-unknown-input`: True when the document rejects undocumented body fields and query parameters
    (422 `extra_forbidden`), False when it ignores them (`ignored`, FastAPI's and pydantic's default)."""
    ext = doc.get("x-unknown-input") or {}
    return ext.get("body_fields") == "rejected" or ext.get("query_parameters") == "rejected"


def import_required_fields(doc: dict[str, Any]) -> dict[str, tuple[str, ...]]:
    """Base object -> the fields its import records must carry (importRecords' `x-required-fields`)."""
    ext = operation(doc, "importRecords").raw["x-required-fields"]
    return {base: tuple(fields) for base, fields in ext.items() if base != "description"}


# Readers added for the spec tools (lint, docs, diff), which read every fact through this module.


def parse_document(text: str, source: str) -> dict[str, Any]:
    """A document given as text (e.g. an older version from git), parsed as `load_document` parses files."""
    data = yaml.load(text, Loader=_LOADER)
    if not isinstance(data, dict):
        raise ValueError(f"{source}: not an OpenAPI document")
    return data


def operation_parameters(doc: dict[str, Any], op: Operation) -> list[dict[str, Any]]:
    """The operation's parameters, resolved: its path's first, replaced by its own of the same name and location."""
    merged: dict[tuple[str, str], dict[str, Any]] = {}
    for raw in [*(doc["paths"][op.path].get("parameters") or []), *(op.raw.get("parameters") or [])]:
        param = resolve(doc, raw)
        merged[(str(param["name"]), str(param["in"]))] = param
    return list(merged.values())


@dataclass(frozen=True)
class IdempotencyTerms:
    """What `x-idempotency` states beyond the policy the mock enforces (`IdempotencyPolicy`), for the docs."""

    window_start: str
    replay_status: str
    replay_body: str
    replay_headers: str
    body_mismatch: str
    concurrency: str
    validation_before_lookup: bool
    reasons: tuple[tuple[str, str], ...]


def idempotency_terms(doc: dict[str, Any]) -> IdempotencyTerms:
    ext = doc["x-idempotency"]
    replay = ext["replay"]
    return IdempotencyTerms(
        window_start=str(ext["window_start"]),
        replay_status=str(replay["status"]),
        replay_body=str(replay["body"]),
        replay_headers=str(replay["headers"]),
        body_mismatch=str(ext["body_mismatch"]),
        concurrency=str(ext["concurrency"]),
        validation_before_lookup=bool(ext.get("validation_before_lookup", False)),
        reasons=tuple((str(key), str(text)) for key, text in (ext.get("reasons") or {}).items()),
    )


@dataclass(frozen=True)
class CatalogEntry:
    """One `x-error-catalog` entry as the reference docs list it."""

    group: str  # "codes", "plain" or "free_form"
    name: str
    status: int
    text: str  # the message template, the plain detail or the free-form body
    when: str | None


def catalog_entries(doc: dict[str, Any]) -> list[CatalogEntry]:
    """Every catalogued error with its `when`; codes and plain errors are read by `error_catalog` and `plain_errors`."""
    catalog = doc["x-error-catalog"]

    def when(entry: dict[str, Any]) -> str | None:
        return str(entry["when"]) if "when" in entry else None

    entries = [
        CatalogEntry("codes", code, coded.status, coded.message, when(catalog["codes"][code]))
        for code, coded in error_catalog(doc).items()
    ]
    entries += [
        CatalogEntry("plain", name, status, detail, when(catalog["plain"][name]))
        for name, (status, detail) in plain_errors(doc).items()
    ]
    entries += [
        CatalogEntry("free_form", str(name), int(entry["status"]), str(entry["body"]), when(entry))
        for name, entry in (catalog.get("free_form") or {}).items()
    ]
    return entries


def error_result_bodies(doc: dict[str, Any]) -> tuple[str, ...]:
    """Schemas a 4xx may use for a domain result instead of an error body (`x-error-catalog.result_bodies`)."""
    return tuple(str(name) for name in doc["x-error-catalog"].get("result_bodies") or [])


def fixed_response_headers(doc: dict[str, Any], response_name: str) -> dict[str, str]:
    """The headers a shared response always carries with one fixed value (a one-value `enum`), e.g. the
    401's `WWW-Authenticate: Bearer`."""
    response = resolve(doc, doc["components"]["responses"][response_name])
    fixed: dict[str, str] = {}
    for name, header in (response.get("headers") or {}).items():
        enum = resolve(doc, header).get("schema", {}).get("enum") or []
        if len(enum) == 1:
            fixed[name] = str(enum[0])
    return fixed
