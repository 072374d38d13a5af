"""The state file's health: refused at start-up when damaged, foreign or seeded from other fixtures; storage
failures recognised at run time (answered 503, never a 500).

`check_state_file` runs before the mock opens a `--state` file. It refuses, with one line naming the file
and the fix, anything the SQLite store must not open: a directory or other non-file, a file that is not a
SQLite database (a text file, a garbage header), a damaged database (truncated, garbage inside:
`PRAGMA quick_check`, every text is UTF-8 and every stored JSON document parses), a database of something
else (tables this version does not create, or ours with other columns), and a database seeded from other
fixtures (the fingerprint the store writes into `meta` when it seeds a namespace). An absent or empty file
is a new state. The check reads the whole file once: about 1.5 s per 200,000 stored runs.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import sys
from pathlib import Path
from urllib.parse import quote

from ..fixtures import Fixtures

SQLITE_HEADER = b"SQLite format 3\x00"
FINGERPRINT = "fixtures_fingerprint"  # meta row of a seeded namespace
SEEDED = "seeded"
# Columns holding JSON documents, checked with SQLite's json_valid (quick_check reads structure, not content);
# every text column must also be UTF-8.
JSON_COLUMNS = (
    ("assessments", "data"),
    ("runs", "data"),
    ("vendors", "data"),
    ("services", "data"),
    ("webhooks", "data"),
    ("deliveries", "data"),
    ("rehearsals", "data"),
    ("journal", "entry"),
    ("idempotency", "body"),
)
NEW_FILE = "delete it or choose another --state path"


class StateFileError(Exception):
    """A state file the mock must not open: the message is one line naming the file, the problem and the fix."""


def is_storage_failure(exc: BaseException) -> bool:
    """The store could not read or write: disk full, I/O error, locked too long, read-only, damaged; on
    PostgreSQL, the server gone or restarting (`psycopg.OperationalError`).

    Programming errors (`IntegrityError`, `ProgrammingError`, ...) are bugs of the mock, not failures of
    the storage: they stay 500s.
    """
    if isinstance(exc, sqlite3.OperationalError) or type(exc) is sqlite3.DatabaseError:
        return True
    psycopg = sys.modules.get("psycopg")  # imported only by a mock on PostgreSQL
    return psycopg is not None and isinstance(exc, psycopg.OperationalError)


def fixtures_fingerprint(fixtures: Fixtures) -> int:
    """The fixtures' content (every organization as written, not the file's name), as a signed 64-bit integer."""
    canonical = json.dumps([org.raw for org in fixtures.orgs], sort_keys=True, separators=(",", ":"), default=str)
    return int.from_bytes(hashlib.sha256(canonical.encode("utf-8")).digest()[:8], "big", signed=True)


def check_state_file(path: Path, fixtures: Fixtures, schema: str) -> None:
    """Raise StateFileError unless `path` is absent, empty, or a sound state file of these fixtures.

    `schema` is the store's own SQL (`sqlite.SCHEMA`): the tables and columns a state file of this version has.
    """
    if not path.exists():
        if not path.parent.is_dir():
            raise _refuse(
                path, f"its directory {path.parent} does not exist", "create it or choose another --state path"
            )
        return
    if path.is_dir():
        raise _refuse(
            path, "is a directory, not a state file", "name a file in it, e.g. --state " + str(path / "state.db")
        )
    if not path.is_file():
        raise _refuse(path, "is not a regular file", NEW_FILE)
    try:
        with path.open("rb") as handle:
            header = handle.read(len(SQLITE_HEADER))
    except OSError as exc:
        raise _refuse(
            path, f"cannot be read ({exc.strerror})", "fix its permissions or choose another --state path"
        ) from None
    if not header:
        return  # SQLite makes an empty file a new database
    if header != SQLITE_HEADER:
        raise _refuse(path, "is not a coverbase-mock state file (not a SQLite database)", NEW_FILE)
    try:
        connection = sqlite3.connect(f"file:{quote(str(path.resolve()))}?mode=rw", uri=True)
    except sqlite3.Error as exc:
        raise _refuse(path, f"cannot be opened ({exc})", "fix its permissions or choose another --state path") from None
    try:
        _check_database(connection, path, fixtures, schema)
    except sqlite3.DatabaseError as exc:
        # Whatever SQLite still finds wrong (e.g. "database disk image is malformed" while reading a table).
        raise _refuse(path, f"is damaged ({exc})", NEW_FILE) from None
    finally:
        connection.close()


def _check_database(connection: sqlite3.Connection, path: Path, fixtures: Fixtures, schema: str) -> None:
    found_by_check = [str(row[0]) for row in connection.execute("PRAGMA quick_check")]
    if found_by_check != ["ok"]:
        problems = [line for text in found_by_check for line in text.splitlines() if not line.startswith("***")]
        more = f" and {len(problems) - 1} more" if len(problems) > 1 else ""
        raise _refuse(path, f"is damaged (quick_check: {problems[0].strip()}{more})", NEW_FILE)
    expected = _columns(_schema_database(schema))
    found = _columns(connection)
    if not found:
        return  # a SQLite file without tables: a new state
    unknown = sorted(set(found) - set(expected))
    if unknown:
        raise _refuse(path, f"is not a coverbase-mock state file (it has a table {unknown[0]!r})", NEW_FILE)
    for table, columns in sorted(found.items()):
        if columns != expected[table]:
            raise _refuse(
                path,
                f"was written by another version of coverbase-mock (table {table!r} has other columns)",
                NEW_FILE,
            )
    connection.create_function("utf8_ok", 1, _utf8_ok, deterministic=True)
    for table, columns in sorted(found.items()):
        bad = connection.execute(_damaged_rows(table, columns)).fetchone()[0]
        if bad:
            raise _refuse(path, f"is damaged ({bad} row(s) of table {table!r} no longer hold valid text)", NEW_FILE)
    if "meta" in found:
        _check_fingerprints(connection, path, fixtures)


def _check_fingerprints(connection: sqlite3.Connection, path: Path, fixtures: Fixtures) -> None:
    """Every seeded namespace was seeded from these fixtures."""
    rows = connection.execute(
        "SELECT ns, name, value FROM meta WHERE name IN (?, ?) ORDER BY ns", (SEEDED, FINGERPRINT)
    )
    seen: dict[str, dict[str, object]] = {}
    for ns, name, value in rows:
        seen.setdefault(ns, {})[name] = value
    wanted = fixtures_fingerprint(fixtures)
    for ns, names in seen.items():
        if SEEDED not in names:
            continue
        stored = names.get(FINGERPRINT)
        where = "" if ns == "default" else f" (namespace {ns!r})"
        if stored is None:
            raise _refuse(
                path, f"was seeded by an older coverbase-mock, without a fixtures fingerprint{where}", NEW_FILE
            )
        if stored != wanted:
            raise _refuse(
                path,
                f"was created with other fixtures than {fixtures.source}{where}",
                "start the mock with the fixtures it was created with, or " + NEW_FILE,
            )


def _damaged_rows(table: str, columns: list[tuple[str, str, int, int]]) -> str:
    """SQL counting the rows of `table` whose text is not UTF-8 or whose JSON column does not parse: garbage
    inside a row leaves the b-trees intact (quick_check passes) but breaks the row when it is read."""
    texts = [name for name, kind, *_ in columns if kind == "TEXT"]
    checks = []
    if texts:
        joined = " || ".join(f"ifnull({name}, '')" for name in texts)
        checks.append(f"NOT utf8_ok(CAST({joined} AS BLOB))")
    json_column = dict(JSON_COLUMNS).get(table)
    if json_column in texts:
        checks.append(f"({json_column} IS NOT NULL AND NOT json_valid({json_column}))")
    return f"SELECT COUNT(*) FROM {table} WHERE " + (" OR ".join(checks) or "0")


def _utf8_ok(value: object) -> bool:
    if not isinstance(value, bytes):
        return True
    try:
        value.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _schema_database(schema: str) -> sqlite3.Connection:
    connection = sqlite3.connect(":memory:")
    connection.executescript(schema)
    return connection


def _columns(connection: sqlite3.Connection) -> dict[str, list[tuple[str, str, int, int]]]:
    """Table -> its columns (name, declared type, not null, primary-key position), SQLite's own tables aside."""
    tables = [
        row[0]
        for row in connection.execute(
            "SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name"
        )
    ]
    return {
        table: [
            (str(c[1]), str(c[2]).upper(), int(c[3]), int(c[5]))
            for c in connection.execute(f"PRAGMA table_info('{table}')")
        ]
        for table in tables
    }


def _refuse(path: Path, problem: str, fix: str) -> StateFileError:
    return StateFileError(f"--state {path}: {problem}; {fix}")
