"""Wraps a create handler in the document's idempotency policy."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from connexion.context import scope

from .. import faults
from ..idempotency import Outcome
from ..store import IdempotencyScope
from .context import org_id, runtime


async def idempotent(execute: Callable[[], Awaitable[Outcome]], request_body: Any = None) -> tuple[dict[str, Any], int]:
    """Run `execute` once per key within the window; without a key, just run it."""
    rt = runtime()
    key = scope_headers_get(rt.policy.header)
    if key is None or "idempotency_ignored" in rt.settings.faults:
        status, body = await execute()
        return body, status
    where = IdempotencyScope(org_id(), scope["method"], scope["path"], key)
    if rt.settings.faults:
        where = faults.adjust_scope(rt, where, request_body)
        if "idempotency_stores_errors" in rt.settings.faults:
            execute = faults.errors_as_outcomes(execute)
        replayed = rt.guard.lookup(where) is not None
        if "idempotency_concurrent_race" in rt.settings.faults:
            status, body = await faults.racy_run(rt, where, execute)
        else:
            status, body = await rt.guard.run(where, execute)
        status, body = faults.replay_outcome(rt, status, body, replayed)
        return body, status
    status, body = await rt.guard.run(where, execute)
    return body, status


def scope_headers_get(name: str) -> str | None:
    wanted = name.lower().encode("latin-1")
    for header, value in scope["headers"]:
        if header == wanted:
            decoded: str = value.decode("latin-1")
            return decoded
    return None
