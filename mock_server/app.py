"""The app factory: the operation table, the HTTP edge declared as one list, and connexion behind it."""

from __future__ import annotations

import asyncio
import contextlib
import copy
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from functools import partial
from typing import Any

from connexion import AsyncApp
from connexion.jsonifier import Jsonifier
from connexion.middleware import MiddlewarePosition
from connexion.options import SwaggerUIOptions
from starlette.types import ASGIApp

from . import connexion_glue, faults, logs, spec
from .engine import publish_status_changes
from .errors import ApiError
from .http import Layer, build_stack
from .http.body import BodyReader
from .http.boundary import ErrorBoundary
from .http.control_token import ControlToken
from .http.deadline import BodyDeadline
from .http.fast_lane import FastLane
from .http.ignored_input import IgnoredInput
from .http.journal import Journal
from .http.rehearsal import Rehearsals
from .http.request_log import RequestLog
from .http.routing import Router
from .http.security_headers import SecurityHeaders
from .http.served_documents import ServedDocuments
from .http.world import WorldLayer
from .namespaces import Worlds, worlds_for
from .operations import OperationTable, compile_document
from .redaction import Redactor
from .rehearsals import delay_bounds, header_name
from .runtime import Runtime, build_runtime
from .settings import Settings
from .slow_clients import Timeouts, request_timeout

CONTROL_BASE = "/_mock"
log = logging.getLogger("coverbase_mock")


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


def storage_unavailable(rt: Runtime) -> ApiError:
    """The documented 503 of a storage failure, with its fixed `Retry-After`."""
    error = rt.errors.coded("storage_unavailable")
    return ApiError(error.status, error.body, spec.fixed_response_headers(rt.document, "StorageUnavailable"))


def served_documents(rt: Runtime) -> dict[str, tuple[str, list[dict[str, Any]]]]:
    """Where connexion serves each document (without extension) -> (its base path, the document's servers)."""
    documents = {"/openapi": ("", list(rt.document.get("servers", [])))}
    if rt.settings.control_plane:
        documents[f"{CONTROL_BASE}/openapi"] = (CONTROL_BASE, list(spec.load_control_document().get("servers", [])))
    return documents


def edge_layers(rt: Runtime, table: OperationTable, worlds: Worlds) -> list[Layer]:
    """The request path in front of connexion, outermost first (see ARCHITECTURE.md)."""
    document = rt.document
    security_headers = {name.lower(): str(value) for name, value in document["x-security-headers"].items()}
    limits = document["x-limits"]
    redactor = Redactor(rt.keys.all_keys())
    layers: list[Layer] = [
        partial(RequestLog, redactor=redactor),
        partial(
            WorldLayer,
            worlds=worlds,
            header=spec.load_control_document()["x-namespaces"]["header"],
            unavailable=storage_unavailable(rt),
        ),
        partial(Journal, redactor=redactor),
        partial(SecurityHeaders, headers=security_headers),
        partial(IgnoredInput, header=str(spec.load_control_document()["x-ignored-input-header"]["name"])),
        partial(ErrorBoundary, unavailable=storage_unavailable(rt)),
        partial(ServedDocuments, documents=served_documents(rt)),
        partial(ControlToken, token=rt.settings.control_token, headers=security_headers),
        partial(
            BodyDeadline,
            seconds=Timeouts.of(document, body=rt.settings.body_timeout).body,
            timeout=request_timeout(document),
        ),
        partial(
            BodyReader,
            limit=int(limits["max_body_bytes"]),
            too_large=rt.errors.plain("body_too_large"),
            max_depth=int(limits["max_json_depth"]),
            max_digits=int(limits["max_integer_digits"]),
        ),
        partial(Router, table=table),
        partial(
            Rehearsals,
            header=header_name(spec.load_control_document()),
            delay_bounds=delay_bounds(spec.load_control_document()),
        ),
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


async def _background(worlds: Worlds, maintain_every: float, poll_seconds: float = 0.25) -> None:
    """While served, in every world: publish the status changes virtual time has passed and deliver what is due
    (requests only ever enqueue deliveries); and keep every world bounded (x-retention)."""
    loop = asyncio.get_running_loop()
    next_maintenance = loop.time() + maintain_every
    failing = False
    while True:
        for world in worlds.loaded():
            if world.webhooks is not None:
                try:
                    publish_status_changes(world)
                    await world.webhooks.deliver_due()
                    failing = False
                except Exception:
                    # A storage failure (a database restarting) must not end deliveries for good: the next
                    # round tries again. Logged once per outage, not every round.
                    if not failing:
                        log.exception("webhook delivery failed; retrying every %s s", poll_seconds)
                    failing = True
        if loop.time() >= next_maintenance:
            next_maintenance = loop.time() + maintain_every
            try:
                worlds.maintain()
            except Exception:  # a failing maintenance must not stop deliveries; the next round retries
                log.exception("maintenance failed")
        await asyncio.sleep(poll_seconds)


def _lifespan(rt: Runtime, worlds: Worlds) -> Callable[[Any], AbstractAsyncContextManager[None]]:
    """While served: log through uvicorn's handlers with keys masked; publish status changes and deliver webhooks
    in the background (requests only ever enqueue deliveries) and keep every world bounded."""

    @contextlib.asynccontextmanager
    async def lifespan(app: Any) -> AsyncIterator[None]:
        logs.attach(Redactor(rt.keys.all_keys()))  # uvicorn has configured logging by now
        every = float(spec.load_control_document()["x-retention"]["maintenance_every_seconds"])
        worker = asyncio.create_task(_background(worlds, every))
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
    from .cli import settle_heap

    app = create_app(settings=Settings.from_env())
    settle_heap()
    return app


def create_app(runtime: Runtime | None = None, settings: Settings | None = None) -> AsyncApp:
    """The ASGI app: the API from coverbase.yaml and, if enabled, the control plane."""
    rt = runtime or build_runtime(settings)
    connexion_glue.apply_patches()
    table = build_table(rt)
    namespaces = spec.load_control_document()["x-namespaces"]
    worlds = rt.worlds or worlds_for(
        rt, limit=int(namespaces["max_namespaces"]), default_ttl=int(namespaces["default_ttl_seconds"])
    )
    app = AsyncApp(__name__, jsonifier=Jsonifier(separators=(",", ":")), lifespan=_lifespan(rt, worlds))
    api_options: dict[str, Any] = {
        "resolver": connexion_glue.TableResolver(table),
        "strict_validation": True,
        # Answers are checked against the document by the table (Operation.check_response), in both lanes.
        "validate_responses": False,
        "validator_map": connexion_glue.validator_map(table),
    }
    app.add_api(
        # The parsed document, not its path: connexion would parse the file again with the pure-Python
        # YAML loader through a Jinja template (about a third of the start-up). A copy, because
        # connexion's spec validation fills in defaults where it validates.
        copy.deepcopy(rt.document),
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
    app.add_middleware(EdgeStack, position=MiddlewarePosition.BEFORE_EXCEPTION, layers=edge_layers(rt, table, worlds))
    app.runtime = rt
    app.worlds = worlds
    app.operations = table
    return app
