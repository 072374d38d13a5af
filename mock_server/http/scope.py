"""What the edge layers learn about a request and keep in the ASGI scope for the layers after them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from starlette.types import Scope

if TYPE_CHECKING:
    from ..operations import RouteMatch
    from ..rehearsals import RehearsalSlot
    from ..runtime import Runtime

RUNTIME = "coverbase.runtime"
ROUTE = "coverbase.route"
BODY = "coverbase.body"
ARGS = "coverbase.args"
REHEARSAL = "coverbase.rehearsal"
ORG = "coverbase.org"
REJECTION = "coverbase.rejection"  # why the error boundary rejected the request, for the request log
IGNORED = "coverbase.ignored"  # a list the ignored-input layer puts in the scope; the lanes fill it


@dataclass(frozen=True, slots=True)
class BodyInfo:
    """The request body, read once: its bytes and, for JSON bodies, what parsing made of them."""

    raw: bytes
    content_type: str | None
    parsed: bool = False  # True when `value` holds the parsed JSON
    value: Any = None
    decode_error: bool = False  # the bytes are not valid in the declared charset
    json_error_at: int | None = None  # position of the first JSON syntax error

    @property
    def present(self) -> bool:
        return bool(self.raw)


NO_BODY = BodyInfo(b"", None)


# Typed readers of the scope (a plain annotated assignment: these run several times per request).


def runtime(scope: Scope) -> Runtime:
    found: Runtime = scope[RUNTIME]
    return found


def route(scope: Scope) -> RouteMatch | None:
    found: RouteMatch | None = scope.get(ROUTE)
    return found


def body(scope: Scope) -> BodyInfo:
    found: BodyInfo = scope.get(BODY, NO_BODY)
    return found


def rehearsal(scope: Scope) -> RehearsalSlot | None:
    found: RehearsalSlot | None = scope.get(REHEARSAL)
    return found


def rejection(scope: Scope) -> str | None:
    found: str | None = scope.get(REJECTION)
    return found


def ignored_input(scope: Scope) -> tuple[str, ...]:
    """The undocumented inputs the validated request sent (empty before validation, or when none)."""
    holder: list[str] | None = scope.get(IGNORED)
    return tuple(holder) if holder else ()


def note_ignored(scope: Scope, ignored: tuple[str, ...]) -> None:
    """What validation ignored, for the layers outside (connexion hands its validators a copy of the scope,
    so the list object itself carries it out)."""
    holder: list[str] | None = scope.get(IGNORED)
    if holder is not None:
        holder[:] = ignored


def org_id(scope: Scope) -> str | None:
    """The organization the request authenticated as, once a lane has checked its key."""
    found: str | None = scope.get(ORG)
    return found
