"""The installed `lamp` as a user runs it: a subprocess, real stdout/stderr, real exit codes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import imported_by

BIN = Path(sys.executable).parent


def run(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    full_env = {**os.environ, **(env or {})}
    return subprocess.run(
        [str(BIN / "lamp"), *args],
        cwd=cwd,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_help_imports_no_backend_no_rich_and_no_command_module(isolated_env: Path) -> None:
    stdout, modules = imported_by(["--help"], isolated_env)
    assert "Usage" in stdout and "register" in stdout
    roots = ("mlflow", "boto3", "botocore", "rich")
    assert [m for m in modules if m.split(".")[0] in roots] == []
    # Each command's module is imported when the command runs, not to list it; only the
    # shared options and the usage-error rendering are there from the start.
    assert [m for m in modules if m.startswith("lamp_cli.commands.")] == [
        "lamp_cli.commands._common",
        "lamp_cli.commands._usage",
    ]


def test_a_command_imports_its_own_module_only(isolated_env: Path) -> None:
    stdout, modules = imported_by(["spec", "--help"], isolated_env)
    assert "validate" in stdout
    commands = {m for m in modules if m.startswith("lamp_cli.commands.")}
    assert "lamp_cli.commands.spec" in commands
    assert commands.isdisjoint({"lamp_cli.commands.release", "lamp_cli.commands.version"})


def test_config_show_does_not_import_mlflow(isolated_env: Path) -> None:
    stdout, modules = imported_by(["-o", "json", "config", "show"], isolated_env)
    assert [m for m in modules if m.startswith(("mlflow", "boto3"))] == []
    assert '"source": "default"' in stdout


def test_installed_lamp_on_the_embedded_default(isolated_env: Path) -> None:
    assert (BIN / "lamp").exists(), "the console script is installed"
    version = run("--version", cwd=isolated_env)
    assert version.returncode == 0 and version.stdout.startswith("lamp ")

    created = run("-o", "quiet", "experiment", "create", "smoke", cwd=isolated_env)
    assert created.returncode == 0, created.stderr
    assert created.stdout.strip().isdigit()
    assert created.stdout.count("\n") == 1
    # The embedded default is announced with its absolute path, artifacts beside it.
    store = isolated_env.resolve() / "mlflow.db"
    assert f"creating the local store {store} with artifacts in {store.parent / 'mlruns'}" in (
        created.stderr
    )
    assert (isolated_env / "mlflow.db").is_file()

    duplicate = run("experiment", "create", "smoke", cwd=isolated_env)
    assert duplicate.returncode == 5
    assert "Traceback" not in duplicate.stderr and "SQL" not in duplicate.stderr


def test_python_dash_m_works(isolated_env: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "lamp_cli", "--help"],
        cwd=isolated_env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0 and "experiment" in result.stdout


def test_legacy_file_store_is_never_used_silently(isolated_env: Path) -> None:
    legacy = isolated_env / "mlruns" / "0"
    legacy.mkdir(parents=True)
    (legacy / "meta.yaml").write_text("name: Default\n")
    result = run("-o", "json", "experiment", "create", "new", cwd=isolated_env)
    assert result.returncode == 0, result.stderr
    assert "legacy MLflow file store" in result.stderr
    assert (isolated_env / "mlflow.db").is_file()


@pytest.mark.parametrize("args", [["experiment", "create"], ["--output", "xml", "config", "show"]])
def test_usage_errors_are_exit_2(isolated_env: Path, args: list[str]) -> None:
    result = run(*args, cwd=isolated_env)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr


def test_usage_errors_are_annotated_in_github_actions(isolated_env: Path) -> None:
    result = run("run", "show", cwd=isolated_env, env={"GITHUB_ACTIONS": "true"})
    assert result.returncode == 2
    assert "::error::usage: Missing argument 'RUN_ID'." in result.stderr
