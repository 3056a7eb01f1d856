"""What a newcomer meets on the embedded store: hints that point forward, a store that stays where
it belongs, and runs that read well in MLflow's UI.

One app (a git checkout with [tool.lamp] and the example specs) and its store serve the module:
creating an SQLite store runs all of MLflow's migrations, which takes seconds.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from lamp_cli.main import app as lamp_app

ROOT = Path(__file__).resolve().parent.parent
PROJECT = "fraud-detector-prj"


def lamp_in(cwd: Path, *args: str):
    before = Path.cwd()
    os.chdir(cwd)
    try:
        return CliRunner().invoke(lamp_app, list(args), catch_exceptions=False)
    finally:
        os.chdir(before)


def git(cwd: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", *args], cwd=cwd, capture_output=True, text=True, check=True, timeout=30
    )
    return done.stdout.strip()


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An app with one release recorded: versions 1 (@staging) and 2 (@candidate)."""
    root = tmp_path_factory.mktemp("first-hour") / "fraud-detector"
    (root / "specs").mkdir(parents=True)
    (root / "src").mkdir()
    for name in ("serving-model-spec.yaml", "serving-endpoint-spec.yaml"):
        shutil.copy(ROOT / "specs" / "examples" / name, root / "specs" / name)
    (root / "pyproject.toml").write_text(
        '[project]\nname = "fraud-detector"\n\n[tool.lamp]\n'
        f'experiment = "fraud-detector"\nproject = "{PROJECT}"\n',
        encoding="utf-8",
    )
    env = {
        "GIT_CONFIG_GLOBAL": str(root.parent / "gitconfig"),
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_AUTHOR_NAME": "Dev",
        "GIT_AUTHOR_EMAIL": "dev@example.com",
        "GIT_COMMITTER_NAME": "Dev",
        "GIT_COMMITTER_EMAIL": "dev@example.com",
    }
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    git(root, "init", "-q", "-b", "main")
    git(root, "add", ".")
    git(root, "commit", "-q", "-m", "Serve the fraud model")
    git(root, "remote", "add", "origin", "git@github.com:acme/fraud-detector.git")
    cleared = {k: os.environ.pop(k) for k in list(os.environ) if k.startswith(("MLFLOW_", "LAMP_"))}
    try:
        sub = root / "src"
        for args in (
            ("experiment", "create", "fraud-detector"),
            ("project", "create"),
            ("release", "--no-verify-image", "--alias", "staging", "--release-key", "v1.0.0"),
            ("release", "--no-verify-image", "--alias", "candidate", "--release-key", "v1.1.0",
             "--set", "model.spec.image.tag=1.1.0"),
        ):  # fmt: skip
            result = lamp_in(sub, *args)
            assert result.exit_code == 0, (args, result.stderr)
        yield root
    finally:
        for k, v in {**saved}.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        os.environ.update(cleared)


def test_the_store_and_its_artifacts_live_in_the_app_root(app: Path) -> None:
    assert (app / "mlflow.db").is_file()
    assert (app / "mlruns").is_dir() and not (app / "src" / "mlruns").exists()
    logged = list((app / "mlruns").rglob("serving-model-spec.yaml"))
    assert len(logged) == 2
    shown = json.loads(lamp_in(app / "src", "-o", "json", "config", "show").stdout)
    uri = next(row["value"] for row in shown if row["name"] == "tracking-uri")
    assert uri == f"sqlite:///{(app / 'mlflow.db').resolve()}"


def test_a_mistyped_project_suggests_the_close_ones(app: Path) -> None:
    result = lamp_in(app, "version", "list", "fraud-detector-pjr")
    assert result.exit_code == 4
    assert f"did you mean '{PROJECT}'?" in result.stderr
    assert "lamp project list" in result.stderr
    assert "lamp project create fraud-detector-pjr" not in result.stderr


def test_an_unknown_project_says_how_to_list_and_create(app: Path) -> None:
    result = lamp_in(app, "version", "list", "zzz")
    assert result.exit_code == 4
    assert "did you mean" not in result.stderr
    assert "lamp project list" in result.stderr and "lamp project create zzz" in result.stderr


def test_a_mistyped_experiment_suggests_the_close_ones(app: Path) -> None:
    result = lamp_in(app, "experiment", "show", "fraud-detectr")
    assert result.exit_code == 4
    assert "did you mean 'fraud-detector'?" in result.stderr


def test_a_missing_run_points_at_run_list(app: Path) -> None:
    result = lamp_in(app, "run", "show", "0" * 32)
    assert result.exit_code == 4
    assert "lamp run list" in result.stderr and "lamp run show" not in result.stderr


