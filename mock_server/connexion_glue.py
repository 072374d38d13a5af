"""connexion's extension points, each delegating to the operation table: one rule set for both lanes.

- `TableResolver`: every operationId resolves to an entry that executes the table's operation.
- `validator_map`: the parameter validator runs the table's whole request check (parameters, content
  type, body) so that connexion's own checks never see an invalid request; the body validator is a
  pass-through (the body was read and checked once already).
- `OrgBearerHandler`: bearer authentication through `auth.authenticate`.
- `error_handlers`: connexion's and starlette's exceptions become the documented ApiErrors, raised for
  the edge's ErrorBoundary to render (404s of paths the router rejects get their operation's coded
  404; 405s get the `Allow` header from the table).
- `apply_patches`: connexion inspects each handler's signature on every request (memoized), and checks
  the content type on its own (handed to the table).
"""

from __future__ import annotations

import contextlib
import inspect
import typing as t
import weakref
from collections.abc import Awaitable, Callable
from typing import Any

from connexion import security as connexion_security
from connexion import utils as connexion_utils
from connexion.context import context
from connexion.context import scope as request_scope
from connexion.datastructures import MediaTypeDict
from connexion.decorators import parameter as connexion_parameter
from connexion.exceptions import ProblemException
from connexion.lifecycle import ConnexionRequest
from connexion.middleware.abstract import ROUTING_CONTEXT
from connexion.middleware.request_validation import RequestValidationOperation
from connexion.resolver import Resolver
from connexion.security import BearerSecurityHandler
from connexion.validators import JSONRequestBodyValidator, ParameterValidator
from starlette.exceptions import HTTPException
from starlette.responses import Response
from starlette.types import Receive, Scope

from .api.call import Call
from .auth import authenticate
from .errors import ApiError, ErrorFactory
from .http import responses
from .http.scope import ARGS, body, note_ignored, rehearsal, route, runtime
from .operations import Operation, OperationTable

MODEL_ATTRIBUTES_MSG = "Input should be a valid dictionary or object to extract fields from"


def _operation(table: OperationTable, scope: Scope) -> Operation:
    operation_id = scope.get("extensions", {}).get(ROUTING_CONTEXT, {}).get("operation_id")
    return table.by_id[operation_id]


def _entry(op: Operation) -> Callable[..., Awaitable[Response]]:
    async def entry(**_path: str) -> Response:
        # connexion passes the path parameters; the table's own (validated) arguments are used instead.
        scope = request_scope
        match = route(scope)
        if match is not None and match.operation is None and match.allowed:
            # connexion's router took a literal path for a template's parameter (see OperationTable.match).
            raise runtime(scope).errors.method_not_allowed(_allow(match.allowed))
        args = scope.get(ARGS)
        if args is None:
            args = op.validate(scope, scope.get("path_params", {}), body(scope))
            note_ignored(scope, args.ignored)
        org_id = context.get("user") or ""
        call = Call(runtime(scope), org_id, scope["method"], scope["path"], rehearsal(scope))
        status, payload = await op.execute(call, args)
        return responses.success(status, payload)

    entry.__name__ = op.id
    # What connexion sees: the path parameters by name, and no **kwargs (so it never parses the body).
    entry.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY) for name in op.route.names]
    )
    return entry


def _allow(methods: tuple[str, ...]) -> list[str]:
    """The Allow header of a 405: the document's methods of the path, and HEAD wherever GET is served."""
    return sorted({*methods, "HEAD"} if "GET" in methods else set(methods))


class TableResolver(Resolver):
    """operationId -> the table's entry for it (handlers are found when the table is compiled)."""

    def __init__(self, table: OperationTable) -> None:
        super().__init__()
        self.table = table

    def resolve_operation_id(self, operation: Any) -> str:
        return str(operation.operation_id)

    def resolve_function_from_operation_id(self, operation_id: str) -> Any:
        return _entry(self.table.by_id[operation_id])


def validator_map(table: OperationTable) -> dict[str, Any]:
    class TableParameters(ParameterValidator):
        def validate(self, scope: Scope) -> None:
            op = _operation(table, scope)
            scope[ARGS] = op.validate(scope, scope.get("path_params", {}), body(scope))
            note_ignored(scope, scope[ARGS].ignored)

    class ValidatedBody(JSONRequestBodyValidator):
        async def wrap_receive(self, receive: Receive, *, scope: Scope) -> tuple[Receive, Scope]:
            return receive, scope

    return {"parameter": TableParameters, "body": MediaTypeDict({"*/*": ValidatedBody})}


