"""`coverbase-mock`: serve the mock with uvicorn."""

from __future__ import annotations

import argparse
import ipaddress
import sys
from pathlib import Path

from .fixtures import FixtureError

DEFAULT_PORT = 4010


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
    p.add_argument("--log-level", default="warning", choices=["critical", "error", "warning", "info", "debug"])
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    import uvicorn

    from .app import build_runtime, create_app
    from .runtime import Settings

    control = args.control_plane or _is_loopback(args.host)
    try:
        runtime = build_runtime(fixtures_path=args.fixtures, settings=Settings(control_plane=control))
    except FixtureError as exc:
        print(f"coverbase-mock: {exc}", file=sys.stderr)
        return 2
    app = create_app(runtime)
    base = f"http://{args.host}:{args.port}"
    key = runtime.fixtures.orgs[0].api_keys[0]
    print(f"coverbase-mock serving {base}  (Swagger UI: {base}/ui/)", flush=True)
    print(f"  try: curl -H 'Authorization: Bearer {key}' {base}/v1/utils/authtest", flush=True)
    if control:
        print(f"  control plane: {base}/_mock/health", flush=True)
    uvicorn.run(app, host=args.host, port=args.port, log_level=args.log_level)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
