"""Which of the document's statements an exchange breaks: documented facts, or Decisions (by id).

A request is checked against the operation's parameters and body schema; an answer against the schema
of its status. Each problem is attributed to the Decision whose `x-decision` marker governs it (on the
failing schema node with a matching keyword, on the parameter, or - for problems that are not schema
keywords: `unparseable-body`, `non-json-content-type`, `unknown-query-parameter` - on whatever node names
that problem in its `keywords`), or to no Decision, which makes it a documented fact.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from jsonschema.exceptions import ValidationError
from openapi_schema_validator import OAS30Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

from .decisions import Decision, on_node
from .document import Document
from .exchange import Exchange

ROOT = "urn:coverbase"
UNPARSEABLE_BODY = "unparseable-body"
NON_JSON_CONTENT_TYPE = "non-json-content-type"
UNKNOWN_QUERY_PARAMETER = "unknown-query-parameter"


@dataclass(frozen=True)
class Problem:
    where: str  # e.g. "body/name", "header Idempotency-Key", "answer /errors/0"
    keyword: str
    message: str
    decision: Decision | None = None


@dataclass
class Attribution:
    problems: list[Problem] = field(default_factory=list)

    @property
    def facts(self) -> list[Problem]:
        return [p for p in self.problems if p.decision is None]

    @property
    def decisions(self) -> list[Decision]:
        seen: dict[str, Decision] = {}
        for p in self.problems:
            if p.decision is not None:
                seen.setdefault(p.decision.id, p.decision)
        return list(seen.values())

    @property
    def only_decisions(self) -> bool:
        """Problems exist and every one of them is a Decision's."""
        return bool(self.problems) and not self.facts

    def describe(self) -> str:
        return "; ".join(
            f"{p.where}: {p.message}" + (f" [Decision {p.decision.id}]" if p.decision else "") for p in self.problems
        )


