"""connexion validators that report failures as FastAPI's 422 validation array."""

from __future__ import annotations

import contextlib
import importlib
import json
import typing as t
import weakref
from typing import Any

from connexion import security as connexion_security
from connexion import utils as connexion_utils
from connexion.datastructures import MediaTypeDict
from connexion.decorators import parameter as connexion_parameter
from connexion.json_schema import Draft4ResponseValidator
from connexion.lifecycle import ConnexionRequest
from connexion.validators import (
    JSONRequestBodyValidator,
    JSONResponseBodyValidator,
    ParameterValidator,
    TextResponseBodyValidator,
)
from jsonschema import Draft4Validator, ValidationError
from starlette.datastructures import Headers, QueryParams
from starlette.types import Receive, Scope

from .errors import ApiError, ErrorFactory
from .middleware import replay_messages

jsonschema_rs: Any
try:
    jsonschema_rs = importlib.import_module("jsonschema_rs")
except ImportError:  # pragma: no cover - the accelerator is optional; jsonschema alone gives the same answers
    jsonschema_rs = None

Loc = list[str | int]

_TYPE_NAMES = {
    "string": ("string_type", "Input should be a valid string"),
    "integer": ("int_type", "Input should be a valid integer"),
    "number": ("float_type", "Input should be a valid number"),
    "boolean": ("bool_type", "Input should be a valid boolean"),
    "object": ("dict_type", "Input should be a valid dictionary"),
    "array": ("list_type", "Input should be a valid list"),
}


def _item(loc: Loc, msg: str, type_: str) -> dict[str, Any]:
    return ErrorFactory.validation_item(loc, msg, type_)


def schema_errors(error: ValidationError, base: Loc) -> list[dict[str, Any]]:
    """Translate one jsonschema error into FastAPI-style items (one per missing or extra field)."""
    loc: Loc = base + list(error.absolute_path)
    # jsonschema types these as "maybe unset"; an error from iter_errors always has them.
    validator: Any = error.validator
    value: Any = error.validator_value
    schema: Any = error.schema
    if validator == "required":
        missing = [name for name in value if isinstance(error.instance, dict) and name not in error.instance]
        return [_item([*loc, name], "Field required", "missing") for name in missing]
    if validator == "additionalProperties" and isinstance(error.instance, dict):
        allowed = set(schema.get("properties", {}))
        extra = [name for name in error.instance if name not in allowed]
        return [_item([*loc, name], "Extra inputs are not permitted", "extra_forbidden") for name in extra]
    if validator == "type":
        expected = value if isinstance(value, str) else value[0]
        type_, msg = _TYPE_NAMES.get(expected, ("type_error", f"Input should be of type {expected}"))
        return [_item(loc, msg, type_)]
    if validator == "enum":
        options = ", ".join(repr(v) for v in value)
        return [_item(loc, f"Input should be {options}", "enum")]
    if validator == "minimum":
        return [_item(loc, f"Input should be greater than or equal to {value}", "greater_than_equal")]
    if validator == "maximum":
        return [_item(loc, f"Input should be less than or equal to {value}", "less_than_equal")]
    if validator == "minLength":
        return [
            _item(loc, f"String should have at least {value} character{'s' if value != 1 else ''}", "string_too_short")
        ]
    if validator == "maxLength":
        return [_item(loc, f"String should have at most {value} characters", "string_too_long")]
    if validator == "pattern":
        return [_item(loc, f"String should match pattern '{value}'", "string_pattern_mismatch")]
    return [_item(loc, error.message, "value_error")]


class Compiled:
    """A schema's validators, built once: a compiled yes/no check for the common (valid) case, and the
    jsonschema validator that decides and explains whenever the fast check does not say yes."""

    __slots__ = ("_fast", "schema", "slow")

    def __init__(self, schema: dict[str, Any], slow: Draft4Validator, fast: Any) -> None:
        self.schema = schema  # held so that its id() cannot be reused while it is a cache key
        self.slow = slow
        self._fast = fast

    def is_valid(self, instance: Any) -> bool:
        if self._fast is not None and self._fast.is_valid(instance):
            return True
        # Whatever the fast engine rejects (or cannot compile) is decided by jsonschema, as before.
        return bool(self.slow.is_valid(instance))


# connexion builds a validator object per request, from schema dicts that live as long as the app:
# compiling once per (schema object, flavour) removes that per-request cost.
_COMPILED: dict[tuple[int, str], Compiled] = {}


def compiled(schema: dict[str, Any], flavour: str = "plain") -> Compiled:
    """The cached validators of `schema`: "plain" Draft 4 (requests) or connexion's "response" Draft 4."""
    if not schema:
        # Absent schemas arrive as a new {} per request: never a cache key, and they accept anything.
        return _ACCEPT_ALL[flavour]
    key = (id(schema), flavour)
    found = _COMPILED.get(key)
    if found is None or found.schema is not schema:
        if flavour == "response":
            slow = Draft4ResponseValidator(schema, format_checker=Draft4Validator.FORMAT_CHECKER)
        else:
            slow = Draft4Validator(schema)
        found = Compiled(schema, slow, _fast(schema, flavour))
        _COMPILED[key] = found
    return found


