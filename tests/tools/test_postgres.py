"""The throwaway cluster: which binaries it finds, when a missing server skips or fails, and that it really runs."""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

import psycopg
import pytest

from mock_server.store.postgres import is_url, redacted
from tests.support import postgres as support
from tools import postgres


def _fake_bindir(root: Path, version: str) -> Path:
    bindir = root / version / "bin"
    bindir.mkdir(parents=True)
    for name in ("initdb", "pg_ctl"):
        (bindir / name).write_text("#!/bin/sh\n")
        (bindir / name).chmod(stat.S_IRWXU)
    return bindir


def test_the_newest_installed_version_is_found(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for version in ("9.6", "13", "15"):
        _fake_bindir(tmp_path, version)
    (tmp_path / "16" / "bin").mkdir(parents=True)  # a version without server binaries (client only)
    monkeypatch.setattr(postgres, "DEBIAN_ROOT", tmp_path)
    monkeypatch.delenv(postgres.BINDIR_ENV, raising=False)
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    assert postgres.server_bindir() == tmp_path / "15" / "bin"
    monkeypatch.setenv(postgres.BINDIR_ENV, str(tmp_path / "13" / "bin"))
    assert postgres.server_bindir() == tmp_path / "13" / "bin", "the explicit directory wins"


def test_without_binaries_tests_skip_locally_and_fail_where_required(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(postgres, "DEBIAN_ROOT", tmp_path)
    monkeypatch.delenv(postgres.BINDIR_ENV, raising=False)
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    assert postgres.server_bindir() is None
    monkeypatch.delenv(postgres.REQUIRE_ENV, raising=False)
    with pytest.raises(pytest.skip.Exception, match="apt-get install postgresql"):
        next(support.start_cluster())
    monkeypatch.setenv(postgres.REQUIRE_ENV, "1")
    with pytest.raises(pytest.fail.Exception, match=postgres.REQUIRE_ENV):
        next(support.start_cluster())


def test_the_session_cluster_is_a_real_server_on_loopback(postgres_cluster: Any, postgres_url: str) -> None:
    with psycopg.connect(postgres_url) as connection:
        version = connection.execute("SHOW server_version").fetchone()
        address = connection.execute("SELECT inet_server_addr()").fetchone()
        schema = connection.execute("SELECT current_schema()").fetchone()
    assert version is not None and int(version[0].split(".")[0]) >= 12
    assert address is not None and str(address[0]) == "127.0.0.1"
    assert schema is not None and schema[0].startswith("t_"), "each test gets a schema of its own"
    data = Path(postgres_cluster.data)
    if os.geteuid() == 0:
        assert data.stat().st_uid != 0, "the server does not run as root"


def test_state_urls_and_their_passwords() -> None:
    assert is_url("postgresql://u:p@db:5432/mock") and is_url("postgres://db/mock")
    assert not is_url("state.db") and not is_url("/tmp/postgresql/state.db")
    assert redacted("postgresql://mock:s3cret@db.internal:5432/mock") == "postgresql://mock:***@db.internal:5432/mock"
    assert redacted("postgresql://db/mock") == "postgresql://db/mock"
