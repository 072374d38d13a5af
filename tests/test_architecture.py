"""The project's structural rules, checked on the source: they fail the day someone breaks them."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("mock_server", "contract_tests", "spec_tools", "bench", "tools")


def modules(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def calls(path: Path) -> set[str]:
    """Dotted names of every call in a module, e.g. `time.time`, `uuid.uuid4`, `datetime.now`."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Call):
            func, parts = node.func, []
            while isinstance(func, ast.Attribute):
                parts.append(func.attr)
                func = func.value
            if isinstance(func, ast.Name):
                parts.append(func.id)
            found.add(".".join(reversed(parts)))
    return found


def test_contract_tests_never_import_the_mock() -> None:
    offenders = [
        str(p) for p in modules("contract_tests") if any(m.split(".")[0] == "mock_server" for m in imported_modules(p))
    ]
    assert offenders == []


@pytest.mark.parametrize("package", PACKAGES)
def test_every_module_has_a_one_line_docstring(package: str) -> None:
    missing = []
    for path in modules(package):
        doc = ast.get_docstring(ast.parse(path.read_text()))
        if not doc or not doc.splitlines()[0].strip():
            missing.append(str(path.relative_to(ROOT)))
    assert missing == []


def test_only_the_clock_and_id_modules_read_time_and_randomness() -> None:
    """Handlers and state get time and IDs injected, so frozen and virtual time work everywhere."""
    forbidden = {
        "time.time",
        "datetime.now",
        "datetime.datetime.now",
        "dt.datetime.now",
        "datetime.utcnow",
        "uuid.uuid4",
        "uuid4",
    }
    allowed = {ROOT / "mock_server" / "clock.py", ROOT / "mock_server" / "ids.py"}
    offenders = {
        str(path.relative_to(ROOT)): sorted(calls(path) & forbidden)
        for path in modules("mock_server")
        if path not in allowed and calls(path) & forbidden
    }
    assert offenders == {}


def test_handlers_raise_errors_instead_of_building_bodies() -> None:
    """Error bodies come from mock_server/errors.py: no handler writes a {"detail": ...} literal."""
    offenders = []
    for path in [*modules("mock_server/api"), *modules("mock_server/control")]:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Dict) and any(
                isinstance(k, ast.Constant) and k.value == "detail" for k in node.keys
            ):
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert offenders == []


def test_no_module_level_mutable_state_in_the_mock() -> None:
    """State lives in the store; module globals may hold constants only (no lists, dicts or sets)."""
    offenders = []
    for path in modules("mock_server"):
        for node in ast.parse(path.read_text()).body:
            targets = node.targets if isinstance(node, ast.Assign) else []
            for target in targets:
                named = isinstance(target, ast.Name) and not target.id.isupper() and not target.id.startswith("__")
                if named and isinstance(node.value, (ast.List, ast.Dict, ast.Set)):
                    offenders.append(f"{path.relative_to(ROOT)}:{node.lineno} {ast.unparse(target)}")
    assert offenders == []


HANDLER_MODULES = (*modules("mock_server/api"), *modules("mock_server/control"))


def test_handlers_know_nothing_of_http_or_faults() -> None:
    """Handlers are plain functions of a Call: the HTTP edge and connexion stay outside, faults are wrappers."""
    offenders = []
    for path in HANDLER_MODULES:
        for name in imported_modules(path):
            if name.split(".")[0] in ("connexion", "starlette", "httpx"):
                offenders.append(f"{path.relative_to(ROOT)} imports {name}")
        if "fault" in path.read_text():
            offenders.append(f"{path.relative_to(ROOT)} mentions faults")
    assert offenders == []


def test_faults_are_chosen_only_where_the_runtime_and_the_table_are_built() -> None:
    importers = sorted(
        str(path.relative_to(ROOT))
        for path in modules("mock_server")
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.ImportFrom) and any(alias.name == "faults" for alias in node.names)
    )
    # cli.py validates the names given on the command line; app.py and runtime.py build the wrappers.
    assert importers == ["mock_server/app.py", "mock_server/cli.py", "mock_server/runtime.py"]


def test_one_renderer_builds_every_response() -> None:
    """Only mock_server/http/responses.py constructs response objects."""
    offenders = []
    for path in modules("mock_server"):
        if path == ROOT / "mock_server" / "http" / "responses.py":
            continue
        for name in calls(path):
            if name.split(".")[-1] in ("Response", "JSONResponse", "PlainTextResponse", "ConnexionResponse"):
                offenders.append(f"{path.relative_to(ROOT)}: {name}")
    assert offenders == []


def test_connexion_is_imported_only_where_it_is_wired() -> None:
    allowed = {
        ROOT / "mock_server" / name for name in ("app.py", "connexion_glue.py", "schema_check.py", "http/responses.py")
    }
    offenders = [
        str(path.relative_to(ROOT))
        for path in modules("mock_server")
        if path not in allowed and any(m.split(".")[0] == "connexion" for m in imported_modules(path))
    ]
    assert offenders == []


def test_connexion_patches_are_applied_by_the_factory_only() -> None:
    callers = [
        str(path.relative_to(ROOT))
        for path in modules("mock_server")
        if any(c.endswith("apply_patches") for c in calls(path))
    ]
    assert callers == ["mock_server/app.py"]
    glue = ast.parse((ROOT / "mock_server" / "connexion_glue.py").read_text())
    top_level_calls = [node for node in glue.body if isinstance(node, ast.Expr) and isinstance(node.value, ast.Call)]
    assert top_level_calls == [], "connexion_glue must not patch connexion at import time"