_ACCEPT_ALL = {
    "plain": Compiled({}, Draft4Validator({}), None),
    "response": Compiled({}, Draft4ResponseValidator({}), None),
}

_SAFE_KEYWORDS = frozenset(
    {
        "type", "properties", "required", "additionalProperties", "items", "enum", "minimum", "maximum",
        "minLength", "maxLength", "pattern", "minItems", "maxItems", "allOf", "anyOf", "oneOf", "not",
    }
)  # fmt: skip
# Annotations with no effect on validation in jsonschema's Draft 4 ("nullable" is handled below).
_IGNORED_KEYWORDS = frozenset({"description", "example", "examples", "title", "default", "nullable", "components"})


def _fast(schema: dict[str, Any], flavour: str) -> Any:
    """A jsonschema-rs validator answering exactly like jsonschema for this schema, or None.

    Only schemas made of keywords whose Draft 4 meaning both engines share are compiled; `format`,
    `$ref`, `writeOnly` and anything unknown keep the schema on jsonschema alone. For responses,
    connexion lets `nullable: true` accept null in `type` and `enum`: the copy says so in Draft 4 terms.
    """
    if jsonschema_rs is None:
        return None
    try:
        converted = _convert(schema, flavour == "response", top=True)
    except _Unsupported:
        return None
    try:
        return jsonschema_rs.Draft4Validator(converted)
    except Exception:  # any schema the engine refuses stays with jsonschema
        return None


class _Unsupported(Exception):
    pass


