"""Checks registered once (#10): name in the decorator, description from the docstring, run order, no lazy imports."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import pytest

from contract_tests.checks import MODULES, catalogue, check
from contract_tests.document import Document

PACKAGE = Path(__file__).resolve().parents[2] / "contract_tests"


def test_every_check_is_named_once_and_described_by_its_docstring() -> None:
    checks = catalogue()
    assert len({c.name for c in checks}) == len(checks) >= 20
    for c in checks:
        first_line = (inspect.getdoc(c.run) or "").splitlines()[0]
        assert c.description == first_line.rstrip("."), c.name
        assert "\n" not in c.description and c.description


def test_checks_run_in_module_order_then_declaration_order() -> None:
    modules = [c.run.__module__.rsplit(".", 1)[-1] for c in catalogue()]
    assert modules == sorted(modules, key=MODULES.index)
    assert sorted(set(modules), key=MODULES.index) == list(MODULES), "every module registers a check"


def test_a_check_without_a_docstring_or_registered_twice_is_refused() -> None:
    def undocumented(ctx: object) -> None:
        return None

    with pytest.raises(TypeError, match="needs a docstring"):
        check("test.undocumented")(undocumented)
    with pytest.raises(ValueError, match="registered twice"):
        check("idempotency.replay")(catalogue()[0].run)


def test_no_lazy_imports_of_the_suite_itself() -> None:
    """Imports of the suite's own modules sit at module level: no import cycle is papered over."""
    offenders = []
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                for inner in ast.walk(node):
                    own = isinstance(inner, ast.ImportFrom) and (
                        inner.level or (inner.module or "").startswith("contract")
                    )
                    if own:
                        offenders.append(f"{path.name}:{inner.lineno}")
    assert offenders == []


def _decision_ids() -> set[str]:
    """Every id passed as `decision=` by the suite (string literals, or module constants holding one)."""
    found: set[str] = set()
    for path in PACKAGE.rglob("*.py"):
        tree = ast.parse(path.read_text())
        constants = {
            t.id: n.value.value
            for n in tree.body
            if isinstance(n, ast.Assign) and isinstance(n.value, ast.Constant) and isinstance(n.value.value, str)
            for t in n.targets
            if isinstance(t, ast.Name)
        }
        for node in ast.walk(tree):
            for keyword in getattr(node, "keywords", []):
                if keyword.arg != "decision":
                    continue
                if isinstance(keyword.value, ast.Constant) and isinstance(keyword.value.value, str):
                    found.add(keyword.value.value)
                elif isinstance(keyword.value, ast.Name) and keyword.value.id in constants:
                    found.add(constants[keyword.value.id])
    return found


def test_every_decision_the_suite_asserts_is_marked_in_the_documents() -> None:
    ids = _decision_ids()
    decisions = Document.load().decisions | Document.load(PACKAGE.parent / "openapi" / "mock-control.yaml").decisions
    assert len(ids) >= 10
    assert sorted(ids - set(decisions)) == []


def test_the_document_is_parsed_once() -> None:
    doc = Document.load()
    assert doc.policy is doc.policy and doc.decisions is doc.decisions and doc.links is doc.links
