"""Settings precedence: flag > environment > [tool.lamp] > embedded default."""

from __future__ import annotations

from pathlib import Path

import pytest

from lamp_cli.errors import InvalidInput
from lamp_cli.settings import resolve

pytestmark = pytest.mark.offline


def write_pyproject(directory: Path, body: str) -> None:
    (directory / "pyproject.toml").write_text(
        '[project]\nname = "fraud-detector"\n\n[tool.lamp]\n' + body, encoding="utf-8"
    )


def test_embedded_default_when_nothing_is_set(tmp_path: Path) -> None:
    settings = resolve({}, environ={}, cwd=tmp_path)
    # Absolute, so `config show` says where the store is whatever the working directory.
    assert settings.tracking_uri == f"sqlite:///{tmp_path.resolve()}/mlflow.db"
    assert settings.tracking_uri.startswith("sqlite:////")
    assert settings.uses_embedded_default
    assert settings.source("tracking-uri") == "default"
    assert settings.registry_uri is None


def test_pyproject_beats_default(tmp_path: Path) -> None:
    write_pyproject(tmp_path, 'tracking-uri = "http://pyproject:5000"\nexperiment = "exp-p"\n')
    settings = resolve({}, environ={}, cwd=tmp_path)
    assert settings.tracking_uri == "http://pyproject:5000"
    assert settings.source("tracking-uri") == "pyproject"
    assert settings.experiment == "exp-p"
    assert not settings.uses_embedded_default


def test_environment_beats_pyproject(tmp_path: Path) -> None:
    write_pyproject(tmp_path, 'tracking-uri = "http://pyproject:5000"\nproject = "p-file"\n')
    env = {"MLFLOW_TRACKING_URI": "http://env:5000", "LAMP_PROJECT_ID": "p-env"}
    settings = resolve({}, environ=env, cwd=tmp_path)
    assert settings.tracking_uri == "http://env:5000"
    assert settings.source("tracking-uri") == "env:MLFLOW_TRACKING_URI"
    assert settings.project == "p-env"


def test_flag_beats_everything(tmp_path: Path) -> None:
    write_pyproject(tmp_path, 'tracking-uri = "http://pyproject:5000"\n')
    settings = resolve(
        {"tracking-uri": "http://flag:5000"},
        environ={"MLFLOW_TRACKING_URI": "http://env:5000"},
        cwd=tmp_path,
    )
    assert settings.tracking_uri == "http://flag:5000"
    assert settings.source("tracking-uri") == "flag"


def test_empty_environment_value_is_ignored(tmp_path: Path) -> None:
    settings = resolve({}, environ={"MLFLOW_TRACKING_URI": ""}, cwd=tmp_path)
    assert settings.uses_embedded_default


def test_spec_paths_in_pyproject_are_relative_to_the_project(tmp_path: Path) -> None:
    write_pyproject(tmp_path, 'model-spec = "specs/m.yaml"\n')
    settings = resolve({}, environ={"LAMP_ENDPOINT_SPEC": "e.yaml"}, cwd=tmp_path)
    assert settings.model_spec == tmp_path / "specs" / "m.yaml"
    assert settings.endpoint_spec == Path("e.yaml")


def test_unknown_pyproject_key_is_invalid_input(tmp_path: Path) -> None:
    write_pyproject(tmp_path, 'trackin-uri = "x"\n')
    with pytest.raises(InvalidInput) as info:
        resolve({}, environ={}, cwd=tmp_path)
    assert info.value.exit_code == 3
    assert info.value.problems[0].field == "tool.lamp.trackin-uri"


def test_broken_toml_names_the_line(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.lamp]\nexperiment = \n", encoding="utf-8")
    with pytest.raises(InvalidInput) as info:
        resolve({}, environ={}, cwd=tmp_path)
    assert info.value.problems[0].line == 2


def test_legacy_file_store_is_detected(tmp_path: Path) -> None:
    settings = resolve({}, environ={}, cwd=tmp_path)
    assert settings.legacy_file_store() is None
    (tmp_path / "mlruns" / "0").mkdir(parents=True)
    (tmp_path / "mlruns" / "0" / "meta.yaml").write_text("name: Default\n")
    assert settings.legacy_file_store() == tmp_path / "mlruns"


def test_describe_redacts_credentials(tmp_path: Path) -> None:
    settings = resolve({"tracking-uri": "https://user:s3cret@mlflow.example.com"}, {}, tmp_path)
    shown = {row["name"]: row for row in settings.describe()}
    assert "s3cret" not in shown["tracking-uri"]["value"]
    assert shown["tracking-uri"]["source"] == "flag"


def test_an_empty_tool_lamp_table_still_marks_the_apps_root(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\n\n[tool.lamp]\n')
    sub = tmp_path / "src" / "deep"
    sub.mkdir(parents=True)
    settings = resolve({}, environ={}, cwd=sub)
    assert settings.cwd == tmp_path
    assert settings.tracking_uri == f"sqlite:///{tmp_path.resolve()}/mlflow.db"
    # Without the table, the nearest pyproject.toml says nothing of where lamp's store lives.
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\n')
    assert resolve({}, environ={}, cwd=sub).cwd == sub
