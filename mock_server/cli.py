"""`coverbase-mock`: serve the mock with uvicorn."""

from __future__ import annotations

import argparse
import ipaddress
import os
import sys
import warnings
from pathlib import Path

from .fixtures import FixtureError

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
    p.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT})")
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
    p.add_argument("--state", type=Path, default=None, help="keep all state in this SQLite file (default: in memory)")
    p.add_argument("--workers", type=int, default=1, help="uvicorn worker processes (more than 1 needs --state)")
    p.add_argument("--log-level", default="warning", choices=["critical", "error", "warning", "info", "debug"])
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    # connexion imports starlette's TestClient, which warns about httpx on every start.
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    import uvicorn

    from . import faults, spec
    from .app import create_app
    from .auth import mask_key
    from .fixtures import load_fixtures
    from .runtime import build_runtime
    from .settings import Settings

    try:
        planted = faults.validate(args.fault)
    except ValueError as exc:
        print(f"coverbase-mock: {exc}", file=sys.stderr)
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
    settings = Settings(
        fixtures_path=args.fixtures,
        state_path=args.state,
        control_plane=control,
        control_token=args.control_token,
        faults=planted,
        strict_input=args.strict_input,
    )
    try:
        fixtures = load_fixtures(args.fixtures, spec.load_document())
    except FixtureError as exc:
        print(f"coverbase-mock: {exc}", file=sys.stderr)
        return 2
    base = f"http://{args.host}:{args.port}"
    first_key = fixtures.orgs[0].api_keys[0]
    # Keys never go to logs. The one exception is the public docs' own example key of the bundled
    # fixtures, so that the printed command can be pasted as is.
    key = first_key if args.fixtures is None and first_key == DOCS_EXAMPLE_KEY else f"<key {mask_key(first_key)}>"
    print(f"coverbase-mock serving {base}  (Swagger UI: {base}/ui/)", flush=True)
    print(f"  try: curl -H 'Authorization: Bearer {key}' {base}/v1/utils/authtest", flush=True)
    if control:
        print(f"  control plane: {base}/_mock/health", flush=True)
    if args.state is not None:
        print(f"  state: {args.state} ({args.workers} worker(s))", flush=True)
    if planted:
        print(f"  PLANTED FAULTS: {', '.join(sorted(planted))}", flush=True)
    if args.workers > 1:
        # Worker processes cannot inherit an app object: each builds its own from the settings.
        os.environ.update(settings.to_env())
        uvicorn.run(
            "mock_server.app:app_from_env",
            factory=True,
            host=args.host,
            port=args.port,
            workers=args.workers,
            log_level=args.log_level,
        )
    else:
        app = create_app(build_runtime(settings, fixtures=fixtures))
        uvicorn.run(app, host=args.host, port=args.port, log_level=args.log_level)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
