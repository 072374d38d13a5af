"""Build the connexion AsyncApp that serves the document with the mock's handlers."""

from __future__ import annotations

import asyncio
import contextlib
import copy
import logging
import os
import re
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any

import httpx
from connexion import AsyncApp
from connexion.exceptions import ProblemException
from connexion.jsonifier import Jsonifier
from connexion.lifecycle import ConnexionRequest, ConnexionResponse
from connexion.middleware import MiddlewarePosition
from connexion.options import SwaggerUIOptions
from connexion.resolver import Resolver
from starlette.exceptions import HTTPException

from . import faults, spec
from .auth import OrgBearerHandler, org_for_key
from .clock import Clock, VirtualClock
from .errors import ApiError, ErrorFactory
from .fastpath import FastPathMiddleware
from .fixtures import Fixtures, load_fixtures
from .idempotency import IdempotencyGuard
from .ids import IdFactory, RandomIds
from .middleware import (
    BodyLimitMiddleware,
    ControlTokenMiddleware,
    JournalMiddleware,
    RuntimeMiddleware,
    SecurityHeadersMiddleware,
)
from .rehearsal_middleware import RehearsalMiddleware
from .rehearsals import Rehearsals
from .runtime import Runtime, Settings, from_scope
from .spec import handler_name
from .store import MemoryStore, Store
from .store_sqlite import SqliteStore
from .validation import VALIDATOR_MAP
from .webhooks import DeliveryPolicy, Subscription, WebhookDispatcher

log = logging.getLogger("coverbase_mock")


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


def fixture_subscriptions(fixtures: Fixtures) -> list[Subscription]:
    return [
        Subscription(w.id, org.id, w.url, list(w.events), w.secret, w.enabled, w.description)
        for org in fixtures.orgs
        for w in org.webhooks
    ]


def build_runtime(
    *,
    fixtures_path: Path | None = None,
    clock: Clock | None = None,
    ids: IdFactory | None = None,
    store: Store | None = None,
    settings: Settings | None = None,
    webhook_transport: httpx.AsyncBaseTransport | None = None,
) -> Runtime:
    document = spec.load_document()
    settings = settings or Settings()
    policy = faults.adjust_policy(spec.idempotency_policy(document), settings.faults)
    the_ids = ids or RandomIds()
    the_store = store or MemoryStore(load_fixtures(fixtures_path, document))
    virtual = VirtualClock(clock, offsets=the_store)
    return Runtime(
        document=document,
        store=the_store,
        clock=virtual,
        ids=the_ids,
        errors=ErrorFactory(
            faults.adjust_catalog(spec.error_catalog(document), settings.faults), spec.plain_errors(document)
        ),
        policy=policy,
        guard=IdempotencyGuard(policy, the_store, virtual),
        rehearsals=Rehearsals(the_ids),
        settings=settings,
        webhooks=WebhookDispatcher(
            DeliveryPolicy.from_document(spec.load_control_document()),
            virtual,
            the_ids,
            fixture_subscriptions(the_store.fixtures),
            transport=webhook_transport,
        ),
    )


ENV_STATE = "COVERBASE_MOCK_STATE"
ENV_FIXTURES = "COVERBASE_MOCK_FIXTURES"
ENV_CONTROL_PLANE = "COVERBASE_MOCK_CONTROL_PLANE"
ENV_CONTROL_TOKEN = "COVERBASE_MOCK_CONTROL_TOKEN"
ENV_FAULTS = "COVERBASE_MOCK_FAULTS"


def settings_env(settings: Settings, *, fixtures_path: Path | None, state_path: Path | None) -> dict[str, str]:
    """What `app_from_env` needs, as environment variables (uvicorn workers get no arguments)."""
    return {
        ENV_STATE: str(state_path.resolve()) if state_path else "",
        ENV_FIXTURES: str(fixtures_path.resolve()) if fixtures_path else "",
        ENV_CONTROL_PLANE: "1" if settings.control_plane else "0",
        ENV_CONTROL_TOKEN: settings.control_token or "",
        ENV_FAULTS: ",".join(sorted(settings.faults)),
    }


