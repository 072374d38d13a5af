"""Wraps a create handler in the document's idempotency policy."""

from __future__ import annotations

from typing import Any, Awaitable, Callable

from connexion.context import scope

from ..idempotency import Outcome
from ..store import IdempotencyScope
from .context import org_id, runtime


async def idempotent(execute: Callable[[], Awaitable[Outcome]]) -> tuple[dict[str, Any], int]:
    """Run `execute` once per key within the window; without a key, just run it."""
    rt = runtime()
    key = scope_headers_get(rt.policy.header)
    if key is None:
        status, body = await execute()
        return body, status
    where = IdempotencyScope(org_id(), scope["method"], scope["path"], key)
    status, body = await rt.guard.run(where, execute)
    return body, status


def scope_headers_get(name: str) -> str | None:
    wanted = name.lower().encode("latin-1")
    for header, value in scope["headers"]:
        if header == wanted:
            decoded: str = value.decode("latin-1")
            return decoded
    return None
