"""`coverbase-contract`: check a Coverbase API deployment against the OpenAPI document."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from .checks import catalogue
from .profiles import PROFILES
from .report import junit, summary
from .repro import write_scripts
from .runner import Options, Run, run_suite
from .target import ConfigError

EXIT_CONFORMS, EXIT_VIOLATION, EXIT_USAGE = 0, 1, 2
KEY_ENV, SECOND_KEY_ENV = "COVERBASE_API_KEY", "COVERBASE_SECOND_API_KEY"


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="coverbase-contract",
        description=__doc__,
        epilog=f"Keys may come from ${KEY_ENV} and ${SECOND_KEY_ENV} instead of the flags, which keeps them out of"
        " process lists and shell history. Exit status: 0 conforms (deviations from Decisions allowed),"
        " 1 a check failed, 2 usage or configuration error.",
    )
    p.add_argument("--base-url", help="base URL of the deployment, e.g. http://127.0.0.1:4010")
    p.add_argument("--api-key", help=f"API key of the organization under test (default: ${KEY_ENV})")
    p.add_argument(
        "--second-api-key",
        help=f"a key of another organization: turns on the isolation checks (default: ${SECOND_KEY_ENV})",
    )
    p.add_argument("--target", type=Path, help="YAML naming objects existing on the deployment (see README)")
    p.add_argument("--profile", choices=sorted(PROFILES), default="quick", help="how hard to search (default quick)")
    p.add_argument("--junit-xml", type=Path, help="write a JUnit XML report here")
    p.add_argument("--repro-dir", type=Path, help="write one runnable reproduction script per failure here")
    p.add_argument(
        "--strict-decisions",
        action="store_true",
        help="report a Decision of the document done differently as a failure, not a deviation (always so on the mock)",
    )
    p.add_argument("--max-requests", type=int, help="hard request budget (default: the profile's)")
    p.add_argument("--seed", type=int, default=0, help="seed of the generated data (default 0)")
    p.add_argument("--checks", default="", help="comma-separated check names or prefixes (default: all)")
    p.add_argument("--spec", type=Path, help="the OpenAPI document (default: openapi/coverbase.yaml)")
    p.add_argument("--list-checks", action="store_true", help="list the checks and exit (needs no URL or key)")
    p.add_argument("--quiet", action="store_true", help="no progress lines")
    return p


def usage(message: str) -> int:
    print(f"coverbase-contract: {message}", file=sys.stderr)
    return EXIT_USAGE


def main(argv: list[str] | None = None) -> int:
    try:
        args = parser().parse_args(argv)
    except SystemExit as exc:
        return EXIT_USAGE if exc.code else EXIT_CONFORMS
    if args.list_checks:
        for check in catalogue():
            print(f"{check.name:30} {check.description}")
        return EXIT_CONFORMS
    api_key = args.api_key or os.environ.get(KEY_ENV)
    second_key = args.second_api_key or os.environ.get(SECOND_KEY_ENV) or None
    if not args.base_url:
        return usage("--base-url is required (or --list-checks)")
    if not api_key:
        return usage(f"no API key: pass --api-key or set {KEY_ENV}")
    if args.max_requests is not None and args.max_requests < 1:
        return usage("--max-requests must be at least 1")
    if args.target is not None and not args.target.is_file():
        return usage(f"--target {args.target}: no such file")
    options = Options(
        base_url=args.base_url,
        api_key=api_key,
        second_api_key=second_key,
        target=args.target,
        profile=args.profile,
        max_requests=args.max_requests,
        seed=args.seed,
        checks=[c.strip() for c in args.checks.split(",") if c.strip()],
        spec=args.spec,
        strict_decisions=args.strict_decisions,
    )

    def progress(line: str) -> None:
        if not args.quiet:
            print(line, file=sys.stderr, flush=True)

    try:
        run = run_suite(options, progress=progress)
    except (ConfigError, OSError, ValueError) as exc:
        return usage(str(exc).splitlines()[0])
    report(run, args)
    return EXIT_VIOLATION if run.failed else EXIT_CONFORMS


def report(run: Run, args: argparse.Namespace) -> None:
    kind = (
        "the mock (control plane found): every Decision is checked strictly"
        if run.control_plane
        else "not the mock: a Decision done differently is a deviation"
        + (" - failures here, --strict-decisions" if not run.lenient else "")
    )
    print(f"target {run.base_url}: {kind}")
    print(summary(run.results, run.spent, run.limit, run.seconds))
    for item in run.unarchived:
        print(f"WARNING: assessment {item.assessment_id} created by the suite was not archived: {item.reason}")
    if args.junit_xml:
        junit(run.results, args.junit_xml, run.seconds)
    if args.repro_dir and run.failed:
        scripts = write_scripts(
            run.results,
            args.repro_dir,
            base_url=run.base_url,
            control_plane=run.control_plane,
            seed=args.seed,
            journal=run.journal,
        )
        print(f"\n{len(scripts)} reproduction script(s) (exit 1 while the failure reproduces):")
        for path in scripts:
            print(f"  {path}")


if __name__ == "__main__":
    raise SystemExit(main())
