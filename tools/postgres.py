"""A throwaway PostgreSQL cluster on 127.0.0.1, from the server binaries of Debian's `postgresql` package.

Used by the tests (`tests/support/postgres.py`), the replica benchmark (`bench/replicas.py`) and
`make mock-replicas` (`tools/replicas.py`). `initdb` and `pg_ctl` refuse to run as root: as root they run
as the `postgres` user (`runuser -u postgres --`) in a temporary directory handed to that user.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import re
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psycopg

# Where Debian's packages put the server binaries, one directory per major version.
DEBIAN_ROOT = Path("/usr/lib/postgresql")
BINDIR_ENV = "COVERBASE_PG_BINDIR"
# CI sets this: PostgreSQL tests fail instead of skipping when the binaries are missing.
REQUIRE_ENV = "COVERBASE_MOCK_REQUIRE_POSTGRES"
SERVICE_USER = "postgres"
START_SECONDS = 60
# A cluster for tests and local replicas: nothing in it must survive an OS crash, so no fsync.
FAST_SETTINGS = ("fsync=off", "synchronous_commit=off", "full_page_writes=off")


class ClusterError(RuntimeError):
    """The cluster could not be created, started or stopped (the message carries the server's output)."""


def _version_key(path: Path) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", path.parent.name)) or (0,)


def server_bindir() -> Path | None:
    """The directory holding `initdb` and `pg_ctl`: $COVERBASE_PG_BINDIR, else the newest
    /usr/lib/postgresql/<version>/bin, else the directory of an `initdb` on PATH; None when there is none."""
    override = os.environ.get(BINDIR_ENV)
    candidates = [Path(override)] if override else []
    candidates += sorted(DEBIAN_ROOT.glob("*/bin"), key=_version_key, reverse=True)
    on_path = shutil.which("initdb")
    if on_path:
        candidates.append(Path(on_path).resolve().parent)
    for bindir in candidates:
        if (bindir / "initdb").is_file() and (bindir / "pg_ctl").is_file():
            return bindir
    return None


def required() -> bool:
    """True where PostgreSQL tests must run (CI): a missing server is then a failure, not a skip."""
    return os.environ.get(REQUIRE_ENV, "") not in ("", "0")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _as_service_user() -> list[str]:
    """The command prefix that runs a server binary as a user it accepts (never root)."""
    if os.geteuid() != 0:
        return []
    try:
        pwd.getpwnam(SERVICE_USER)
    except KeyError as exc:
        raise ClusterError(f"running as root and there is no {SERVICE_USER!r} user to run PostgreSQL as") from exc
    return ["runuser", "-u", SERVICE_USER, "--"]


class Cluster:
    """initdb + pg_ctl start in a temporary directory; `stop()` (or leaving the `with` block) removes it all."""

    def __init__(
        self,
        bindir: Path | None = None,
        *,
        port: int | None = None,
        durable: bool = False,
        settings: tuple[str, ...] = (),
    ) -> None:
        """`durable=False` turns fsync off altogether (tests); `settings` are more `name=value` server settings."""
        found = bindir or server_bindir()
        if found is None:
            raise ClusterError("no PostgreSQL server binaries (initdb, pg_ctl): apt-get install postgresql")
        self.bindir = found
        self.port = port or free_port()
        self.durable = durable
        self.settings = settings
        self.root = Path(tempfile.mkdtemp(prefix="coverbase-pg-"))
        self.data = self.root / "data"
        self.log = self.root / "server.log"
        self._prefix = _as_service_user()
        self.started = False

    def _run(self, *argv: str) -> None:
        # A session of its own: the server started by pg_ctl must not get the Ctrl-C meant for its user.
        done = subprocess.run(
            [*self._prefix, *argv], capture_output=True, text=True, check=False, timeout=120, start_new_session=True
        )
        if done.returncode != 0:
            raise ClusterError(f"{' '.join(argv)} failed ({done.returncode}):\n{done.stdout}{done.stderr}{self._log()}")

    def _log(self) -> str:
        try:
            return self.log.read_text(errors="replace")[-3000:]
        except OSError:
            return ""

    def start(self) -> Cluster:
        if self._prefix:
            user = pwd.getpwnam(SERVICE_USER)
            os.chown(self.root, user.pw_uid, user.pw_gid)
        self._run(
            str(self.bindir / "initdb"),
            *("-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-locale"),
            *([] if self.durable else ["--no-sync"]),
        )
        settings = [
            "listen_addresses=127.0.0.1",
            f"port={self.port}",
            "unix_socket_directories=",
            "max_connections=200",
        ]
        if not self.durable:
            settings += FAST_SETTINGS
        settings += self.settings
        options = " ".join(f"-c {setting}" for setting in settings)
        self._run(
            str(self.bindir / "pg_ctl"),
            *("-D", str(self.data), "-l", str(self.log), "-w", "-t", str(START_SECONDS), "-o", options, "start"),
        )
        self.started = True
        return self

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        """A new empty database; returns its URL."""
        if not re.fullmatch(r"[a-z_][a-z0-9_]*", name):
            raise ValueError(f"not a plain database name: {name!r}")
        with psycopg.connect(self.url(), autocommit=True) as connection:
            connection.execute(f"CREATE DATABASE {name}")
        return self.url(name)

    def stop(self) -> None:
        """Stop the server (fast shutdown: open sessions are ended) and delete its directory."""
        try:
            if self.started:
                self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")
                self.started = False
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> Cluster:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


@contextlib.contextmanager
def cluster(*, durable: bool = False) -> Iterator[Cluster]:
    with Cluster(durable=durable) as running:
        yield running
