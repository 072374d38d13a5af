"""The bare-Starlette ceiling: the mock's run handlers on the same runtime, served without connexion or validation."""

from __future__ import annotations

import argparse
import json
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from mock_server.api import workflows
from mock_server.api.call import Call
from mock_server.auth import authenticate
from mock_server.errors import ApiError
from mock_server.execution import Outcome, atomically
from mock_server.records import IdempotencyScope
from mock_server.runtime import Runtime, build_runtime
from mock_server.store import Store

DEFAULT_LIMIT = 100


def bare_runtime(store: Store | None = None) -> Runtime:
    """The mock's own runtime (same store, clock, IDs, idempotency guard); only the serving differs."""
    return build_runtime(store=store)


def _json(body: Any, status: int, headers: dict[str, str] | None = None) -> Response:
    return Response(json.dumps(body, separators=(",", ":")), status, headers, media_type="application/json")


def _call(rt: Runtime, request: Request) -> Call:
    org_id = authenticate(rt, request.scope)
    if org_id is None:
        raise rt.errors.unauthorized()
    return Call(rt, org_id, request.method, request.url.path)


def build_app(rt: Runtime | None = None) -> Starlette:
    """The mock's own handlers for the three benchmarked operations, without connexion, the operation
    table or any validation; ApiError becomes the same JSON body as in the mock."""
    runtime = rt or bare_runtime()

    async def run_workflow(request: Request) -> Response:
        call = _call(runtime, request)
        raw = await request.body()
        body = json.loads(raw) if raw else None

        def execute() -> Outcome:
            return workflows.run_workflow(call, request.path_params["workflow_name"], body)

        key = request.headers.get(runtime.policy.header)
        if key is None:
            status, payload = atomically(runtime.store, execute)
        else:
            where = IdempotencyScope(call.org_id, request.method, request.url.path, key)
            status, payload = await runtime.guard.run(where, execute)
        return _json(payload, status)

    async def get_run(request: Request) -> Response:
        status, payload = workflows.get_workflow_run(_call(runtime, request), request.path_params["workflow_run_id"])
        return _json(payload, status)

    async def list_runs(request: Request) -> Response:
        limit = int(request.query_params.get("limit", DEFAULT_LIMIT))
        offset = int(request.query_params.get("offset", 0))
        status, payload = workflows.list_workflow_runs(_call(runtime, request), limit, offset)
        return _json(payload, status)

    async def health(request: Request) -> Response:
        return _json({"status": "ok"}, 200)

    async def api_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, ApiError)
        return _json(exc.body, exc.status, exc.headers)

    return Starlette(
        routes=[
            Route("/v1/workflows/{workflow_name}/run", run_workflow, methods=["POST"]),
            Route("/v1/workflows/runs/{workflow_run_id}", get_run, methods=["GET"]),
            Route("/v1/workflows/runs", list_runs, methods=["GET"]),
            Route("/_mock/health", health, methods=["GET"]),
        ],
        exception_handlers={ApiError: api_error},
    )


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="bench.bare_app", description=__doc__)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    args = p.parse_args(argv)
    import uvicorn

    uvicorn.run(build_app(), host=args.host, port=args.port, log_level="warning")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
