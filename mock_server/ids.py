"""The injectable ID factory: `<prefix>_<32 lowercase hex>` identifiers."""

from __future__ import annotations

import itertools
import uuid
from typing import Protocol


class IdFactory(Protocol):
    def new(self, prefix: str) -> str: ...


class RandomIds:
    """Random IDs in the documented format; the only place the mock calls uuid4()."""

    def new(self, prefix: str) -> str:
        return f"{prefix}_{uuid.uuid4().hex}"


class SequentialIds:
    """Predictable IDs for tests: <prefix>_000...001, 000...002, ..."""

    def __init__(self, start: int = 1) -> None:
        self._counter = itertools.count(start)

    def new(self, prefix: str) -> str:
        return f"{prefix}_{next(self._counter):032x}"
