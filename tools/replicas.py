"""`make mock-replicas`: a local PostgreSQL database and several `coverbase-mock` replicas sharing it.

Starts a throwaway cluster (`tools/postgres.py`; or uses `--database URL`), then `--count` replicas on
consecutive ports from `--port`, each its own process with `--state <database>`, and waits until every
one answers. Ctrl-C (SIGINT) or SIGTERM stops the replicas, then the cluster, and removes its directory.
There is no load balancer: point each client at any replica's port, as a balancer would.
"""

from __future__ import annotations

import argparse
import contextlib
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from types import FrameType

from tools.postgres import Cluster, ClusterError
from tools.processes import stop

HOST = "127.0.0.1"
READY_SECONDS = 60.0
DATABASE = "coverbase_mock"
READY_LINE = "replicas ready"


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m tools.replicas", description=__doc__)
    p.add_argument("--count", type=int, default=2, help="replicas to start (default 2)")
    p.add_argument("--port", type=int, default=4010, help="port of the first replica; the others follow (4010)")
    p.add_argument("--database", default=None, help="use this PostgreSQL URL instead of a throwaway local cluster")
    p.add_argument("--durable", action="store_true", help="the local cluster fsyncs (default: off, it is throwaway)")
    p.add_argument("--log-level", default="warning", help="the replicas' --log-level")
    return p


def wait_ready(base: str, proc: subprocess.Popen[bytes], timeout: float = READY_SECONDS) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the replica for {base} exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(f"{base}/_mock/health", timeout=1) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.05)  # polling while the port opens, bounded by the deadline
    raise TimeoutError(f"{base} did not answer within {timeout:.0f} s")


@contextlib.contextmanager
def replicas(url: str, count: int, first_port: int, log_level: str = "warning") -> Iterator[list[str]]:
    """`count` replicas on `url`, each in its own process group; yields their base URLs, stops them all."""
    procs: list[subprocess.Popen[bytes]] = []
    bases = [f"http://{HOST}:{first_port + index}" for index in range(count)]
    try:
        for index in range(count):
            argv = [sys.executable, "-m", "mock_server", "--host", HOST, "--port", str(first_port + index)]
            argv += ["--state", url, "--log-level", log_level]
            procs.append(subprocess.Popen(argv, start_new_session=True, stdout=subprocess.DEVNULL))
        for base, proc in zip(bases, procs, strict=True):
            wait_ready(base, proc)
        yield bases
    finally:
        for proc in procs:
            stop(proc)


@contextlib.contextmanager
def database(url: str | None, durable: bool) -> Iterator[str]:
    """The given database, or a new one in a throwaway local cluster that is removed afterwards."""
    if url is not None:
        yield url
        return
    with Cluster(durable=durable) as cluster:
        yield cluster.create_database(DATABASE)


def _interrupt(signum: int, frame: FrameType | None) -> None:
    # Once: a second Ctrl-C must not cut the orderly stop short (replicas first, then the database).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if args.count < 1:
        print("tools.replicas: --count must be at least 1", file=sys.stderr)
        return 2
    signal.signal(signal.SIGINT, _interrupt)
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        with (
            database(args.database, args.durable) as url,
            replicas(url, args.count, args.port, args.log_level) as bases,
        ):
            for index, base in enumerate(bases, start=1):
                print(f"replica {index}: {base}  (control plane: {base}/_mock/health)", flush=True)
            print(f"database: {url}", flush=True)
            print(f"{READY_LINE}: Ctrl-C stops them and the database", flush=True)
            signal.pause()
    except KeyboardInterrupt:
        print("stopping replicas and database", flush=True)
    except (ClusterError, RuntimeError, TimeoutError) as exc:
        print(f"tools.replicas: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
