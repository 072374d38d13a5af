"""`make spec-diff`: compare the API document at a git ref (or an old file) with the working tree (or a new file)."""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

from spec_tools.changes import Change, compare
from spec_tools.load import Document, load_document, parse_document

DEFAULT_SPEC = "openapi/coverbase.yaml"


def document_at(ref: str, spec: str) -> Document:
    """The document as committed at a git ref, read with ``git show`` from the current directory's repository."""
    result = subprocess.run(["git", "show", f"{ref}:{spec}"], capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise ValueError(f"git show {ref}:{spec} failed: {result.stderr.strip()}")
    return parse_document(result.stdout, f"{ref}:{spec}")


def report(changes: list[Change], old_label: str, new_label: str) -> str:
    breaking = [c for c in changes if c.breaking]
    other = [c for c in changes if not c.breaking]
    lines = [f"spec-diff {old_label} -> {new_label}"]
    if not changes:
        return "\n".join([*lines, "No changes to the API contract."])
    lines.append(f"Breaking changes for integrators ({len(breaking)}):")
    lines.extend(f"  - {c.render()}" for c in breaking) if breaking else lines.append("  (none)")
    lines.append(f"Non-breaking changes ({len(other)}):")
    lines.extend(f"  + {c.render()}" for c in other) if other else lines.append("  (none)")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--base", help="git ref holding the old version (e.g. origin/main)")
    source.add_argument("--old", type=Path, help="old version as a file")
    parser.add_argument("--new", type=Path, help="new version as a file (default: --spec in the working tree)")
    parser.add_argument(
        "--spec", default=DEFAULT_SPEC, help=f"document path in the repository (default {DEFAULT_SPEC})"
    )
    args = parser.parse_args(argv)
    new_path: Path = args.new or Path(args.spec)
    try:
        old = document_at(args.base, args.spec) if args.base else load_document(args.old)
        new = load_document(new_path)
    except (OSError, ValueError) as exc:
        print(f"spec-diff: {exc}", file=sys.stderr)
        return 2
    old_label = f"{args.base}:{args.spec}" if args.base else str(args.old)
    changes = compare(old, new)
    print(report(changes, old_label, str(new_path)))
    return 1 if any(c.breaking for c in changes) else 0


if __name__ == "__main__":
    sys.exit(main())
