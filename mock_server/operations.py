"""The documents compiled once at start-up into an operation table: routes, request rules, handlers, response checks.

Everything that asks "which operation is this, and is the request valid" reads this table: the router
layer, rehearsals, the fast lane, the 404/405 mapping and the connexion adapters. Each request rule
(query, path and header parameters, content type, body) is written here once; both lanes call
`Operation.validate`, then `Operation.execute`, so they give the same answer by construction.
"""

from __future__ import annotations

import functools
import importlib
import inspect
import re
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import parse_qsl

from starlette.datastructures import Headers

from . import spec
from .errors import ApiError, ErrorFactory
from .execution import Outcome, atomically
from .http.scope import BodyInfo
from .schema_check import Compiled, Item, compile_schema, item

if TYPE_CHECKING:
    from .api.call import Call

Handler = Callable[..., Outcome]
HandlerWrapper = Callable[[str, Handler], Handler]

API_PACKAGE = "mock_server.api"
CONTROL_MODULE = "mock_server.control.handlers"
SAFE_METHODS = frozenset({"GET", "HEAD"})
ANNOTATIONS = frozenset({"type", "description", "example", "title"})
MODEL_ATTRIBUTES_MSG = "Input should be a valid dictionary or object to extract fields from"
INT_PARSING_MSG = "Input should be a valid integer, unable to parse string as an integer"


@dataclass
class Param:
    """One documented query, path or header parameter, with its compiled schema."""

    name: str
    location: str
    required: bool
    schema: dict[str, Any]
    check: Compiled

    @property
    def kwarg(self) -> str:
        """The handler's argument name: `Idempotency-Key` -> `idempotency_key`."""
        return self.name.replace("-", "_").lower()

    @property
    def default(self) -> Any:
        return self.schema.get("default")

    @functools.cached_property
    def any_string(self) -> bool:
        """A schema every string satisfies (path parameters arrive as strings): nothing to check."""
        return self.schema.get("type") == "string" and not (set(self.schema) - ANNOTATIONS)


@dataclass(frozen=True)
class RequestBody:
    required: bool
    media_types: tuple[str, ...]
    check: Compiled  # the documented schema
    closed: Compiled  # the same schema with every declared object closed: what --strict-input enforces


@dataclass(frozen=True)
class Args:
    """A request that passed every rule: the handler's keyword arguments and the validated headers."""

    kwargs: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None
    # Undocumented body fields and query parameters the request sent and the mock ignored ("body.x", "query.y").
    ignored: tuple[str, ...] = ()


@dataclass(frozen=True)
class Route:
    template: str
    names: tuple[str, ...]
    exact: re.Pattern[str]  # as the router matches: one path segment per parameter
    loose: re.Pattern[str]  # any characters per parameter, '/' and newlines too (paths the router rejects)

    @classmethod
    def of(cls, template: str) -> Route:
        names = tuple(re.findall(r"\{([^}]+)\}", template))
        escaped = re.escape(template)
        exact = re.sub(r"\\\{[^}]+\\\}", "([^/]+)", escaped)
        loose = re.sub(r"\\\{[^}]+\\\}", "(.+)", escaped)
        return cls(template, names, re.compile(f"^{exact}$"), re.compile(f"^{loose}$", re.DOTALL))

    def params(self, match: re.Match[str]) -> dict[str, str]:
        return dict(zip(self.names, match.groups(), strict=True))