class Classifier:
    def __init__(self, doc: Document, base_path: str = "") -> None:
        self.doc = doc
        self.base_path = base_path.rstrip("/")
        self.registry: Registry[Any] = Registry().with_resource(ROOT, Resource.from_contents(doc.raw, DRAFT4))
        self._by_keyword: dict[str, Decision] = {}
        for decision in doc.decisions.values():
            for keyword in decision.keywords:
                self._by_keyword.setdefault(keyword, decision)

    # Requests.

    def request(self, exchange: Exchange) -> Attribution:
        found = Attribution()
        parts = urlsplit(exchange.url)
        op = self.doc.operation_at(exchange.method, self._relative(parts.path))
        if op is None:
            return found
        query = parse_qsl(parts.query, keep_blank_values=True)
        path_values = self.doc.path_values(op, self._relative(parts.path))
        documented: set[str] = set()
        for param, pointer in self._parameters(op):
            name, where = str(param.get("name")), str(param.get("in"))
            if where == "query":
                documented.add(name)
            if where == "path":
                prefix = param.get("x-id-prefix")
                value = path_values.get(name, "")
                if isinstance(prefix, str) and not re.fullmatch(re.escape(prefix) + "[0-9a-f]{32}", value):
                    found.problems.append(
                        Problem(
                            f"path {name}",
                            "x-id-prefix",
                            f"{value!r} is not a {prefix} ID",
                            self._on(param, "x-id-prefix"),
                        )
                    )
                continue
            value = self._parameter_value(exchange, param, query)
            if value is None:
                if param.get("required") and where != "path":
                    found.problems.append(
                        Problem(f"{where} {name}", "required", "missing", self._on(param, "required"))
                    )
                continue
            for error in self._validate(None, value, pointer + "/schema"):
                decision = self._on(param, str(error.validator)) or self._on_schema(error)
                found.problems.append(Problem(f"{where} {name}", str(error.validator), error.message, decision))
        for name, _ in query:
            # Only a document that rejects undocumented parameters makes one a problem of the request.
            if name not in documented and self.doc.rejects_unknown_query_parameters:
                found.problems.append(
                    Problem(
                        f"query {name}",
                        UNKNOWN_QUERY_PARAMETER,
                        "not a documented parameter",
                        self._by_keyword.get(UNKNOWN_QUERY_PARAMETER),
                    )
                )
        self._body(op, exchange, found)
        return found

    def _body(self, op: str, exchange: Exchange, found: Attribution) -> None:
        body_spec = self.doc.resolve(self.doc.operation(op).get("requestBody") or {})
        if not body_spec:
            return
        raw = exchange.body
        if not raw:
            if body_spec.get("required"):
                found.problems.append(Problem("body", "required", "the required body is missing"))
            return
        content_type = exchange.headers.get("content-type", "")
        if "json" not in content_type.lower():
            found.problems.append(
                Problem(
                    "body",
                    NON_JSON_CONTENT_TYPE,
                    f"sent as {content_type or 'no type'}",
                    self._by_keyword.get(NON_JSON_CONTENT_TYPE),
                )
            )
            return
        try:
            value = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as exc:
            found.problems.append(
                Problem(
                    "body",
                    UNPARSEABLE_BODY,
                    f"not UTF-8 JSON ({type(exc).__name__})",
                    self._by_keyword.get(UNPARSEABLE_BODY),
                )
            )
            return
        pointer = self._schema_pointer(["paths", self.doc.template(op), self.doc.method(op).lower(), "requestBody"])
        if pointer is None:
            return
        for error in self._validate(None, value, pointer):
            where = "body" + "".join(f"/{p}" for p in error.absolute_path)
            found.problems.append(Problem(where, str(error.validator), error.message, self._on_schema(error)))

    def _parameters(self, op: str) -> list[tuple[dict[str, Any], str]]:
        """(parameter, its pointer) for the path item's and the operation's parameters, $refs followed."""
        template, method = self.doc.template(op), self.doc.method(op).lower()
        found = []
        for base in (["paths", template], ["paths", template, method]):
            node: Any = self.doc.raw
            for token in base:
                node = node[token]
            for index, raw in enumerate(node.get("parameters") or []):
                pointer = "/" + "/".join(t.replace("~", "~0").replace("/", "~1") for t in [*base, "parameters"])
                pointer += f"/{index}"
                while isinstance(raw, dict) and isinstance(raw.get("$ref"), str):
                    pointer = raw["$ref"].lstrip("#")
                    raw = self.doc.pointer(raw["$ref"])
                found.append((raw, pointer))
        return found

    def _parameter_value(self, exchange: Exchange, param: dict[str, Any], query: list[tuple[str, str]]) -> Any:
        name, where = str(param.get("name")), param.get("in")
        schema = param.get("schema") or {}
        if where == "header":
            return exchange.headers.get(name.lower())
        if where == "query":
            values = [v for k, v in query if k == name]
            if not values:
                return None
            if schema.get("type") == "array":
                item_type = (self.doc.resolve(schema.get("items") or {})).get("type")
                return [_coerce(v, item_type) for v in values]
            return _coerce(values[-1], schema.get("type"))
        return None  # path parameters are plain strings here (`x-id-prefix`, no schema constraints)

    # Answers.

    def response(self, exchange: Exchange) -> Attribution:
        found = Attribution()
        op = self.doc.operation_at(exchange.method, self._relative(urlsplit(exchange.url).path))
        if op is None:
            return found
        responses = self.doc.operation(op).get("responses") or {}
        key = next(
            (k for k in (str(exchange.status), f"{str(exchange.status)[0]}XX", "default") if k in responses), None
        )
        if key is None:
            found.problems.append(Problem("answer", "status", f"{exchange.status} is not a documented status"))
            return found
        pointer = self._schema_pointer(["paths", self.doc.template(op), self.doc.method(op).lower(), "responses", key])
        if pointer is None:
            return found
        try:
            value = json.loads(exchange.response_text)
        except ValueError:
            found.problems.append(Problem("answer", "content", "the body is not JSON"))
            return found
        for error in self._validate(None, value, pointer):
            where = "answer /" + "/".join(str(p) for p in error.absolute_path)
            found.problems.append(Problem(where, str(error.validator), error.message, self._on_schema(error)))
        return found

    # Helpers.

    def _relative(self, path: str) -> str:
        return path[len(self.base_path) :] if self.base_path and path.startswith(self.base_path) else path

    def _validate(self, schema: dict[str, Any] | None, value: Any, pointer: str | None) -> list[ValidationError]:
        target = {"$ref": f"{ROOT}#{pointer}"} if pointer is not None else schema
        if target is None:
            return []
        validator = OAS30Validator(target, registry=self.registry)
        return sorted(validator.iter_errors(value), key=lambda e: list(e.absolute_path))

    def _schema_pointer(self, tokens: list[str]) -> str | None:
        """The pointer of the JSON schema under a request body or response node (following $refs)."""
        node: Any = self.doc.raw
        pointer = ""
        for token in tokens:
            node, pointer = node[token], pointer + "/" + token.replace("~", "~0").replace("/", "~1")
        while isinstance(node, dict) and isinstance(node.get("$ref"), str):
            pointer = node["$ref"].lstrip("#")
            node = self.doc.pointer(node["$ref"])
        media = (node.get("content") or {}).get("application/json") if isinstance(node, dict) else None
        if not isinstance(media, dict) or "schema" not in media:
            return None
        return pointer + "/content/application~1json/schema"

    def _on(self, node: dict[str, Any], keyword: str) -> Decision | None:
        found = next((d for d in on_node(node) if d.covers_keyword(keyword)), None)
        return self.doc.decisions.get(found.id, found) if found is not None else None

    def _on_schema(self, error: ValidationError) -> Decision | None:
        """The Decision of the schema node where `error`'s keyword failed, or of an enclosing node naming it."""
        keyword = str(error.validator)
        node = error.schema if isinstance(error.schema, dict) else {}
        found = self._on(node, keyword)
        if found is not None:
            return found
        for parent in _parents(error):
            found = self._on(parent, keyword)
            if found is not None and found.keywords:
                return found
        return None


def _parents(error: ValidationError) -> list[dict[str, Any]]:
    """The schema nodes enclosing the failing one (from the context chain jsonschema keeps)."""
    found = []
    parent = error.parent
    while parent is not None:
        if isinstance(parent.schema, dict):
            found.append(parent.schema)
        parent = parent.parent
    return found


def _coerce(value: str, kind: Any) -> Any:
    if kind == "integer":
        try:
            return int(value)
        except ValueError:
            return value
    if kind == "number":
        try:
            return float(value)
        except ValueError:
            return value
    if kind == "boolean":
        return {"true": True, "false": False}.get(value, value)
    return value
