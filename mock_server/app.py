"""Build the connexion AsyncApp that serves the document with the mock's handlers."""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any

from connexion import AsyncApp
from connexion.jsonifier import Jsonifier
from connexion.exceptions import ProblemException
from connexion.lifecycle import ConnexionRequest, ConnexionResponse
from connexion.middleware import MiddlewarePosition
from connexion.options import SwaggerUIOptions
from connexion.resolver import Resolver
from starlette.exceptions import HTTPException

from . import spec
from .auth import OrgBearerHandler, org_for_key
from .clock import Clock, VirtualClock
from .errors import ApiError, ErrorFactory
from .fixtures import load_fixtures
from .idempotency import IdempotencyGuard
from .ids import IdFactory, RandomIds
from .middleware import JournalMiddleware, RuntimeMiddleware, SecurityHeadersMiddleware
from .rehearsals import Rehearsals
from .runtime import Runtime, Settings, from_scope
from .store import MemoryStore, Store
from .validation import VALIDATOR_MAP

log = logging.getLogger("coverbase_mock")


def handler_name(operation_id: str) -> str:
    """createAssessment -> create_assessment."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", operation_id).lower()


class TagResolver(Resolver):
    """operationId + first tag -> `<package>.<tag>.<snake_case(operationId)>`."""

    def __init__(self, package: str) -> None:
        super().__init__()
        self.package = package

    def resolve_operation_id(self, operation: Any) -> str:
        tag = (operation._operation.get("tags") or ["default"])[0]
        if self.package.endswith(".control"):
            return f"{self.package}.handlers.{handler_name(operation.operation_id)}"
        return f"{self.package}.{tag}.{handler_name(operation.operation_id)}"


def build_runtime(
    *,
    fixtures_path: Path | None = None,
    clock: Clock | None = None,
    ids: IdFactory | None = None,
    store: Store | None = None,
    settings: Settings | None = None,
) -> Runtime:
    document = spec.load_document()
    policy = spec.idempotency_policy(document)
    virtual = VirtualClock(clock)
    the_ids = ids or RandomIds()
    the_store = store or MemoryStore(load_fixtures(fixtures_path, document))
    return Runtime(
        document=document,
        store=the_store,
        clock=virtual,
        ids=the_ids,
        errors=ErrorFactory(spec.error_catalog(document), spec.plain_errors(document)),
        policy=policy,
        guard=IdempotencyGuard(policy, the_store, virtual),
        rehearsals=Rehearsals(the_ids),
        settings=settings or Settings(),
    )


def _json(error: ApiError) -> ConnexionResponse:
    import json

    return ConnexionResponse(
        status_code=error.status,
        body=json.dumps(error.body, separators=(",", ":")),
        content_type="application/json",
        headers=error.headers,
    )


class ErrorMapper:
    """Turns every failure - ours, connexion's, starlette's - into a documented error body."""

    def __init__(self, document: dict[str, Any], errors: ErrorFactory) -> None:
        self.errors = errors
        self.document = document
        # Operations with path parameters, for paths the router rejects (e.g. %0A or %2F in a segment).
        self._param_ops = [op for op in spec.operations(document) if "{" in op.path]

    async def api_error(self, request: ConnexionRequest, exc: Exception) -> ConnexionResponse:
        assert isinstance(exc, ApiError)
        return _json(exc)

    async def problem(self, request: ConnexionRequest, exc: Exception) -> ConnexionResponse:
        assert isinstance(exc, ProblemException)
        return _json(self._map_status(request, exc.status or 500, str(exc.detail or exc.title or "")))

    async def http_exception(self, request: ConnexionRequest, exc: Exception) -> ConnexionResponse:
        assert isinstance(exc, HTTPException)
        return _json(self._map_status(request, exc.status_code, str(exc.detail), exc.headers))

    async def decode_error(self, request: ConnexionRequest, exc: Exception) -> ConnexionResponse:
        return _json(ErrorFactory.validation([ErrorFactory.validation_item(["body"], "Request body is not valid UTF-8", "json_invalid")]))

    async def unexpected(self, request: ConnexionRequest, exc: Exception) -> ConnexionResponse:
        log.exception("unexpected error on %s %s", request.method, request.url.path, exc_info=exc)
        return _json(ApiError(500, {"detail": "Internal Server Error"}))

    def _map_status(
        self, request: ConnexionRequest, status: int, detail: str, headers: Any = None
    ) -> ApiError:
        if status == 401:
            return self.errors.unauthorized()
        if status == 404:
            return self._not_found(request)
        if status == 405:
            allow = (headers or {}).get("Allow", "")
            return self.errors.method_not_allowed([m.strip() for m in allow.split(",") if m.strip()])
        if status in (400, 415):
            # connexion's own body/parameter problems: report them as FastAPI would, in the 422 array.
            msg = detail or "Invalid request"
            type_ = "model_attributes_type" if status == 415 else "value_error"
            if status == 415:
                msg = "Input should be a valid dictionary or object to extract fields from"
            return ErrorFactory.validation([ErrorFactory.validation_item(["body"], msg, type_)])
        if status == 500:
            log.error("response does not conform to the document: %s", detail)
            return ApiError(500, {"detail": "Internal Server Error"})
        return ApiError(status, {"detail": detail or "Error"})

    def _not_found(self, request: ConnexionRequest) -> ApiError:
        path = request.scope["path"]
        method = request.scope["method"]
        for op in self._param_ops:
            match = op.path_regex.match(path)
            if match is None or op.method != method:
                continue
            runtime = from_scope(request.scope)
            token = request.headers.get("authorization", "").partition(" ")[2]
            if not token or org_for_key(runtime.fixtures, token) is None:
                return self.errors.unauthorized()
            code = _documented_not_found_code(self.document, op)
            if code is None:
                break
            names = re.findall(r"\{([^}]+)\}", op.path)
            return self.errors.coded(code, **dict(zip(names, match.groups())))
        return self.errors.not_found_route()


def _documented_not_found_code(document: dict[str, Any], op: spec.Operation) -> str | None:
    response = spec.resolve(document, op.raw.get("responses", {}).get("404"))
    if not response:
        return None
    example = response.get("content", {}).get("application/json", {}).get("example", {})
    detail = example.get("detail")
    return detail.get("code") if isinstance(detail, dict) else None


def create_app(runtime: Runtime | None = None, **runtime_options: Any) -> AsyncApp:
    """The ASGI app: the API from coverbase.yaml and, if enabled, the control plane."""
    rt = runtime or build_runtime(**runtime_options)
    app = AsyncApp(__name__, jsonifier=Jsonifier(separators=(",", ":")))
    app.add_api(
        spec.api_spec_path(),
        resolver=TagResolver("mock_server.api"),
        strict_validation=True,
        validate_responses=True,
        validator_map=VALIDATOR_MAP,
        security_map={"bearer": OrgBearerHandler},
        swagger_ui_options=SwaggerUIOptions(swagger_ui=True),
        name="coverbase",
    )
    if rt.settings.control_plane:
        app.add_api(
            spec.control_spec_path(),
            resolver=TagResolver("mock_server.control"),
            strict_validation=True,
            validate_responses=True,
            validator_map=VALIDATOR_MAP,
            swagger_ui_options=SwaggerUIOptions(swagger_ui=False, serve_spec=True),
            name="control",
        )
    mapper = ErrorMapper(rt.document, rt.errors)
    app.add_error_handler(ApiError, mapper.api_error)
    app.add_error_handler(ProblemException, mapper.problem)
    app.add_error_handler(HTTPException, mapper.http_exception)
    app.add_error_handler(UnicodeDecodeError, mapper.decode_error)
    app.add_error_handler(Exception, mapper.unexpected)
    # Each insertion lands just outside the exception middleware, so the first added is outermost.
    app.add_middleware(RuntimeMiddleware, position=MiddlewarePosition.BEFORE_EXCEPTION, runtime=rt)
    app.add_middleware(JournalMiddleware, position=MiddlewarePosition.BEFORE_EXCEPTION)
    app.add_middleware(SecurityHeadersMiddleware, position=MiddlewarePosition.BEFORE_EXCEPTION)
    app.runtime = rt  # type: ignore[attr-defined]
    return app
