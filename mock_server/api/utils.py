"""Handlers of the `utils` tag."""

from __future__ import annotations

from ..execution import Outcome
from .call import Call


def auth_test(call: Call) -> Outcome:
    return 200, {"msg": "Auth successful"}
