"""Helpers of the reliability tests: a killable `coverbase-mock` subprocess on loopback, concurrent callers."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from tests.support.mockserver import MockProcess, free_port

__all__ = ["MockProcess", "free_port", "in_parallel"]

T = TypeVar("T")


def in_parallel(func: Callable[[T], Any], items: Iterable[T], threads: int) -> list[Any]:
    """Call func on every item from `threads` threads at once (each thread with its own connection)."""
    with ThreadPoolExecutor(max_workers=threads) as pool:
        return list(pool.map(func, items))