def _convert(node: Any, nullable: bool, *, top: bool = False) -> Any:
    if isinstance(node, list):
        return [_convert(item, nullable) for item in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key == "components" and top:
            continue  # refs are already resolved by connexion; the copy does not need the library
        if key.startswith("x-") or key in _IGNORED_KEYWORDS:
            continue
        if key not in _SAFE_KEYWORDS:
            raise _Unsupported(key)
        if key in ("properties",):
            out[key] = {name: _convert(sub, nullable) for name, sub in value.items()}
        elif key in ("items", "additionalProperties", "not"):
            out[key] = _convert(value, nullable) if isinstance(value, (dict, list)) else value
        elif key in ("allOf", "anyOf", "oneOf"):
            out[key] = [_convert(sub, nullable) for sub in value]
        else:
            out[key] = value
    if nullable and (node.get("x-nullable") is True or node.get("nullable")):
        if "type" in out:
            types = out["type"] if isinstance(out["type"], list) else [out["type"]]
            out["type"] = [*types, "null"] if "null" not in types else types
        if "enum" in out and None not in out["enum"]:
            out["enum"] = [*out["enum"], None]
    return out


def _collect(validator: Draft4Validator, instance: Any, base: Loc) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    for error in sorted(validator.iter_errors(instance), key=lambda e: [str(p) for p in e.absolute_path]):
        items.extend(schema_errors(error, base))
    return items


def _body_error(msg: str, type_: str, loc: Loc | None = None) -> ApiError:
    return ErrorFactory.validation([_item(loc or ["body"], msg, type_)])


class BodyValidator(JSONRequestBodyValidator):
    """JSON bodies: chunked bodies read, bad bytes and bad JSON reported as 422 items."""

    @property
    def _validator(self) -> Draft4Validator:
        return compiled(self._schema).slow

    async def wrap_receive(self, receive: Receive, *, scope: Scope) -> tuple[Receive, Scope]:
        headers = Headers(scope=scope)
        chunked = "chunked" in headers.get("transfer-encoding", "").lower()
        if not chunked and not _content_length(headers):
            if self._required:
                raise _body_error("Field required", "missing")
            return receive, scope
        messages: list[t.MutableMapping[str, Any]] = []
        more = True
        while more:
            message = await receive()
            messages.append(message)
            more = message.get("more_body", False)
        raw = b"".join(m.get("body", b"") for m in messages)
        if not raw:
            if self._required:
                raise _body_error("Field required", "missing")
            return replay_messages(messages, receive), scope
        body = self._decode(raw)
        self._validate(body)
        return replay_messages(messages, receive), scope

    def _decode(self, raw: bytes) -> Any:
        try:
            text = raw.decode(self._encoding)
        except (UnicodeDecodeError, LookupError):
            raise _body_error("Request body is not valid UTF-8", "json_invalid") from None
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise _body_error("JSON decode error", "json_invalid", ["body", exc.pos]) from None

    def _validate(self, body: Any) -> dict[str, Any] | None:
        if compiled(self._schema).is_valid(body):
            return None
        items = _collect(self._validator, body, ["body"])
        if items:
            raise ErrorFactory.validation(items)
        return None


def _content_length(headers: Headers) -> int:
    try:
        return int(headers.get("content-length", "0") or 0)
    except ValueError:
        return 0


def _raw_query(request: ConnexionRequest) -> QueryParams:
    return QueryParams(request.scope.get("query_string", b""))


def _param_value(request: ConnexionRequest, location: str, name: str) -> Any:
    if location == "query":
        return request.query_params.get(name)
    if location == "path":
        return request.path_params.get(name.replace("-", "_"))
    return request.headers.get(name)


class ParamValidator(ParameterValidator):
    """Query, path and header parameters, with every failure collected into one 422."""

    def validate_request(self, request: ConnexionRequest) -> None:
        items: list[dict[str, Any]] = []
        if self.strict_validation:
            extra = self.validate_query_parameter_list(request, security_params=self.security_query_params)
            for name in sorted(extra):
                items.append(_item(["query", name], "Extra inputs are not permitted", "extra_forbidden"))
        for location in ("query", "path", "header"):
            for param in self.parameters.get(location, []):
                items.extend(self._check(location, param, _param_value(request, location, param["name"]), request))
        if items:
            raise ErrorFactory.validation(items)

    def _check(
        self, location: str, param: dict[str, Any], value: Any, request: ConnexionRequest
    ) -> list[dict[str, Any]]:
        name = param["name"]
        schema = param.get("schema", {})
        if value is None:
            if param.get("required"):
                return [_item([location, name], "Field required", "missing")]
            return []
        if location == "header" and len(request.headers.getlist(name)) > 1:
            return [_item([location, name], "Header must be sent once", "value_error")]
        if location == "query" and schema.get("type") != "array" and len(_raw_query(request).getlist(name)) > 1:
            return [_item([location, name], "Query parameter must be sent once", "value_error")]
        expected = schema.get("type")
        if expected in ("integer", "number") and isinstance(value, str):
            return [
                _item(
                    [location, name],
                    "Input should be a valid integer, unable to parse string as an integer",
                    "int_parsing",
                )
            ]
        if expected == "array" and isinstance(value, list):
            item_type = schema.get("items", {}).get("type")
            if item_type in ("integer", "number") and any(isinstance(v, str) for v in value):
                return [
                    _item(
                        [location, name],
                        "Input should be a valid integer, unable to parse string as an integer",
                        "int_parsing",
                    )
                ]
        checked = compiled(schema)
        if checked.is_valid(value):
            return []
        return _collect(checked.slow, value, [location, name])


class ResponseValidator(JSONResponseBodyValidator):
    """connexion's response check (kept on: it is the mock's guarantee), with the validator compiled once."""

    @property
    def validator(self) -> Draft4Validator:
        return compiled(self._schema, "response").slow

    def _validate(self, body: Any) -> None:
        if compiled(self._schema, "response").is_valid(body):
            return
        super()._validate(body)  # the same NonConformingResponseBody as before


class ResolvedMediaTypes(MediaTypeDict):
    """connexion's MediaTypeDict re-sorts and fnmatches its keys on every lookup: remember the answers."""

    LIMIT = 64  # media types come from request headers: bound what a client can make us remember

    def __init__(self, entries: dict[str, Any]) -> None:
        super().__init__(entries)
        self._resolved: dict[str, Any] = {}

    def __getitem__(self, item: str) -> Any:
        found = self._resolved.get(item)
        if found is None:
            found = super().__getitem__(item)
            if len(self._resolved) < self.LIMIT:
                self._resolved[item] = found
        return found


def _cached_signature(inspect_arguments: t.Callable[[t.Callable[..., Any]], tuple[list[str], bool]]) -> Any:
    """connexion inspects the handler's signature on every request (twice); handlers never change."""
    seen: weakref.WeakKeyDictionary[t.Callable[..., Any], tuple[tuple[str, ...], bool]] = weakref.WeakKeyDictionary()

    def inspect_function_arguments(function: t.Callable[..., Any]) -> tuple[list[str], bool]:
        try:
            names, has_kwargs = seen[function]
        except (KeyError, TypeError):  # TypeError: not weak-referenceable, so not cached
            fresh = inspect_arguments(function)
            with contextlib.suppress(TypeError):
                seen[function] = (tuple(fresh[0]), fresh[1])
            return fresh
        return list(names), has_kwargs  # a new list each time, as the original returns

    return inspect_function_arguments


def install_signature_cache() -> None:
    """Point connexion's per-request users of inspect_function_arguments at a memoized version."""
    if getattr(connexion_parameter.inspect_function_arguments, "_memoized", False):
        return
    cached = _cached_signature(connexion_utils.inspect_function_arguments)
    cached._memoized = True
    connexion_parameter.inspect_function_arguments = cached
    connexion_security.inspect_function_arguments = cached


install_signature_cache()

VALIDATOR_MAP = {
    "parameter": ParamValidator,
    "body": ResolvedMediaTypes({"*/*json": BodyValidator}),
    "response": ResolvedMediaTypes({"*/*json": ResponseValidator, "text/plain": TextResponseBodyValidator}),
}
