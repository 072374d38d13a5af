"""connexion validators that report failures as FastAPI's 422 validation array."""

from __future__ import annotations

import json
import typing as t
from typing import Any

from connexion.datastructures import MediaTypeDict
from connexion.lifecycle import ConnexionRequest
from connexion.validators import JSONRequestBodyValidator, ParameterValidator
from jsonschema import Draft4Validator, ValidationError
from starlette.datastructures import Headers, QueryParams
from starlette.types import Receive, Scope

from .errors import ApiError, ErrorFactory

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
    validator, value = error.validator, error.validator_value
    if validator == "required":
        missing = [name for name in value if isinstance(error.instance, dict) and name not in error.instance]
        return [_item(loc + [name], "Field required", "missing") for name in missing]
    if validator == "additionalProperties" and isinstance(error.instance, dict):
        allowed = set(error.schema.get("properties", {}))
        extra = [name for name in error.instance if name not in allowed]
        return [_item(loc + [name], "Extra inputs are not permitted", "extra_forbidden") for name in extra]
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
        return [_item(loc, f"String should have at least {value} character{'s' if value != 1 else ''}", "string_too_short")]
    if validator == "maxLength":
        return [_item(loc, f"String should have at most {value} characters", "string_too_long")]
    if validator == "pattern":
        return [_item(loc, f"String should match pattern '{value}'", "string_pattern_mismatch")]
    return [_item(loc, error.message, "value_error")]


def _collect(validator: Draft4Validator, instance: Any, base: Loc) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    for error in sorted(validator.iter_errors(instance), key=lambda e: [str(p) for p in e.absolute_path]):
        items.extend(schema_errors(error, base))
    return items


def _body_error(msg: str, type_: str, loc: Loc | None = None) -> ApiError:
    return ErrorFactory.validation([_item(loc or ["body"], msg, type_)])


def cache_on_instance(method: t.Callable[[Any], Any]) -> t.Callable[[Any], Any]:
    """Cache a zero-argument method's result on the instance."""
    attr = f"_cached_{method.__name__}"

    def wrapper(self: Any) -> Any:
        found = getattr(self, attr, None)
        if found is None:
            found = method(self)
            setattr(self, attr, found)
        return found

    return wrapper


class BodyValidator(JSONRequestBodyValidator):
    """JSON bodies: chunked bodies read, bad bytes and bad JSON reported as 422 items."""

    @property
    def _validator(self) -> Draft4Validator:
        return self._compiled()

    @cache_on_instance
    def _compiled(self) -> Draft4Validator:
        return Draft4Validator(self._schema)

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
            return _replay(messages, receive), scope
        body = self._decode(raw)
        self._validate(body)
        return _replay(messages, receive), scope

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
        items = _collect(self._validator, body, ["body"])
        if items:
            raise ErrorFactory.validation(items)
        return None


def _content_length(headers: Headers) -> int:
    try:
        return int(headers.get("content-length", "0") or 0)
    except ValueError:
        return 0


def _replay(messages: list[t.MutableMapping[str, Any]], receive: Receive) -> Receive:
    queue = iter(messages)

    async def receive_() -> t.MutableMapping[str, Any]:
        try:
            return next(queue)
        except StopIteration:
            return await receive()

    return receive_


class ParamValidator(ParameterValidator):  # type: ignore[misc]
    """Query, path and header parameters, with every failure collected into one 422."""

    def validate_request(self, request: ConnexionRequest) -> None:
        items: list[dict[str, Any]] = []
        if self.strict_validation:
            extra = self.validate_query_parameter_list(request, security_params=self.security_query_params)
            for name in sorted(extra):
                items.append(_item(["query", name], "Extra inputs are not permitted", "extra_forbidden"))
        for location, getter in (
            ("query", lambda p: request.query_params.get(p["name"])),
            ("path", lambda p: request.path_params.get(p["name"].replace("-", "_"))),
            ("header", lambda p: request.headers.get(p["name"])),
        ):
            for param in self.parameters.get(location, []):
                items.extend(self._check(location, param, getter(param), request))
        if items:
            raise ErrorFactory.validation(items)

    def _check(self, location: str, param: dict[str, Any], value: Any, request: ConnexionRequest) -> list[dict[str, Any]]:
        name = param["name"]
        schema = param.get("schema", {})
        if value is None:
            if param.get("required"):
                return [_item([location, name], "Field required", "missing")]
            return []
        if location == "header" and len(request.headers.getlist(name)) > 1:
            return [_item([location, name], "Header must be sent once", "value_error")]
        raw_query = QueryParams(request.scope.get("query_string", b""))
        if location == "query" and schema.get("type") != "array" and len(raw_query.getlist(name)) > 1:
            return [_item([location, name], "Query parameter must be sent once", "value_error")]
        expected = schema.get("type")
        if expected in ("integer", "number") and isinstance(value, str):
            return [_item([location, name], "Input should be a valid integer, unable to parse string as an integer", "int_parsing")]
        if expected == "array" and isinstance(value, list):
            item_type = schema.get("items", {}).get("type")
            if item_type in ("integer", "number") and any(isinstance(v, str) for v in value):
                return [_item([location, name], "Input should be a valid integer, unable to parse string as an integer", "int_parsing")]
        return _collect(Draft4Validator(schema), value, [location, name])


VALIDATOR_MAP = {
    "parameter": ParamValidator,
    "body": MediaTypeDict({"*/*json": BodyValidator}),
}
