"""A stateless example server, like Stoplight Prism's static mock: every operation answers its documented example.

It honours no idempotency, stores nothing and accepts any credential: the contract suite must not pass a
single stateful property against it (each property's premise - the first request created something that
exists and was counted - cannot be established).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

DOCUMENT = Path(__file__).resolve().parents[2] / "openapi" / "coverbase.yaml"


def _resolve(doc: dict[str, Any], node: Any) -> Any:
    while isinstance(node, dict) and "$ref" in node:
        target: Any = doc
        for token in node["$ref"].lstrip("#/").split("/"):
            target = target[token]
        node = target
    return node


def _example(doc: dict[str, Any], operation: dict[str, Any]) -> tuple[int, Any]:
    """The first documented 2xx answer of an operation and its example."""
    for status, response in operation["responses"].items():
        if str(status).startswith("2"):
            media = (_resolve(doc, response).get("content") or {}).get("application/json") or {}
            return int(status), media.get("example")
    return 200, None


def create_app() -> Starlette:
    doc = yaml.safe_load(DOCUMENT.read_text(encoding="utf-8"))
    routes = []
    for template, item in doc["paths"].items():
        answers = {m.upper(): _example(doc, op) for m, op in item.items() if m in ("get", "post", "delete", "patch")}

        async def endpoint(request: Request, answers: dict[str, tuple[int, Any]] = answers) -> Response:
            status, example = answers[request.method]
            if example is None:  # a documented answer without a body (204)
                return Response(status_code=status)
            return Response(json.dumps(example), status, media_type="application/json")

        routes.append(Route(template, endpoint, methods=list(answers)))
    return Starlette(routes=routes)
