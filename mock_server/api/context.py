"""What a handler knows about the current request: the runtime and the caller's organization."""

from __future__ import annotations

from connexion.context import context, scope

from ..runtime import Runtime, from_scope


def runtime() -> Runtime:
    return from_scope(scope)


def org_id() -> str:
    """The organization of the API key that authenticated this request."""
    value: str = context["user"]
    return value
