"""Assertions that fail with the exchanges that prove the violation."""

from __future__ import annotations

from typing import Any

from ..client import Reply
from ..document import CodedError
from ..outcome import Violation


def fail(message: str, *replies: Reply) -> Violation:
    return Violation(message, [r.exchange for r in replies])


def status(reply: Reply, expected: int, what: str) -> None:
    if reply.status != expected:
        raise fail(f"{what}: expected {expected}, got {reply.status} {str(reply.body)[:200]}", reply)


def equal(actual: Any, expected: Any, what: str, *replies: Reply) -> None:
    if actual != expected:
        raise fail(f"{what}: expected {str(expected)[:300]}, got {str(actual)[:300]}", *replies)


def true(condition: bool, what: str, *replies: Reply) -> None:
    if not condition:
        raise fail(what, *replies)


def coded(reply: Reply, error: CodedError, what: str, **fields: str) -> None:
    """The reply is exactly the catalogued error: its status and its body, placeholders filled."""
    equal((reply.status, reply.body), (error.status, error.body(**fields)), what, reply)
