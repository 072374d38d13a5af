"""A fast lane for the hottest operations' valid requests; every other request (and error) goes to connexion.

connexion spends most of a request in routing, security, validation and context middlewares. For the
three operations integrators hammer (run a workflow, read a run, list runs), this lane checks the
request against the same document - auth, path, header and body schemas, compiled once - and only when
all of it is plainly valid calls the same handler, validates the response against the same schema and
answers with the same serialization. Anything it is not sure about - a query string, an unknown or
repeated header, a body that is not a valid JSON object, a bad key - it hands to connexion untouched,
so every error answer still comes from one place and byte-identical answers are guaranteed.
"""

from __future__ import annotations

import importlib
import json
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from connexion.context import _context, _scope
from connexion.jsonifier import Jsonifier
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from . import spec
from .auth import org_for_key
from .errors import ApiError
from .middleware import replay_messages, send_error, send_json_bytes
from .runtime import Runtime
from .validation import compiled

log = logging.getLogger("coverbase_mock.fastpath")
FAST_OPERATIONS = ("getWorkflowRun", "listWorkflowRuns", "runWorkflow")


def deep_resolve(document: dict[str, Any], node: Any) -> Any:
    """The node with every local `$ref` inlined (the document has no recursive schemas)."""
    node = spec.resolve(document, node)
    if isinstance(node, dict):
        return {key: deep_resolve(document, value) for key, value in node.items()}
    if isinstance(node, list):
        return [deep_resolve(document, item) for item in node]
    return node


@dataclass(frozen=True)
class Lane:
    operation_id: str
    method: str
    regex: re.Pattern[str]
    param: str | None
    handler: Callable[..., Any]
    body_schema: dict[str, Any] | None
    headers: dict[str, dict[str, Any]]  # lower-case name -> schema of the documented header parameters
    responses: dict[int, dict[str, Any]]  # status -> JSON schema of the documented body


def _lanes(document: dict[str, Any]) -> list[Lane]:
    lanes = []
    for op in spec.operations(document):
        if op.operation_id not in FAST_OPERATIONS:
            continue
        names = re.findall(r"\{([^}]+)\}", op.path)
        # Like the router: a path parameter is one segment.
        pattern = re.sub(r"\\\{[^}]+\\\}", "([^/]+)", re.escape(op.path))
        params = [spec.resolve(document, p) for p in op.raw.get("parameters", [])]
        body = spec.resolve(document, op.raw.get("requestBody")) or {}
        body_schema = body.get("content", {}).get("application/json", {}).get("schema")
        module = importlib.import_module(f"mock_server.api.{op.tag}")
        lanes.append(
            Lane(
                operation_id=op.operation_id,
                method=op.method,
                regex=re.compile(f"^{pattern}$"),
                param=names[0] if names else None,
                handler=getattr(module, spec.handler_name(op.operation_id)),
                body_schema=deep_resolve(document, body_schema) if body_schema else None,
                headers={p["name"].lower(): deep_resolve(document, p["schema"]) for p in params if p["in"] == "header"},
                responses={
                    int(status): deep_resolve(document, schema)
                    for status, response in op.raw["responses"].items()
                    if (
                        schema := spec.resolve(document, response)
                        .get("content", {})
                        .get("application/json", {})
                        .get("schema")
                    )
                },
            )
        )
    return lanes


class _NotForUs(Exception):
    """The request is not plainly valid: connexion answers it."""


class FastPathMiddleware:
    def __init__(self, app: ASGIApp, runtime: Runtime, jsonifier: Jsonifier) -> None:
        self.app = app
        self.runtime = runtime
        self.jsonifier = jsonifier
        self.lanes = _lanes(runtime.document)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        lane, match = self._route(scope)
        if lane is None or match is None:
            await self.app(scope, receive, send)
            return
        messages: list[Message] = []
        try:
            org_id, body = await self._admit(lane, scope, receive, messages)
        except _NotForUs:
            await self.app(scope, replay_messages(messages, receive), send)
            return
        kwargs: dict[str, Any] = {lane.param: match.group(1)} if lane.param else {}
        if lane.body_schema is not None:
            kwargs["body"] = body
        scope_token = _scope.set(scope)
        context_token = _context.set({"user": org_id, "token_info": {"sub": org_id}})
        try:
            payload, status = await lane.handler(**kwargs)
        except ApiError as error:
            await send_error(send, error)
            return
        finally:
            _context.reset(context_token)
            _scope.reset(scope_token)
        schema = lane.responses.get(status)
        if schema is None or not compiled(schema, "response").is_valid(payload):
            log.error("response does not conform to the document: %s %s -> %s", scope["method"], scope["path"], status)
            await send_error(send, ApiError(500, {"detail": "Internal Server Error"}))
            return
        await send_json_bytes(send, status, self.jsonifier.dumps(payload).encode())

    def _route(self, scope: Scope) -> tuple[Lane | None, re.Match[str] | None]:
        if scope["type"] != "http" or scope.get("query_string"):
            return None, None
        for lane in self.lanes:
            if lane.method == scope["method"]:
                match = lane.regex.match(scope["path"])
                if match is not None:
                    return lane, match
        return None, None

    async def _admit(self, lane: Lane, scope: Scope, receive: Receive, messages: list[Message]) -> tuple[str, Any]:
        """(org, parsed body) when auth, headers and body are plainly valid; else _NotForUs."""
        seen: dict[bytes, int] = {}
        authorization = content_type = None
        for name, value in scope["headers"]:
            seen[name] = seen.get(name, 0) + 1
            if name == b"authorization":
                authorization = value
            elif name == b"content-type":
                content_type = value
        if authorization is None or seen[b"authorization"] > 1:
            raise _NotForUs
        scheme, _, token = authorization.decode("latin-1").partition(" ")
        org_id = org_for_key(self.runtime.fixtures, token) if scheme.lower() == "bearer" and token else None
        if org_id is None:
            raise _NotForUs
        for name, schema in lane.headers.items():
            raw = name.encode("latin-1")
            if raw in seen:
                if seen[raw] > 1:
                    raise _NotForUs
                value = next(v for n, v in scope["headers"] if n == raw).decode("latin-1")
                if not compiled(schema).is_valid(value):
                    raise _NotForUs
        if lane.body_schema is None:
            return org_id, None
        more = True
        while more:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request":
                raise _NotForUs
            more = message.get("more_body", False)
        raw_body = b"".join(m.get("body", b"") for m in messages)
        if not raw_body:
            return org_id, None
        mime, _, params = (content_type or b"").decode("latin-1").partition(";")
        if mime.strip().lower() != "application/json" or params.strip() not in ("", "charset=utf-8"):
            raise _NotForUs
        try:
            body = json.loads(raw_body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            raise _NotForUs from None
        if not compiled(lane.body_schema).is_valid(body):
            raise _NotForUs
        return org_id, body
