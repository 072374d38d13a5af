"""What the edge layers learn about a request and keep in the ASGI scope for the layers after them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

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


def runtime(scope: Scope) -> Runtime:
    return cast("Runtime", scope[RUNTIME])


def route(scope: Scope) -> RouteMatch | None:
    return cast("RouteMatch | None", scope.get(ROUTE))


def body(scope: Scope) -> BodyInfo:
    return cast(BodyInfo, scope.get(BODY, NO_BODY))


def rehearsal(scope: Scope) -> RehearsalSlot | None:
    return cast("RehearsalSlot | None", scope.get(REHEARSAL))