def app_from_env() -> AsyncApp:
    """uvicorn factory (`mock_server.app:app_from_env`): one app per worker process, state in --state."""
    env = os.environ
    fixtures_path = Path(env[ENV_FIXTURES]) if env.get(ENV_FIXTURES) else None
    settings = Settings(
        control_plane=env.get(ENV_CONTROL_PLANE, "1") == "1",
        control_token=env.get(ENV_CONTROL_TOKEN) or None,
        faults=frozenset(name for name in env.get(ENV_FAULTS, "").split(",") if name),
    )
    store: Store | None = None
    if env.get(ENV_STATE):
        store = SqliteStore(Path(env[ENV_STATE]), load_fixtures(fixtures_path, spec.load_document()))
    return create_app(build_runtime(fixtures_path=fixtures_path, store=store, settings=settings))


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
        item = ErrorFactory.validation_item(["body"], "Request body is not valid UTF-8", "json_invalid")
        return _json(ErrorFactory.validation([item]))

    async def unexpected(self, request: ConnexionRequest, exc: Exception) -> ConnexionResponse:
        log.exception("unexpected error on %s %s", request.method, request.url.path, exc_info=exc)
        return _json(ApiError(500, {"detail": "Internal Server Error"}))

    def _map_status(self, request: ConnexionRequest, status: int, detail: str, headers: Any = None) -> ApiError:
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
            return self.errors.coded(code, **dict(zip(names, match.groups(), strict=True)))
        return self.errors.not_found_route()


def _documented_not_found_code(document: dict[str, Any], op: spec.Operation) -> str | None:
    response = spec.resolve(document, op.raw.get("responses", {}).get("404"))
    if not response:
        return None
    example = response.get("content", {}).get("application/json", {}).get("example", {})
    detail = example.get("detail")
    return detail.get("code") if isinstance(detail, dict) else None


CONTROL_BASE = "/_mock"


def _lifespan(rt: Runtime) -> Callable[[Any], AbstractAsyncContextManager[None]]:
    """While served, deliver webhooks in the background; requests only ever enqueue them."""

    @contextlib.asynccontextmanager
    async def lifespan(app: Any) -> AsyncIterator[None]:
        worker = asyncio.create_task(rt.webhooks.run_forever()) if rt.webhooks is not None else None
        try:
            yield
        finally:
            if worker is not None:
                worker.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await worker

    return lifespan


def _control_document_under(base: str) -> dict[str, Any]:
    """The control document with its paths made relative to `base` (the document keeps full paths)."""
    document = copy.deepcopy(spec.load_control_document())
    document["paths"] = {path.removeprefix(base): item for path, item in document["paths"].items()}
    return document


def create_app(runtime: Runtime | None = None, **runtime_options: Any) -> AsyncApp:
    """The ASGI app: the API from coverbase.yaml and, if enabled, the control plane."""
    rt = runtime or build_runtime(**runtime_options)
    jsonifier = Jsonifier(separators=(",", ":"))
    app = AsyncApp(__name__, jsonifier=jsonifier, lifespan=_lifespan(rt))
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
        # Mounted under its own prefix: two APIs on one base path would shadow each other's routes.
        app.add_api(
            _control_document_under(CONTROL_BASE),
            base_path=CONTROL_BASE,
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
    security_headers = {name.lower(): str(value) for name, value in rt.document["x-security-headers"].items()}
    app.add_middleware(RuntimeMiddleware, position=MiddlewarePosition.BEFORE_EXCEPTION, runtime=rt)
    app.add_middleware(
        ControlTokenMiddleware,
        position=MiddlewarePosition.BEFORE_EXCEPTION,
        token=rt.settings.control_token,
        headers=security_headers,
    )
    app.add_middleware(JournalMiddleware, position=MiddlewarePosition.BEFORE_EXCEPTION)
    app.add_middleware(
        SecurityHeadersMiddleware, position=MiddlewarePosition.BEFORE_EXCEPTION, headers=security_headers
    )
    app.add_middleware(
        BodyLimitMiddleware,
        position=MiddlewarePosition.BEFORE_EXCEPTION,
        limit=int(rt.document["x-limits"]["max_body_bytes"]),
        error=rt.errors.plain("body_too_large"),
        max_depth=int(rt.document["x-limits"]["max_json_depth"]),
        max_digits=int(rt.document["x-limits"]["max_integer_digits"]),
    )
    app.add_middleware(RehearsalMiddleware, position=MiddlewarePosition.BEFORE_EXCEPTION, runtime=rt)
    if rt.settings.fast_path and not rt.settings.faults:
        # Innermost of ours: journal, headers, limits and rehearsals apply to the fast lane too.
        app.add_middleware(
            FastPathMiddleware, position=MiddlewarePosition.BEFORE_EXCEPTION, runtime=rt, jsonifier=jsonifier
        )
    app.runtime = rt
    return app