@dataclass(frozen=True)
class Operation:
    id: str
    method: str
    template: str
    tag: str
    document: str  # "api" or "control"
    route: Route
    params: tuple[Param, ...]
    body: RequestBody | None
    responses: Mapping[int, Compiled]
    handler: Handler
    secured: bool
    idempotent: bool
    not_found_code: str | None
    raw: dict[str, Any] = field(repr=False, compare=False)
    is_async: bool = False  # only control-plane actions that wait on the outside world
    # Undocumented body fields and query parameters are a 422 (True) or ignored and reported (False).
    strict_input: bool = True

    # --- the request rules -------------------------------------------------------------------

    def validate(self, scope: Mapping[str, Any], path_params: Mapping[str, str], body: BodyInfo) -> Args:
        """The handler's arguments, or ApiError with FastAPI's 422 items. Parameters are checked first
        (every failure reported at once), then the content type, then the body."""
        headers = Headers(raw=scope["headers"])
        kwargs: dict[str, Any] = {}
        validated: dict[str, str] = {}
        unknown = self._unknown_query(scope)
        items = list(unknown) if self.strict_input else []
        ignored = [] if self.strict_input else [_dotted(entry["loc"]) for entry in unknown]
        query = _query_values(scope)
        for location in ("query", "path", "header"):
            for param in self.params:
                if param.location != location:
                    continue
                if location == "query":
                    value, found = _query_value(param, query)
                elif location == "path":
                    value = path_params.get(param.name)
                    found = [value] if value is not None else []
                else:
                    found = headers.getlist(param.name)
                    value = found[0] if found else None
                problems = _param_problems(param, value, found)
                items.extend(problems)
                if problems:
                    continue
                if location == "header":
                    if value is not None:
                        validated[param.name] = value
                elif value is not None:
                    kwargs[param.kwarg] = value
                elif param.default is not None:
                    kwargs[param.kwarg] = param.default
        if items:
            raise ErrorFactory.validation(items)
        value = self._body_value(body) if self.body is not None else None
        if self.body is not None:
            kwargs["body"] = value
            if not self.strict_input and value is not None:
                ignored += [_dotted(entry["loc"]) for entry in self.body.closed.errors(value, ["body"])]
        return Args(kwargs, validated, value, tuple(ignored))

    def _unknown_query(self, scope: Mapping[str, Any]) -> list[Item]:
        """Query parameters the document does not declare, as 422 items (used as such only under strict input)."""
        if not scope.get("query_string"):
            return []
        known = {p.name for p in self.params if p.location == "query"}
        sent = {name for name, _ in _query_pairs(scope)}
        return [
            item(["query", name], "Extra inputs are not permitted", "extra_forbidden") for name in sorted(sent - known)
        ]

    def _body_value(self, body: BodyInfo) -> Any:
        rule = self.body
        assert rule is not None
        if not body.present:
            if rule.required:
                raise _body_error("Field required", "missing")
            return None
        mime = (body.content_type or rule.media_types[0]).partition(";")[0].strip().lower()
        if mime not in rule.media_types:
            raise _body_error(MODEL_ATTRIBUTES_MSG, "model_attributes_type")
        if body.decode_error:
            raise _body_error("Request body is not valid UTF-8", "json_invalid")
        if body.json_error_at is not None:
            raise _body_error("JSON decode error", "json_invalid", ["body", body.json_error_at])
        problems = (rule.closed if self.strict_input else rule.check).errors(body.value, ["body"])
        if problems:
            raise ErrorFactory.validation(problems)
        return body.value

    # --- execution -----------------------------------------------------------------------------

    async def execute(self, call: Call, args: Args) -> Outcome:
        """Run the handler: under the idempotency policy when the document says so and a key was sent,
        always in one transaction; then check the answer against the document."""
        key = args.headers.get(call.rt.policy.header) if self.idempotent else None
        if self.is_async:
            # Only control-plane actions that wait on the outside world (webhook delivery) are async.
            status, body = await cast("Awaitable[Outcome]", self.handler(call, **args.kwargs))
        elif key is not None:
            where = call.rt.guard.scope_for(call.org_id, call.method, call.path, self.template, key, args.body)
            status, body = await call.rt.guard.run(where, lambda: self.handler(call, **args.kwargs))
        elif self.method in SAFE_METHODS:
            status, body = self.handler(call, **args.kwargs)  # reads only: no transaction to hold
        else:
            status, body = atomically(call.rt.store, lambda: self.handler(call, **args.kwargs))
        self.check_response(status, body)
        return status, body

    def check_response(self, status: int, body: Any) -> None:
        """The mock's guarantee: an answer that does not conform to the document is never sent."""
        check = self.responses.get(status)
        if check is not None and not check.is_valid(body):
            raise NonConformingResponse(f"{self.method} {self.template} -> {status} does not match the document")


class NonConformingResponse(Exception):
    """A handler produced an answer the document does not allow (a bug in the mock): answered 500."""


def _dotted(loc: list[str | int]) -> str:
    """A 422 item's location as the mock reports an ignored input: ["body", "a", "b"] -> "body.a.b"."""
    return ".".join(str(part) for part in loc)


