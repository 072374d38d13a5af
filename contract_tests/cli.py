"""`coverbase-contract`: check a Coverbase API deployment against the OpenAPI document."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .profiles import PROFILES
from .report import junit, summary
from .runner import Options, run_suite, select
from .target import ConfigError

EXIT_CONFORMS, EXIT_VIOLATION, EXIT_USAGE = 0, 1, 2


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="coverbase-contract", description=__doc__)
    p.add_argument("--base-url", required=True, help="base URL of the deployment, e.g. http://127.0.0.1:4010")
    p.add_argument("--api-key", required=True, help="API key of the organization under test")
    p.add_argument("--second-api-key", help="a key of another organization: turns on the isolation checks")
    p.add_argument("--target", type=Path, help="YAML naming objects existing on the deployment (see README)")
    p.add_argument("--profile", choices=sorted(PROFILES), default="quick", help="how hard to search (default quick)")
    p.add_argument("--junit-xml", type=Path, help="write a JUnit XML report here")
    p.add_argument("--max-requests", type=int, help="hard request budget (default: the profile's)")
    p.add_argument("--seed", type=int, default=0, help="seed of the generated data (default 0)")
    p.add_argument("--checks", default="", help="comma-separated check names or prefixes (default: all)")
    p.add_argument("--spec", type=Path, help="the OpenAPI document (default: openapi/coverbase.yaml)")
    p.add_argument("--list-checks", action="store_true", help="list the checks and exit")
    p.add_argument("--quiet", action="store_true", help="no progress lines")
    return p


def main(argv: list[str] | None = None) -> int:
    try:
        args = parser().parse_args(argv)
    except SystemExit as exc:
        return EXIT_USAGE if exc.code else EXIT_CONFORMS
    if args.list_checks:
        for check in select([]):
            print(f"{check.name:30} {check.description}")
        return EXIT_CONFORMS
    if args.max_requests is not None and args.max_requests < 1:
        print("coverbase-contract: --max-requests must be at least 1", file=sys.stderr)
        return EXIT_USAGE
    options = Options(
        base_url=args.base_url,
        api_key=args.api_key,
        second_api_key=args.second_api_key,
        target=args.target,
        profile=args.profile,
        max_requests=args.max_requests,
        seed=args.seed,
        checks=[c.strip() for c in args.checks.split(",") if c.strip()],
        spec=args.spec,
    )

    def progress(line: str) -> None:
        if not args.quiet:
            print(line, file=sys.stderr, flush=True)

    try:
        run = run_suite(options, progress=progress)
    except (ConfigError, OSError, ValueError) as exc:
        print(f"coverbase-contract: {str(exc).splitlines()[0]}", file=sys.stderr)
        return EXIT_USAGE
    print(summary(run.results, run.spent, run.limit, run.seconds))
    if run.unarchived:
        print(f"WARNING: {run.unarchived} assessment(s) created by the suite could not be archived (budget)")
    if args.junit_xml:
        junit(run.results, args.junit_xml, run.seconds)
    return EXIT_VIOLATION if run.failed else EXIT_CONFORMS


if __name__ == "__main__":
    raise SystemExit(main())
