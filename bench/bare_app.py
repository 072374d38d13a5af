"""The bare-Starlette ceiling: the mock's run handlers on the same runtime, served without connexion or validation."""

from __future__ import annotations

import argparse
import json
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from mock_server.auth import org_for_key
from mock_server.errors import ApiError
from mock_server.idempotency import Outcome
from mock_server.lifecycle import summary, view
from mock_server.runs import created_body, find_workflow, start_run
from mock_server.runtime import Runtime
from mock_server.store import IdempotencyScope, Store

DEFAULT_LIMIT = 100


def bare_runtime(store: Store | None = None) -> Runtime:
    """The mock's own runtime (same store, clock, IDs, idempotency guard); only the serving differs."""
    # build_runtime lives next to create_app: importing it loads connexion, which is then never used.
    from mock_server.app import build_runtime

    return build_runtime(store=store)


def _json(body: Any, status: int, headers: dict[str, str] | None = None) -> Response:
    return Response(json.dumps(body, separators=(",", ":")), status, headers, media_type="application/json")


def _org(rt: Runtime, request: Request) -> str:
    token = request.headers.get("authorization", "").partition(" ")[2]
    org_id = org_for_key(rt.fixtures, token) if token else None
    if org_id is None:
        raise rt.errors.unauthorized()
    return org_id


def build_app(rt: Runtime | None = None) -> Starlette:
    """Routes for the three benchmarked operations; ApiError becomes the same JSON body as in the mock."""
    runtime = rt or bare_runtime()

    async def run_workflow(request: Request) -> Response:
        org = runtime.store.org(_org(runtime, request))
        name = request.path_params["workflow_name"]
        raw = await request.body()
        run_input: dict[str, Any] = (json.loads(raw) if raw else {}).get("input", {})

        async def execute() -> Outcome:
            definition = find_workflow(runtime, org, name, must_be_enabled=True)
            run = start_run(runtime, org.id, definition, run_input)
            return 201, created_body(run)

        key = request.headers.get(runtime.policy.header)
        if key is None:
            status, body = await execute()
        else:
            where = IdempotencyScope(org.id, request.method, request.url.path, key)
            status, body = await runtime.guard.run(where, execute)
        return _json(body, status)

    async def get_run(request: Request) -> Response:
        run = runtime.store.get_run(_org(runtime, request), request.path_params["workflow_run_id"])
        if run is None:
            raise runtime.errors.coded("workflow_run_not_found")
        return _json(view(run, runtime.clock.now()), 200)

    async def list_runs(request: Request) -> Response:
        org_id = _org(runtime, request)
        limit = int(request.query_params.get("limit", DEFAULT_LIMIT))
        offset = int(request.query_params.get("offset", 0))
        now = runtime.clock.now()
        page: list[dict[str, Any]] = []
        total = 0
        for run in runtime.store.runs_newest_first(org_id):
            entry = summary(run, now)
            if offset <= total < offset + limit:
                page.append(entry)
            total += 1
        return _json({"data": page, "total": total, "limit": limit, "offset": offset}, 200)

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