def test_a_wrong_alias_suggests_and_names_alias_set(app: Path) -> None:
    result = lamp_in(app, "version", "show", "@stagin")
    assert result.exit_code == 4
    assert "did you mean '@staging'?" in result.stderr
    assert f"lamp version alias set {PROJECT} stagin VERSION" in result.stderr


def test_an_alias_is_never_recased(app: Path) -> None:
    result = lamp_in(app, "version", "alias", "set", "Staging", "1")
    assert result.exit_code == 3
    assert "lower-case" in result.stderr and "use 'staging'" in result.stderr


def test_run_list_shows_the_latest_runs_and_what_they_hold(app: Path) -> None:
    listed = json.loads(lamp_in(app, "-o", "json", "run", "list").stdout)
    assert [r["name"] for r in listed] == [f"{PROJECT}@v1.1.0", f"{PROJECT}@v1.0.0"]
    assert {r["lamp_status"] for r in listed} == {"specs"}
    human = lamp_in(app, "run", "list").stdout
    assert human.splitlines()[0].split() == [
        "RUN",
        "NAME",
        "EXPERIMENT",
        "STATUS",
        "LAMP",
        "STARTED",
    ]


def test_runs_and_versions_read_well_in_mlflows_ui(app: Path) -> None:
    from mlflow.tracking import MlflowClient

    uri = f"sqlite:///{app / 'mlflow.db'}"
    client = MlflowClient(uri, uri)
    experiment = client.get_experiment_by_name("fraud-detector")
    runs = client.search_runs([experiment.experiment_id], order_by=["attributes.start_time"])
    commit = git(app, "rev-parse", "HEAD")
    for run in runs:
        tags = run.data.tags
        assert tags["mlflow.source.git.commit"] == commit
        assert tags["mlflow.source.name"] == "https://github.com/acme/fraud-detector"
        assert tags["mlflow.source.type"] == "LOCAL"
        assert tags["mlflow.user"]
        assert not any("request_id" in key for key in tags)
    (first,) = client.search_model_versions(f"name = '{PROJECT}' and version_number = 1") or [
        v for v in client.search_model_versions(f"name = '{PROJECT}'") if v.version == "1"
    ]
    assert first.description == f"Release v1.0.0; commit {commit[:7]}: Serve the fraud model"
    model = client.get_registered_model(PROJECT)
    assert not any("request_id" in key for key in model.tags)


def test_alias_set_moves_an_alias_to_where_another_points(app: Path) -> None:
    moved = json.loads(
        lamp_in(app, "-o", "json", "version", "alias", "set", "staging", "@candidate").stdout
    )
    assert (moved["version"], moved["previous_version"]) == (2, 1)
    back = lamp_in(app, "version", "alias", "set", "staging", "1", "--expect-current", "2")
    assert back.exit_code == 0, back.stderr


@pytest.mark.parametrize(
    "args",
    [("version", "list"), ("run", "show", "0" * 32), ("experiment", "list"), ("doctor",)],
)
def test_read_only_commands_never_create_a_store(tmp_path: Path, args) -> None:
    (tmp_path / "pyproject.toml").write_text(f'[tool.lamp]\nproject = "{PROJECT}"\n')
    result = lamp_in(tmp_path, *args)
    assert not (tmp_path / "mlflow.db").exists()
    if args == ("doctor",):
        assert "no local store" in result.stdout
    else:
        assert result.exit_code == 4
        assert "no MLflow store at" in result.stderr and "lamp experiment create" in result.stderr


def test_a_damaged_store_is_named_with_sqlites_reason(app: Path, tmp_path: Path) -> None:
    broken = tmp_path / "broken"
    broken.mkdir()
    data = (app / "mlflow.db").read_bytes()
    (broken / "mlflow.db").write_bytes(data[:4096])
    (broken / "pyproject.toml").write_text("[tool.lamp]\n")
    result = lamp_in(broken, "experiment", "list")
    assert result.exit_code == 3, result.stderr
    store = (broken / "mlflow.db").resolve()
    assert f"the local store {store} cannot be opened" in result.stderr
    assert "malformed" in result.stderr or "not a database" in result.stderr
    assert f"mv {store} {store}.broken" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_locked_store_says_so(app: Path, tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    shutil.copy(app / "mlflow.db", locked / "mlflow.db")
    (locked / "pyproject.toml").write_text("[tool.lamp]\n")
    holder = sqlite3.connect(locked / "mlflow.db", timeout=0)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        result = lamp_in(locked, "experiment", "create", "another")
    finally:
        holder.rollback()
        holder.close()
    assert result.exit_code == 6, result.stderr
    assert f"{(locked / 'mlflow.db').resolve()} is locked" in result.stderr
