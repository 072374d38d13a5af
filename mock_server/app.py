"""The app factory: the operation table, the HTTP edge declared as one list, and connexion behind it."""

from __future__ import annotations

import asyncio
import contextlib
import copy
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from functools import partial
from typing import Any

from connexion import AsyncApp
from connexion.jsonifier import Jsonifier
from connexion.middleware import MiddlewarePosition
from connexion.options import SwaggerUIOptions
from starlette.types import ASGIApp

from . import connexion_glue, faults, spec
from .engine import publish_status_changes
from .http import Layer, build_stack
from .http.body import BodyReader
from .http.boundary import ErrorBoundary
from .http.control_token import ControlToken
from .http.fast_lane import FastLane
from .http.ignored_input import IgnoredInput
from .http.journal import Journal
from .http.rehearsal import Rehearsals
from .http.routing import Router
from .http.security_headers import SecurityHeaders
from .http.world import WorldLayer
from .operations import OperationTable, compile_document
from .rehearsals import delay_bounds
from .runtime import Runtime, build_runtime
from .settings import Settings

CONTROL_BASE = "/_mock"


def build_table(rt: Runtime) -> OperationTable:
    """Both documents compiled into one table (the control plane only when it is served)."""
    wrap = faults.handlers(rt.settings.faults)
    strict = rt.settings.strict_input or spec.rejects_unknown_input(rt.document)
    operations = compile_document(
        rt.document, "api", idempotent=rt.policy.operation_ids, wrap=wrap, strict_input=strict
    )
    if rt.settings.control_plane:
        # The control plane is the mock's own API: it always refuses what it does not know.
        operations += compile_document(spec.load_control_document(), "control")
    return OperationTable(operations)


def edge_layers(rt: Runtime, table: OperationTable) -> list[Layer]:
    """The request path in front of connexion, outermost first (see ARCHITECTURE.md)."""
    document = rt.document
    security_headers = {name.lower(): str(value) for name, value in document["x-security-headers"].items()}
    limits = document["x-limits"]
    layers: list[Layer] = [
        partial(WorldLayer, runtime=rt),
        Journal,
        partial(SecurityHeaders, headers=security_headers),
        partial(IgnoredInput, header=str(spec.load_control_document()["x-ignored-input-header"]["name"])),
        ErrorBoundary,
        partial(ControlToken, token=rt.settings.control_token, headers=security_headers),
        partial(
            BodyReader,
            limit=int(limits["max_body_bytes"]),
            too_large=rt.errors.plain("body_too_large"),
            max_depth=int(limits["max_json_depth"]),
            max_digits=int(limits["max_integer_digits"]),
        ),
        partial(Router, table=table),
        partial(Rehearsals, delay_bounds=delay_bounds(spec.load_control_document())),
    ]
    if rt.settings.fast_lane:
        layers.append(FastLane)
    return layers


class EdgeStack:
    """connexion middleware slot holding our whole edge (connexion instantiates it with the next app)."""

    def __init__(self, app: ASGIApp, layers: list[Layer]) -> None:
        self.app = build_stack(app, layers)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await self.app(scope, receive, send)


def _lifespan(rt: Runtime) -> Callable[[Any], AbstractAsyncContextManager[None]]:
    """While served, publish status changes as virtual time passes them and deliver webhooks in the background;
    requests only ever enqueue deliveries."""

    @contextlib.asynccontextmanager
    async def lifespan(app: Any) -> AsyncIterator[None]:
        worker = None
        if rt.webhooks is not None:
            worker = asyncio.create_task(rt.webhooks.run_forever(before_round=lambda: publish_status_changes(rt)))
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


def app_from_env() -> AsyncApp:
    """uvicorn factory for `--workers N`: each worker process builds its app from the settings it inherits."""
    return create_app(settings=Settings.from_env())


def create_app(runtime: Runtime | None = None, settings: Settings | None = None) -> AsyncApp:
    """The ASGI app: the API from coverbase.yaml and, if enabled, the control plane."""
    rt = runtime or build_runtime(settings)
    connexion_glue.apply_patches()
    table = build_table(rt)
    app = AsyncApp(__name__, jsonifier=Jsonifier(separators=(",", ":")), lifespan=_lifespan(rt))
    api_options: dict[str, Any] = {
        "resolver": connexion_glue.TableResolver(table),
        "strict_validation": True,
        # Answers are checked against the document by the table (Operation.check_response), in both lanes.
        "validate_responses": False,
        "validator_map": connexion_glue.validator_map(table),
    }
    app.add_api(
        spec.api_spec_path(),
        security_map={"bearer": connexion_glue.OrgBearerHandler},
        swagger_ui_options=SwaggerUIOptions(swagger_ui=True),
        name="coverbase",
        **api_options,
    )
    if rt.settings.control_plane:
        # Mounted under its own prefix: two APIs on one base path would shadow each other's routes.
        app.add_api(
            _control_document_under(CONTROL_BASE),
            base_path=CONTROL_BASE,
            swagger_ui_options=SwaggerUIOptions(swagger_ui=False, serve_spec=True),
            name="control",
            **api_options,
        )
    for exception, handler in connexion_glue.ErrorMapper(table, rt.errors).handlers():
        app.add_error_handler(exception, handler)
    app.add_middleware(EdgeStack, position=MiddlewarePosition.BEFORE_EXCEPTION, layers=edge_layers(rt, table))
    app.runtime = rt
    app.operations = table
    return app