class OrgBearerHandler(BearerSecurityHandler):
    """connexion's bearer security, deciding with the one authentication rule of the mock."""

    def _get_verify_func(self, token_info_func: Any) -> Any:
        def verify(request: ConnexionRequest) -> dict[str, Any]:
            org_id = authenticate(runtime(request.scope), request.scope)
            if org_id is None:
                raise runtime(request.scope).errors.unauthorized()
            return {"sub": org_id}

        return verify

    def _resolve_func(self, security_scheme: dict[str, Any]) -> Any:
        return authenticate


class ErrorMapper:
    """connexion's and starlette's errors, as the documented bodies (raised: the ErrorBoundary renders)."""

    def __init__(self, table: OperationTable, errors: ErrorFactory) -> None:
        self.table = table
        self.errors = errors

    async def reraise(self, request: ConnexionRequest, exc: Exception) -> Response:
        raise exc

    async def problem(self, request: ConnexionRequest, exc: Exception) -> Response:
        assert isinstance(exc, ProblemException)
        raise self._map(request, exc.status or 500, str(exc.detail or exc.title or ""))

    async def http_exception(self, request: ConnexionRequest, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        raise self._map(request, exc.status_code, str(exc.detail))

    async def decode_error(self, request: ConnexionRequest, exc: Exception) -> Response:
        raise ErrorFactory.validation(
            [ErrorFactory.validation_item(["body"], "Request body is not valid UTF-8", "json_invalid")]
        )

    def handlers(self) -> list[tuple[type[Exception], Callable[[ConnexionRequest, Exception], Awaitable[Response]]]]:
        return [
            (ApiError, self.reraise),
            (ProblemException, self.problem),
            (HTTPException, self.http_exception),
            (UnicodeDecodeError, self.decode_error),
            (Exception, self.reraise),
        ]

    def _map(self, request: ConnexionRequest, status: int, detail: str) -> ApiError:
        if status == 401:
            return self.errors.unauthorized()
        if status == 404:
            return self._not_found(request.scope)
        if status == 405:
            match = route(request.scope)
            return self.errors.method_not_allowed(_allow(match.allowed if match is not None else ()))
        if status in (400, 415):
            # connexion's own body/parameter problems: report them as FastAPI would, in the 422 array.
            msg, type_ = (
                (MODEL_ATTRIBUTES_MSG, "model_attributes_type")
                if status == 415
                else (detail or "Invalid request", "value_error")
            )
            return ErrorFactory.validation([ErrorFactory.validation_item(["body"], msg, type_)])
        return ApiError(status, {"detail": detail or "Error"})

    def _not_found(self, scope: Scope) -> ApiError:
        """A path the router rejects (`%2F`, `%0A` in a segment) answers as its operation would: 401
        without a valid key, else the operation's documented coded 404."""
        found = self.table.loose_match(scope["method"], scope["path"])
        if found is None:
            return self.errors.not_found_route()
        op, params = found
        if op.secured and authenticate(runtime(scope), scope) is None:
            return self.errors.unauthorized()
        if op.not_found_code is None:
            return self.errors.not_found_route()
        return self.errors.coded(op.not_found_code, **params)


def _cached_signature(inspect_arguments: t.Callable[[t.Callable[..., Any]], tuple[list[str], bool]]) -> Any:
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


def _content_type_decided_by_the_table(self: Any, mime_type: str) -> None:
    """The content-type rule is the table's (Operation.validate), which has already passed."""


def apply_patches() -> None:
    """connexion's per-request signature inspection memoized, and its own content-type check handed to the
    table (it would otherwise refuse an empty body sent with a non-JSON type that the table accepts)."""
    RequestValidationOperation.validate_mime_type = _content_type_decided_by_the_table
    if getattr(connexion_parameter.inspect_function_arguments, "_memoized", False):
        return
    cached = _cached_signature(connexion_utils.inspect_function_arguments)
    cached._memoized = True
    connexion_parameter.inspect_function_arguments = cached
    connexion_security.inspect_function_arguments = cached