def close_objects(schema: Any) -> Any:
    """The schema with every object that declares `properties` (and says nothing of others) closed: the rule
    `--strict-input` enforces, and the one that names what the documented schema lets through unread."""
    if isinstance(schema, list):
        return [close_objects(entry) for entry in schema]
    if not isinstance(schema, dict):
        return schema
    closed = {key: close_objects(value) for key, value in schema.items()}
    if "properties" in schema and "additionalProperties" not in schema:
        closed["additionalProperties"] = False
    return closed


def _body_error(msg: str, type_: str, loc: list[str | int] | None = None) -> ApiError:
    return ErrorFactory.validation([item(loc or ["body"], msg, type_)])


def _query_pairs(scope: Mapping[str, Any]) -> list[tuple[str, str]]:
    raw: bytes = scope.get("query_string", b"")
    return parse_qsl(raw.decode("latin-1"), keep_blank_values=True) if raw else []


def _query_values(scope: Mapping[str, Any]) -> dict[str, list[str]]:
    values: dict[str, list[str]] = {}
    if not scope.get("query_string"):
        return values
    for name, value in _query_pairs(scope):
        values.setdefault(name, []).append(value)
    return values


def _query_value(param: Param, query: dict[str, list[str]]) -> tuple[Any, list[str]]:
    """(value, every value sent) of a query parameter, read as form style: an array is every value
    sent, split on commas; a scalar is the last value; numbers are parsed when they parse."""
    sent = query.get(param.name, [])
    if not sent:
        return None, sent
    if param.schema.get("type") == "array":
        parts = ",".join(sent).split(",")
        item_type = param.schema.get("items", {}).get("type")
        return [_coerce(part, item_type) for part in parts], sent
    return _coerce(sent[-1], param.schema.get("type")), sent


def _coerce(value: str, type_: str | None) -> Any:
    try:
        if type_ == "integer":
            return int(value)
        if type_ == "number":
            return float(value)
    except ValueError:
        return value
    return value


def _param_problems(param: Param, value: Any, found: list[Any]) -> list[Item]:
    if param.location == "path" and value is not None and param.any_string:
        return []
    loc: list[str | int] = [param.location, param.name]
    if value is None:
        return [item(loc, "Field required", "missing")] if param.required else []
    if param.location == "header" and len(found) > 1:
        return [item(loc, "Header must be sent once", "value_error")]
    if param.location == "query" and param.schema.get("type") != "array" and len(found) > 1:
        return [item(loc, "Query parameter must be sent once", "value_error")]
    expected = param.schema.get("type")
    if expected in ("integer", "number") and isinstance(value, str):
        return [item(loc, INT_PARSING_MSG, "int_parsing")]
    if expected == "array" and isinstance(value, list):
        item_type = param.schema.get("items", {}).get("type")
        if item_type in ("integer", "number") and any(isinstance(v, str) for v in value):
            return [item(loc, INT_PARSING_MSG, "int_parsing")]
    return param.check.errors(value, loc)


@dataclass(frozen=True, slots=True)
class RouteMatch:
    """What the router found for a request: the operation and its path parameters, or the methods
    the path allows (a 405), or nothing (a 404)."""

    operation: Operation | None
    params: dict[str, str]
    allowed: tuple[str, ...]


class OperationTable:
    def __init__(self, operations: Iterable[Operation]) -> None:
        ops = list(operations)
        self.by_id = {op.id: op for op in ops}
        if len(self.by_id) != len(ops):
            raise ValueError("operationIds must be unique across the documents")
        # Literal templates win over parameterised ones, as a router prefers the most specific route.
        self._ordered = sorted(ops, key=lambda op: op.route.names != ())
        self._literal = {(op.method, op.template): op for op in ops if not op.route.names}
        methods: dict[str, set[str]] = {}
        for op in ops:
            if not op.route.names:
                methods.setdefault(op.template, set()).add(op.method)
        self._literal_methods = {path: tuple(sorted(names)) for path, names in methods.items()}
        self._by_method: dict[str, list[Operation]] = {}
        for op in self._ordered:
            if op.route.names:
                self._by_method.setdefault(op.method, []).append(op)

    def __iter__(self) -> Any:
        return iter(self.by_id.values())

    def match(self, method: str, path: str) -> RouteMatch:
        literal = self._literal.get((method, path))
        if literal is not None:
            return RouteMatch(literal, {}, ())
        # A path the document names literally belongs to that path only: /_mock/webhooks/deliver is never
        # the webhook "deliver" of /_mock/webhooks/{webhook_id}.
        named = self._literal_methods.get(path)
        if named is not None:
            return RouteMatch(None, {}, named)
        for op in self._by_method.get(method, ()):
            found = op.route.exact.match(path)
            if found is not None:
                return RouteMatch(op, op.route.params(found), ())
        allowed = sorted({op.method for op in self._ordered if op.route.exact.match(path)})
        return RouteMatch(None, {}, tuple(allowed))

    def loose_match(self, method: str, path: str) -> tuple[Operation, dict[str, str]] | None:
        """The operation a path the router rejects (e.g. `%2F` or `%0A` inside a segment) was meant for."""
        for op in self._by_method.get(method, ()):
            found = op.route.loose.match(path) if op.route.names else None
            if found is not None:
                return op, op.route.params(found)
        return None


