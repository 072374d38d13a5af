"""`coverbase-mock`: serve the mock with uvicorn."""

from __future__ import annotations

import argparse
import contextlib
import errno
import gc
import ipaddress
import os
import sys
import warnings
from pathlib import Path

DEFAULT_PORT = 4010
DOCS_EXAMPLE_KEY = "ak_live_xxx"
CONTROL_TOKEN_ENV = "COVERBASE_MOCK_CONTROL_TOKEN"


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="coverbase-mock",
        description="A stateful mock of the Coverbase API, served from openapi/coverbase.yaml.",
    )
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT}; 0: a free port, printed)"
    )
    p.add_argument("--fixtures", type=Path, default=None, help="fixture file (default: the bundled two-org fixtures)")
    p.add_argument(
        "--control-plane",
        action="store_true",
        help="serve /_mock/ even when not listening on loopback",
    )
    p.add_argument(
        "--fault",
        action="append",
        default=[],
        metavar="NAME",
        help="plant a fault that breaks one documented behaviour (repeatable; see mock_server/faults.py)",
    )
    p.add_argument(
        "--control-token",
        default=os.environ.get(CONTROL_TOKEN_ENV) or None,
        help=f"require this token in X-Mock-Control-Token on /_mock/ (default ${CONTROL_TOKEN_ENV});"
        " needed to serve the control plane on a non-loopback address",
    )
    p.add_argument(
        "--strict-input",
        action="store_true",
        help="reject undocumented body fields and query parameters with 422 (default: ignore and report them)",
    )
    p.add_argument(
        "--state",
        default=None,
        metavar="PATH|URL",
        help="keep all state in this SQLite file, or in a PostgreSQL database shared by several replicas"
        " (postgresql://user:password@host:port/database); default: in memory",
    )
    p.add_argument("--workers", type=int, default=1, help="uvicorn worker processes (more than 1 needs --state)")
    p.add_argument(
        "--retention-days",
        type=int,
        default=None,
        metavar="N",
        help="keep runs and assessments N days of virtual time (default: x-retention; 0 keeps everything)",
    )
    p.add_argument("--log-level", default="warning", choices=["critical", "error", "warning", "info", "debug"])
    p.add_argument(
        "--ready-file",
        type=Path,
        default=None,
        metavar="PATH",
        help="once the mock answers, write its base URL (one line) to PATH; removed when the mock stops."
        " For harnesses in any language, with --port 0",
    )
    for name, what in (
        ("header", "a request's headers may take after their first byte"),
        ("body", "a request's body may take after its headers"),
        ("keep-alive", "an idle connection stays open"),
    ):
        p.add_argument(
            f"--{name}-timeout",
            type=_seconds,
            default=None,
            metavar="SECONDS",
            help=f"seconds {what} (default: x-limits of the document)",
        )
    return p


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not 0 < value <= 86400:
        raise argparse.ArgumentTypeError("must be more than 0 and at most 86400 seconds")
    return value


def settle_heap() -> None:
    """Everything built at start-up (documents, validators, connexion) lives as long as the process: moved out
    of the collector's sight, full collections no longer walk it on every request burst (p99 latency)."""
    gc.collect()
    gc.freeze()


def bind_error(host: str, port: int, exc: OSError) -> str:
    """One line naming the address and the fix."""
    if exc.errno == errno.EADDRINUSE:
        return (
            f"coverbase-mock: port {port} on {host} is already in use (another coverbase-mock?);"
            " stop that process, choose another port with --port N, or use --port 0 for a free one"
        )
    if exc.errno == errno.EACCES:
        return f"coverbase-mock: not allowed to listen on port {port}; use a port above 1023 (or --port 0)"
    return f"coverbase-mock: cannot listen on {host}:{port}: {exc.strerror or exc}; check --host and --port"


