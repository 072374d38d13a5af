"""The fast lane: a valid request to any operation is answered here, without connexion's per-request stack.

connexion spends most of a request in routing, security, validation and context middlewares. This lane
runs the operation table's own rules - the same objects the connexion adapters call - and, only when
authentication and every rule pass, executes the operation and renders the answer with the same
renderer. Anything else (an unknown route, a bad key, any rule failing) goes to connexion, which runs
the same rules to produce the error: there is one rule set, so both lanes answer identically.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from ..api.call import Call
from ..auth import authenticate
from ..errors import ApiError
from . import responses
from .scope import ORG, body, note_ignored, rehearsal, route, runtime


class FastLane:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        match = route(scope) if scope["type"] == "http" else None
        op = match.operation if match is not None else None
        if match is None or op is None:
            await self.app(scope, receive, send)
            return
        rt = runtime(scope)
        org_id = authenticate(rt, scope) if op.secured else ""
        if org_id is None:
            await self.app(scope, receive, send)
            return
        scope[ORG] = org_id
        try:
            args = op.validate(scope, match.params, body(scope))
        except ApiError:
            await self.app(scope, receive, send)
            return
        note_ignored(scope, args.ignored)
        call = Call(rt, org_id, scope["method"], scope["path"], rehearsal(scope))
        status, payload = await op.execute(call, args)
        await responses.success(status, payload)(scope, receive, send)
