"""A hostile target for the contract suite's tests: it answers garbage shapes, so that no check may crash.

After a truthful preflight (the credential check and the workflow lookups the suite does first), every
answer is garbage of one kind: JSON strings, nulls, lists, HTML, empty bodies, wrong statuses, fields of
the wrong types, or a mix of all of them. With `control_plane=True` it also pretends to be the mock
(`/_mock/health`, `/_mock/fixtures`), and its clock answers garbage too.
"""

from __future__ import annotations

import itertools
import json
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

KEY = "ak_live_hostile_0123456789abcdef"
SECOND_KEY = "ak_live_hostile_fedcba9876543210"
PREFLIGHT_LISTS = 3  # GET /v1/workflows/runs?workflow_name=... answered truthfully during discovery
MODES = ("strings", "nulls", "lists", "html", "empty", "statuses", "wrong_types", "mixed")

TARGET_YAML = """\
vendor_id: cbvndr_00000000000000000000000000000001
control_set_ids: [cbctst_00000000000000000000000000000001]
service_ids: [cbsvc_00000000000000000000000000000001]
enabled_workflow: noop
other_enabled_workflow: noop-2
disabled_workflow: disabled
import_report: vendors
"""

FIXTURES = {
    "orgs": [
        {
            "api_keys": [KEY],
            "vendors": [{"id": "cbvndr_00000000000000000000000000000001", "service_ids": []}],
            "control_set_ids": ["cbctst_00000000000000000000000000000001"],
            "workflows": [
                {"name": "noop", "enabled": True, "outcome": "completed", "duration_seconds": 60},
                {"name": "noop-2", "enabled": True, "outcome": "completed", "duration_seconds": 60},
                {"name": "disabled", "enabled": False, "outcome": "completed", "duration_seconds": 60},
            ],
            "import_reports": [{"name": "vendors", "base_object": "vendor"}],
        },
        {"api_keys": [SECOND_KEY], "vendors": [], "control_set_ids": [], "workflows": [], "import_reports": []},
    ]
}

WRONG_TYPES: dict[str, Any] = {
    "workflow_run_id": 5,
    "id": ["x"],
    "status": None,
    "started_at": "yesterday",
    "completed_at": "never",
    "steps": "none",
    "total": "many",
    "data": {"not": "a list"},
    "detail": "a string, not a list",
    "errors": "none",
    "results": 3,
    "mapping": [],
    "received_count": "1",
    "now": "noon",
    "input": [],
    "workflow_name": 7,
    "name": {},
    "vendor_id": None,
    "is_archived": "yes",
}


def garbage(mode: str, n: int) -> Response:
    """The n-th garbage answer of a mode."""
    if mode == "mixed":
        mode = MODES[n % (len(MODES) - 1)]
    status = (200, 201, 404, 422, 400)[n % 5]
    if mode == "strings":
        return Response(json.dumps("nope"), status, media_type="application/json")
    if mode == "nulls":
        return Response("null", status, media_type="application/json")
    if mode == "lists":
        return Response(json.dumps([[], {"detail": None}, 1][n % 3]), status, media_type="application/json")
    if mode == "html":
        return Response("<html><body><h1>502 Bad Gateway</h1></body></html>", status, media_type="text/html")
    if mode == "empty":
        return Response(b"", status)
    if mode == "statuses":
        return Response(
            json.dumps({"detail": "teapot"}),
            (418, 500, 302, 204, 299)[n % 5],
            media_type="application/json",
            headers={"Location": "/elsewhere"} if n % 5 == 2 else None,
        )
    return Response(json.dumps(WRONG_TYPES), status, media_type="application/json")


def create_app(mode: str, *, control_plane: bool = False) -> Starlette:
    counter = itertools.count()
    lists = itertools.count()

    async def endpoint(request: Request) -> Response:
        path = request.url.path
        if path == "/v1/utils/authtest":
            return Response(json.dumps({"msg": "Auth successful"}), media_type="application/json")
        if path == "/v1/workflows/runs" and request.method == "GET" and next(lists) < PREFLIGHT_LISTS:
            return Response(
                json.dumps({"data": [], "total": 0, "limit": 1, "offset": 0}), media_type="application/json"
            )
        if control_plane and path == "/_mock/health":
            return Response(json.dumps({"status": "ok"}), media_type="application/json")
        if control_plane and path.startswith("/_mock/namespaces"):  # a mock without namespaces
            return Response(json.dumps({"detail": "Not Found"}), 404, media_type="application/json")
        if control_plane and path == "/_mock/reset":
            return Response(json.dumps({"now": 1700000000, "offset_seconds": 0}), media_type="application/json")
        if control_plane and path == "/_mock/fixtures":
            return Response(json.dumps(FIXTURES), media_type="application/json")
        if control_plane and path == "/_mock/clock" and next(counter) < 1:
            return Response(json.dumps({"now": 1700000000}), media_type="application/json")
        if not control_plane and path.startswith("/_mock/"):
            return Response(json.dumps({"detail": "Not Found"}), 404, media_type="application/json")
        return garbage(mode, next(counter))

    methods = ["GET", "POST", "DELETE", "PUT", "PATCH"]
    return Starlette(routes=[Route("/{path:path}", endpoint, methods=methods)])
