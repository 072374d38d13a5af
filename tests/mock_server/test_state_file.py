"""A `--state` file the store must not open is refused at start-up: one line naming the file and the fix, exit 2.

Each kind of bad file found by the adversarial run is made here from a sound state file (or from scratch).
"""

from __future__ import annotations

import os
import random
import shutil
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from mock_server import cli, spec
from mock_server.fixtures import DEFAULT_FIXTURES, load_fixtures
from mock_server.records import IdempotencyScope
from mock_server.store.integrity import StateFileError, check_state_file, fixtures_fingerprint
from mock_server.store.sqlite import SCHEMA, SqliteStore
from tests.support.api import ORG1_KEY

DOC = spec.load_document()
FIXTURES = load_fixtures(None, DOC)
RUN_PAYLOAD = "x" * 600


@pytest.fixture(scope="module")
def sound(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A state file with a few hundred runs and assessments, closed cleanly (its WAL checkpointed)."""
    path = tmp_path_factory.mktemp("sound") / "state.db"
    from mock_server.app import create_app
    from mock_server.runtime import build_runtime
    from mock_server.settings import Settings
    from tests.support.api import Api, auth

    rt = build_runtime(Settings(state_path=path))
    api = Api(create_app(rt))
    for i in range(300):
        key = {"Idempotency-Key": f"k{i}"}
        api.post("/v1/workflows/quarterly-privacy-sweep/run", headers=auth(**key), json={"input": {"p": RUN_PAYLOAD}})
    api.close()
    rt.close()
    assert not Path(f"{path}-wal").exists() or Path(f"{path}-wal").stat().st_size == 0
    return path


def copy_of(sound: Path, tmp_path: Path, change: Callable[[Path], Any] | None = None) -> Path:
    path = tmp_path / "state.db"
    shutil.copy(sound, path)
    if change is not None:
        change(path)
    return path


def overwrite(at: Callable[[bytes], int], data: bytes) -> Callable[[Path], None]:
    def change(path: Path) -> None:
        raw = path.read_bytes()
        with path.open("r+b") as handle:
            handle.seek(at(raw))
            handle.write(data)

    return change


def garble_a_run(path: Path) -> None:
    """Garbage inside one run's JSON, the database's structure intact (quick_check cannot see it)."""
    with sqlite3.connect(path) as connection:
        connection.execute(
            "UPDATE runs SET data = substr(data, 1, 40) || CAST(X'227D5D7B00FF' AS TEXT) || substr(data, 47)"
            " WHERE rowid = (SELECT rowid FROM runs ORDER BY rowid LIMIT 1 OFFSET 150)"
        )


def unreadable_text(path: Path) -> None:
    """A row whose text is no longer UTF-8 (what random bytes inside a record make of it)."""
    with sqlite3.connect(path) as connection:
        connection.execute(
            "UPDATE runs SET org_id = CAST(X'636F72FF67' AS TEXT)"
            " WHERE rowid = (SELECT rowid FROM runs ORDER BY rowid LIMIT 1 OFFSET 10)"
        )


GARBAGE = bytes(random.Random(7).randrange(256) for _ in range(3000))


def refused(path: Path) -> str:
    with pytest.raises(StateFileError) as err:
        check_state_file(path, FIXTURES, SCHEMA)
    message = str(err.value)
    assert "\n" not in message and str(path) in message
    return message


def test_a_sound_file_and_new_files_are_accepted(sound: Path, tmp_path: Path) -> None:
    check_state_file(sound, FIXTURES, SCHEMA)
    check_state_file(tmp_path / "new.db", FIXTURES, SCHEMA)
    (tmp_path / "empty.db").touch()
    check_state_file(tmp_path / "empty.db", FIXTURES, SCHEMA)


def test_a_file_killed_mid_write_is_accepted(tmp_path: Path) -> None:
    """An uncheckpointed WAL (the process was killed) is a sound state, not damage."""
    path = tmp_path / "state.db"
    store = SqliteStore(path, FIXTURES)
    store.idempotency_claim(IdempotencyScope("o", "POST", "/p", "k"), 0, 1, 0)
    assert Path(f"{path}-wal").stat().st_size > 0
    check_state_file(path, FIXTURES, SCHEMA)
    store.close()


@pytest.mark.parametrize(
    ("kind", "change", "problem"),
    [
        ("garbage in the middle", overwrite(lambda raw: len(raw) // 2, GARBAGE), "is damaged"),
        ("garbage in a b-tree page", overwrite(lambda raw: 4096 * 3, GARBAGE), "is damaged"),
        ("garbage inside a stored document", lambda path: garble_a_run(path), "no longer hold valid text"),
        ("bytes that are not UTF-8 inside a row", lambda path: unreadable_text(path), "no longer hold valid text"),
        ("truncated", lambda path: os.truncate(path, path.stat().st_size // 2), "is damaged"),
        ("a garbage header", overwrite(lambda raw: 0, b"garbage garbage!"), "not a SQLite database"),
    ],
    ids=lambda v: v if isinstance(v, str) else "",
)
def test_a_damaged_file_is_refused(sound: Path, tmp_path: Path, kind: str, change: Any, problem: str) -> None:
    message = refused(copy_of(sound, tmp_path, change))
    assert problem in message
    assert "delete it or choose another --state path" in message


def test_a_text_file_is_refused_without_showing_it(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("root:x:0:0:secret-line\n")
    message = refused(path)
    assert "not a SQLite database" in message and "secret-line" not in message


def test_a_directory_is_refused(tmp_path: Path) -> None:
    assert "is a directory" in refused(tmp_path)


def test_a_missing_directory_is_refused(tmp_path: Path) -> None:
    assert "does not exist" in refused(tmp_path / "nowhere" / "state.db")


def test_another_programs_database_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT)")
    assert "is not a coverbase-mock state file (it has a table 'customers')" in refused(path)


def test_a_database_of_another_version_is_refused(sound: Path, tmp_path: Path) -> None:
    def older(path: Path) -> None:
        with sqlite3.connect(path) as connection:
            connection.execute("ALTER TABLE runs RENAME COLUMN sequence TO seq")

    assert "another version of coverbase-mock" in refused(copy_of(sound, tmp_path, older))


def test_a_file_of_other_fixtures_is_refused(sound: Path, tmp_path: Path) -> None:
    raw = yaml.safe_load(DEFAULT_FIXTURES.read_text())
    raw["orgs"][0]["name"] = "Acme, renamed"
    other = tmp_path / "other-fixtures.yaml"
    other.write_text(yaml.safe_dump(raw))
    others = load_fixtures(other, DOC)
    assert fixtures_fingerprint(others) != fixtures_fingerprint(FIXTURES)
    with pytest.raises(StateFileError) as err:
        check_state_file(copy_of(sound, tmp_path), others, SCHEMA)
    assert f"created with other fixtures than {other}" in str(err.value)
    assert "start the mock with the fixtures it was created with" in str(err.value)


def test_the_fingerprint_is_the_content_not_the_file_name(tmp_path: Path) -> None:
    same = tmp_path / "copy.yaml"
    shutil.copy(DEFAULT_FIXTURES, same)
    assert fixtures_fingerprint(load_fixtures(same, DOC)) == fixtures_fingerprint(FIXTURES)


def test_a_file_seeded_without_a_fingerprint_is_refused(sound: Path, tmp_path: Path) -> None:
    def legacy(path: Path) -> None:
        with sqlite3.connect(path) as connection:
            connection.execute("DELETE FROM meta WHERE name = 'fixtures_fingerprint'")

    assert "without a fixtures fingerprint" in refused(copy_of(sound, tmp_path, legacy))


def test_every_seeded_namespace_is_checked(sound: Path, tmp_path: Path) -> None:
    def other_namespace(path: Path) -> None:
        with sqlite3.connect(path) as connection:
            connection.execute("INSERT INTO meta (ns, name, value) VALUES ('t1', 'seeded', 1)")
            connection.execute("INSERT INTO meta (ns, name, value) VALUES ('t1', 'fixtures_fingerprint', 42)")

    assert "(namespace 't1')" in refused(copy_of(sound, tmp_path, other_namespace))


@pytest.mark.parametrize("kind", ["text", "garbage", "directory", "other fixtures"])
def test_the_cli_refuses_with_one_line_and_exit_2(
    sound: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], kind: str
) -> None:
    if kind == "text":
        path = tmp_path / "state.txt"
        path.write_text("hello\n")
    elif kind == "garbage":
        path = copy_of(sound, tmp_path, overwrite(lambda raw: len(raw) // 2, GARBAGE))
    elif kind == "directory":
        path = tmp_path
    else:
        raw = yaml.safe_load(DEFAULT_FIXTURES.read_text())
        raw["orgs"][1]["api_keys"].append("ak_live_another_key_0001")
        fixtures = tmp_path / "f.yaml"
        fixtures.write_text(yaml.safe_dump(raw))
        path = copy_of(sound, tmp_path)
    argv = ["--state", str(path), "--port", "1"] + (
        ["--fixtures", str(tmp_path / "f.yaml")] if kind == "other fixtures" else []
    )
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"coverbase-mock: --state {path}: ")
    assert "Traceback" not in err and ORG1_KEY not in err


def test_a_sound_file_restarts_with_its_state(sound: Path, tmp_path: Path) -> None:
    path = copy_of(sound, tmp_path)
    check_state_file(path, FIXTURES, SCHEMA)
    store = SqliteStore(path, FIXTURES)
    assert store.run_count("cborg_5f0c3a7e9b1d4f6a8c2e0b4d6f8a1c3e") >= 300
    store.close()
