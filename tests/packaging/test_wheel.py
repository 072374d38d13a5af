"""The built wheel, installed into a fresh virtualenv outside the checkout, gives working `coverbase-mock`,
`coverbase-contract` and pytest plugin from any directory.

Offline: the wheel is built with the project's own hatchling (`--no-build-isolation`) and installed with
`--no-deps --no-index`. The new venv reaches the dependencies through a `.pth` line naming the project venv's
site-packages: a directory added that way is only appended to `sys.path` (its own `.pth` files, among them the
editable install's pointer to this checkout, are not processed), so `mock_server` and `contract_tests` can only
come from the wheel, which the test checks.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import sysconfig
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "test_integration.py"
SECONDS = 300.0


@dataclass(frozen=True)
class Installed:
    venv: Path
    workdir: Path  # outside the checkout
    env: dict[str, str]

    def bin(self, name: str) -> str:
        return str(self.venv / "bin" / name)

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            list(args), cwd=self.workdir, env=self.env, capture_output=True, text=True, timeout=SECONDS, check=False
        )


def _checked(proc: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    assert proc.returncode == 0, f"{proc.args} exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}"
    return proc


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Installed]:
    base = tmp_path_factory.mktemp("wheel")
    dist, venv, workdir = base / "dist", base / "venv", base / "work"
    workdir.mkdir()
    python = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--quiet"]
    _checked(
        subprocess.run(
            [*python, "wheel", "--no-deps", "--no-build-isolation", "--wheel-dir", str(dist), str(ROOT)],
            capture_output=True,
            text=True,
            timeout=SECONDS,
            check=False,
        )
    )
    (wheel,) = dist.glob("coverbase_mock-*.whl")
    _checked(subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], capture_output=True, text=True))
    target = ["--python", str(venv / "bin" / "python")]
    _checked(
        subprocess.run(
            [*python, *target, "install", "--no-deps", "--no-index", str(wheel)],
            capture_output=True,
            text=True,
            timeout=SECONDS,
            check=False,
        )
    )
    site = Path(
        _checked(
            subprocess.run(
                [str(venv / "bin" / "python"), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                capture_output=True,
                text=True,
                check=False,
            )
        ).stdout.strip()
    )
    (site / "_project_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COVERBASE_", "PYTHON", "VIRTUAL_ENV"))}
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    yield Installed(venv, workdir, env)


def test_the_packages_come_from_the_wheel(installed: Installed) -> None:
    code = "import mock_server, contract_tests, spec_tools; print(mock_server.__file__, contract_tests.__file__)"
    paths = _checked(installed.run(installed.bin("python"), "-c", code)).stdout.split()
    assert all(Path(p).is_relative_to(installed.venv) for p in paths), paths
    packaged = installed.venv.glob("lib/python*/site-packages/contract_tests/_openapi/coverbase.yaml")
    assert [p.read_bytes() for p in packaged] == [(ROOT / "openapi" / "coverbase.yaml").read_bytes()]


@pytest.fixture(scope="module")
def served(installed: Installed) -> Iterator[str]:
    """`coverbase-mock --port 0` of the installed wheel; yields the URL its banner names."""
    proc = subprocess.Popen(
        [installed.bin("coverbase-mock"), "--port", "0"],
        cwd=installed.workdir,
        env={**installed.env, "PYTHONUNBUFFERED": "1"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    banner: list[str] = []
    reader = threading.Thread(target=lambda: banner.append(proc.stdout.readline() if proc.stdout else ""))
    reader.start()
    reader.join(SECONDS)
    try:
        assert banner and banner[0].startswith("coverbase-mock serving http://127.0.0.1:"), proc.stderr
        yield banner[0].split()[2]
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=30)


def test_coverbase_mock_serves_from_the_wheel(served: str) -> None:
    assert httpx.get(f"{served}/_mock/health").json()["status"] == "ok"
    assert httpx.get(f"{served}/v1/utils/authtest", headers={"Authorization": "Bearer ak_live_xxx"}).status_code == 200


def test_coverbase_contract_finds_its_document_in_the_wheel(installed: Installed, served: str) -> None:
    suite = installed.run(
        installed.bin("coverbase-contract"),
        "--base-url",
        served,
        "--api-key",
        "ak_live_xxx",
        "--second-api-key",
        "ak_live_initech_4Qx7Zr2Lm9Tp1Vw8Ky3Hs6Bn0Dc5Fg",
        "--checks",
        "errors,isolation",
        "--quiet",
    )
    assert suite.returncode == 0, suite.stdout + suite.stderr
    assert "3 passed, 0 failed, 0 deviated, 0 skipped" in suite.stdout


def test_the_pytest_plugin_needs_only_the_installed_package(installed: Installed) -> None:
    shutil.copy(EXAMPLE, installed.workdir / EXAMPLE.name)
    result = installed.run(installed.bin("python"), "-m", "pytest", "-q", "-p", "no:cacheprovider", EXAMPLE.name)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "5 passed" in result.stdout
    assert not (installed.workdir / "conftest.py").exists()