def deep_resolve(document: dict[str, Any], node: Any) -> Any:
    """The node with every local `$ref` inlined (the documents have no recursive schemas)."""
    node = spec.resolve(document, node)
    if isinstance(node, dict):
        return {key: deep_resolve(document, value) for key, value in node.items()}
    if isinstance(node, list):
        return [deep_resolve(document, entry) for entry in node]
    return node


def _not_found_code(document: dict[str, Any], raw: dict[str, Any]) -> str | None:
    """The coded error the operation documents for 404, from its example."""
    response = spec.resolve(document, raw.get("responses", {}).get("404"))
    if not response:
        return None
    example = response.get("content", {}).get("application/json", {}).get("example", {})
    detail = example.get("detail") if isinstance(example, dict) else None
    return detail.get("code") if isinstance(detail, dict) else None


def _handler(kind: str, op: spec.Operation) -> Handler:
    module_name = CONTROL_MODULE if kind == "control" else f"{API_PACKAGE}.{op.tag}"
    module = importlib.import_module(module_name)
    found: Handler = getattr(module, spec.handler_name(op.operation_id))
    return found


def compile_document(
    document: dict[str, Any],
    kind: str,
    *,
    idempotent: frozenset[str] = frozenset(),
    wrap: HandlerWrapper | None = None,
    base_path: str = "",
    strict_input: bool = True,
) -> list[Operation]:
    """Every operation of one document, compiled: done once, when the app is built. `strict_input`: undocumented
    body fields and query parameters are a 422 (else they are ignored and reported in `Args.ignored`)."""
    default_security = document.get("security", [])
    compiled: list[Operation] = []
    for op in spec.operations(document):
        params = []
        for raw_param in spec.operation_parameters(document, op):
            param = deep_resolve(document, raw_param)
            schema = param.get("schema", {})
            params.append(
                Param(param["name"], param["in"], bool(param.get("required")), schema, compile_schema(schema))
            )
        body = None
        raw_body = spec.resolve(document, op.raw.get("requestBody"))
        if raw_body:
            content = raw_body.get("content", {})
            schema = deep_resolve(document, content.get("application/json", {}).get("schema", {}))
            body = RequestBody(
                bool(raw_body.get("required")),
                tuple(m.lower() for m in content),
                compile_schema(schema),
                compile_schema(close_objects(schema)),
            )
        responses = {}
        for status, response in op.raw.get("responses", {}).items():
            schema = spec.resolve(document, response).get("content", {}).get("application/json", {}).get("schema")
            if schema is not None and str(status).isdigit():
                responses[int(status)] = compile_schema(deep_resolve(document, schema), response=True)
        handler = _handler(kind, op)
        compiled.append(
            Operation(
                id=op.operation_id,
                method=op.method,
                template=base_path + op.path,
                tag=op.tag,
                document=kind,
                route=Route.of(base_path + op.path),
                params=tuple(params),
                body=body,
                responses=responses,
                handler=wrap(op.operation_id, handler) if wrap is not None else handler,
                secured=bool(op.raw.get("security", default_security)),
                idempotent=op.operation_id in idempotent,
                not_found_code=_not_found_code(document, op.raw),
                raw=op.raw,
                is_async=inspect.iscoroutinefunction(handler),
                strict_input=strict_input,
            )
        )
    return compiled
