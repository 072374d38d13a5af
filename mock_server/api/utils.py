"""Handlers of the `utils` tag."""

from __future__ import annotations

from typing import Any


async def auth_test() -> tuple[dict[str, Any], int]:
    return {"msg": "Auth successful"}, 200
