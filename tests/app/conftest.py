"""The template-shaped test app and its own virtual environment.

The environment holds FastAPI, pydantic and ``lamp_test_extra``, a package that lamp's own
environment lacks: a test that passes only because lamp imported the app in its own process
cannot pass here. It is made once and shared by the processes of a run (uv when installed,
else venv and pip), under a lock: pytest-xdist's workers wait for the first one's.
"""

from __future__ import annotations

import fcntl
import hashlib
import importlib.metadata
import importlib.util
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

APPS = Path(__file__).resolve().parent.parent / "apps"
SERVING_APP = APPS / "serving"
EXTRA_PACKAGE = APPS / "extra" / "lamp_test_extra"


def _pinned(name: str) -> str:
    """``name==version`` as lamp's environment has it (so uv's cache serves it), else ``name``."""
    try:
        return f"{name}=={importlib.metadata.version(name)}"
    except importlib.metadata.PackageNotFoundError:
        return name


def _run(args: list[str]) -> None:
    result = subprocess.run(args, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, f"{' '.join(args)}:\n{result.stdout}\n{result.stderr}"


@pytest.fixture(scope="session")
def app_python(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The python of the app's own virtual environment."""
    assert importlib.util.find_spec("lamp_test_extra") is None, "lamp's env must lack it"
    packages = [_pinned("fastapi"), _pinned("pydantic")]
    extra = "".join(p.read_text() for p in sorted(EXTRA_PACKAGE.rglob("*.py")))
    key = hashlib.sha256(f"{sys.executable} {packages} {extra}".encode()).hexdigest()[:16]
    # The parent of this process's base temp is shared by the workers of one run.
    shared = tmp_path_factory.getbasetemp().parent / f"lamp-app-env-{key}"
    shared.mkdir(exist_ok=True)
    with (shared / "lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        python = shared / "venv" / "bin" / "python"
        if not (shared / "ready").exists():
            shutil.rmtree(shared / "venv", ignore_errors=True)
            _make_app_env(shared / "venv", packages)
            (shared / "ready").write_text("")
    return python


def _make_app_env(venv: Path, packages: list[str]) -> None:
    python = venv / "bin" / "python"
    if importlib.util.find_spec("uv") is not None:
        uv = [sys.executable, "-m", "uv"]
        _run([*uv, "venv", "-q", "--python", sys.executable, str(venv)])
        _run([*uv, "pip", "install", "-q", "--python", str(python), *packages])
    else:
        _run([sys.executable, "-m", "venv", str(venv)])
        _run([str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check", *packages])
    purelib = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    shutil.copytree(EXTRA_PACKAGE, Path(purelib) / EXTRA_PACKAGE.name)


@pytest.fixture(autouse=True)
def no_active_venv(monkeypatch: pytest.MonkeyPatch) -> None:
    """The tests choose the app's interpreter themselves; a developer's active venv must not."""
    monkeypatch.delenv("VIRTUAL_ENV", raising=False)


@pytest.fixture
def serving_app(isolated_env: Path, app_python: Path) -> Path:
    """The template-shaped app in the test's working directory, its `.venv` the session's."""
    shutil.copytree(SERVING_APP, isolated_env, dirs_exist_ok=True)
    (isolated_env / ".venv").symlink_to(app_python.parent.parent)
    return isolated_env


@pytest.fixture(scope="session")
def serving_openapi(app_python: Path, tmp_path_factory: pytest.TempPathFactory) -> str:
    """The serving app's OpenAPI document, as `lamp spec openapi` prints it (read once)."""
    work = tmp_path_factory.mktemp("serving-openapi")
    shutil.copytree(SERVING_APP, work, dirs_exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LAMP_", "VIRTUAL_ENV"))}
    result = subprocess.run(
        [sys.executable, "-m", "lamp_cli", "spec", "openapi", "--app-python", str(app_python)],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.fixture
def write_app(isolated_env: Path) -> Callable[[str, str], Path]:
    """Write one module of an app under the working directory; returns its path."""

    def _write(relative: str, text: str) -> Path:
        target = isolated_env / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
        return target

    return _write
