"""The HTTP edge: the ASGI layers in front of connexion, declared as one list by the app factory."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from starlette.types import ASGIApp

Layer = Callable[[ASGIApp], ASGIApp]


def build_stack(app: ASGIApp, layers: Sequence[Layer]) -> ASGIApp:
    """Wrap `app` in `layers`, the first one outermost (like starlette's build_middleware_stack)."""
    for layer in reversed(layers):
        app = layer(app)
    return app
