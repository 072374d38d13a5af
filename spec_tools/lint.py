"""`make lint-spec`: openapi-spec-validator, the mock's reader, our own rules; then Spectral and Redocly."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from openapi_spec_validator import OpenAPIV30SpecValidator

from spec_tools import npm_linters
from spec_tools.finding import Finding
from spec_tools.lint_reader import reader_findings
from spec_tools.lint_rules import run_rules
from spec_tools.load import Document, escape_token, load_document


def structural_findings(doc: Document) -> list[Finding]:
    """What openapi-spec-validator reports: schema of the document itself, $refs, operationIds, path params."""
    findings = []
    try:
        for error in OpenAPIV30SpecValidator(doc).iter_errors():
            where = "#" + "".join("/" + escape_token(str(part)) for part in getattr(error, "absolute_path", []))
            message = str(getattr(error, "message", error)).splitlines()[0]
            findings.append(
                Finding(where, "openapi-spec-validator", message + ".", "make the document valid OpenAPI 3.0.")
            )
    except RecursionError:
        # The validator follows $refs recursively: a chain of references that leads back to itself never ends.
        findings.append(
            Finding(
                "#",
                "openapi-spec-validator",
                "The validator gave up (maximum recursion depth): a $ref chain leads back to itself.",
                "break the cycle: some reference in it must point at a schema, not at another bare $ref.",
            )
        )
    return sorted(set(findings))


def lint_document(doc: Document) -> list[Finding]:
    """Three stages, each on what the previous one accepts: structure, then what the mock's reader refuses
    (spec_tools.lint_reader), then our rules, which read the document through the mock's reader."""
    return structural_findings(doc) or reader_findings(doc) or run_rules(doc)


def lint_file(path: Path) -> list[str]:
    try:
        doc = load_document(path)
    except (OSError, ValueError) as exc:
        return [f"{path}: cannot be read as an OpenAPI document: {exc}"]
    return [finding.render(str(path)) for finding in lint_document(doc)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("documents", nargs="+", type=Path, help="OpenAPI documents to lint")
    parser.add_argument(
        "--npm-linters",
        action="store_true",
        help="then run Spectral (spectral:oas) and Redocly (recommended), installed from npm on first use",
    )
    args = parser.parse_args(argv)
    started: npm_linters.Started | None = None
    unavailable = None
    if args.npm_linters:
        try:
            started = npm_linters.start(args.documents)  # they run while our rules do
        except npm_linters.ToolchainError as exc:
            unavailable = f"lint-spec: {exc}"
    problems = 0
    for path in args.documents:
        lines = lint_file(path)
        problems += len(lines)
        print("\n".join(lines) if lines else f"{path}: ok")
    if problems:
        print(f"{problems} finding(s)")
    if unavailable:
        print(unavailable, file=sys.stderr)
        return 2
    if started is None:
        return 1 if problems else 0
    runs = started.finish()
    print("\n".join(npm_linters.report(runs)))
    return 1 if problems or any(run.failed for run in runs) else 0


if __name__ == "__main__":
    sys.exit(main())
