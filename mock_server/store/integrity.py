"""The state file's health: storage failures recognised at run time (answered 503, never a 500)."""

from __future__ import annotations

import sqlite3


def is_storage_failure(exc: BaseException) -> bool:
    """The store could not read or write its file: disk full, I/O error, locked too long, read-only, damaged.

    Programming errors (`IntegrityError`, `ProgrammingError`, ...) are bugs of the mock, not failures of
    the storage: they stay 500s.
    """
    return isinstance(exc, sqlite3.OperationalError) or type(exc) is sqlite3.DatabaseError