def _write_ready_file(path: Path, url: str) -> None:
    """Written whole or not at all: a harness polling for the file never reads half a URL."""
    partial = path.with_name(f".{path.name}.partial")
    partial.write_text(url + "\n", encoding="utf-8")
    partial.replace(path)


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    # connexion imports starlette's TestClient, which warns about httpx on every start.
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    import uvicorn
    from uvicorn.supervisors import Multiprocess

    from . import faults, serving, slow_clients, spec
    from .app import create_app
    from .auth import mask_key
    from .fixtures import FixtureError, load_fixtures
    from .runtime import build_runtime
    from .settings import Settings
    from .store.integrity import StateFileError, check_state_file
    from .store.postgres import DatabaseUnavailable, PostgresDatabase, is_url, redacted
    from .store.sqlite import SCHEMA

    try:
        planted = faults.validate(args.fault)
    except ValueError as exc:
        print(f"coverbase-mock: {exc}", file=sys.stderr)
        return 2
    if args.retention_days is not None and args.retention_days < 0:
        print("coverbase-mock: --retention-days must be 0 (keep everything) or more", file=sys.stderr)
        return 2
    if args.workers < 1:
        print("coverbase-mock: --workers must be at least 1", file=sys.stderr)
        return 2
    if args.workers > 1 and args.state is None:
        print(
            "coverbase-mock: --workers > 1 needs --state PATH: in-memory state is not shared between processes",
            file=sys.stderr,
        )
        return 2
    loopback = _is_loopback(args.host)
    if args.control_plane and not loopback and not args.control_token:
        print("coverbase-mock: --control-plane on a non-loopback address needs --control-token", file=sys.stderr)
        return 2
    # Off the loopback interface the control plane (reset, clock) is served only behind a token.
    control = loopback or bool(args.control_token)
    state_url = args.state if args.state is not None and is_url(args.state) else None
    settings = Settings(
        fixtures_path=args.fixtures,
        state_path=Path(args.state) if args.state is not None and state_url is None else None,
        state_url=state_url,
        control_plane=control,
        control_token=args.control_token,
        faults=planted,
        retention_days=args.retention_days,
        body_timeout=args.body_timeout,
        strict_input=args.strict_input,
    )
    timeouts = slow_clients.Timeouts.of(
        spec.load_document(), args.header_timeout, args.body_timeout, args.keep_alive_timeout
    )
    serving_options = slow_clients.uvicorn_options(spec.load_document(), timeouts)
    try:
        fixtures = load_fixtures(args.fixtures, spec.load_document())
        if state_url is not None:
            PostgresDatabase(state_url).close()  # reachable, and its tables exist, before any worker starts
        elif args.state is not None:
            check_state_file(Path(args.state), fixtures, SCHEMA)
    except (FixtureError, StateFileError, DatabaseUnavailable) as exc:
        print(f"coverbase-mock: {exc}", file=sys.stderr)
        return 2
    if args.ready_file is not None:
        args.ready_file.unlink(missing_ok=True)  # a stale file from an earlier run must not announce this one
    try:
        sock = serving.listen(args.host, args.port)
    except OSError as exc:
        print(bind_error(args.host, args.port, exc), file=sys.stderr)
        return 2
    base = serving.base_url(args.host, serving.bound_port(sock))
    first_key = fixtures.orgs[0].api_keys[0]
    # Keys never go to logs. The one exception is the public docs' own example key of the bundled
    # fixtures, so that the printed command can be pasted as is.
    key = first_key if args.fixtures is None and first_key == DOCS_EXAMPLE_KEY else f"<key {mask_key(first_key)}>"

    def announce() -> None:
        """Printed once the port is ours (and, with one process, once the mock answers)."""
        print(f"coverbase-mock serving {base}  (Swagger UI: {base}/ui/)", flush=True)
        print(f"  try: curl -H 'Authorization: Bearer {key}' {base}/v1/utils/authtest", flush=True)
        if control:
            print(f"  control plane: {base}/_mock/health", flush=True)
        if args.state is not None:
            print(f"  state: {redacted(args.state)} ({args.workers} worker(s))", flush=True)
        if planted:
            print(f"  PLANTED FAULTS: {', '.join(sorted(planted))}", flush=True)
        if args.ready_file is not None:
            _write_ready_file(args.ready_file, base)

    def withdraw() -> None:
        if args.ready_file is not None:
            args.ready_file.unlink(missing_ok=True)

    try:
        if args.workers > 1:
            # Worker processes cannot inherit an app object: each builds its own from the settings. They
            # share the listening socket, whose backlog holds requests until the first worker answers.
            os.environ.update(settings.to_env())
            config = uvicorn.Config(
                "mock_server.app:app_from_env",
                factory=True,
                workers=args.workers,
                log_level=args.log_level,
                **serving_options,
            )
            announce()
            Multiprocess(config, sockets=[sock]).run()
            return 0
        app = create_app(build_runtime(settings, fixtures=fixtures))
        settle_heap()
        server = serving.Server(
            uvicorn.Config(app, log_level=args.log_level, **serving_options), on_ready=announce, on_stop=withdraw
        )
        with contextlib.suppress(KeyboardInterrupt):
            server.run(sockets=[sock])
        return 0 if server.started else 1
    finally:
        sock.close()
        withdraw()


if __name__ == "__main__":
    raise SystemExit(main())
