"""`lamp spec init` sets the app up, not only its specs: a `requiredSecrets` example that stays
valid when uncommented, a `[tool.lamp]` table (the rest of pyproject.toml kept byte for byte),
and `.gitignore` entries for the local store — each said on stderr, none written twice."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

import pytest

pytestmark = pytest.mark.offline

PYPROJECT = (
    b'[project]\r\nname = "Churn_Model"\r\nversion = "2.3.1"\r\n\r\n'
    b"# keep me exactly\r\n[tool.ruff]\r\nline-length = 99"  # CRLF and no final newline
)


def init(lamp, *args: str):
    result = lamp("-o", "json", "spec", "init", *args)
    assert result.exit_code == 0, result.stderr
    return result


def test_the_tool_lamp_table_is_appended_and_the_rest_kept_byte_for_byte(
    lamp, isolated_env: Path
) -> None:
    pyproject = isolated_env / "pyproject.toml"
    pyproject.write_bytes(PYPROJECT)
    result = init(lamp)
    text = pyproject.read_bytes()
    # The file's own line ends, after a blank line.
    assert text.startswith(PYPROJECT + b"\r\n\r\n[tool.lamp]\r\n")
    table = tomllib.loads(text.decode())["tool"]["lamp"]
    assert table == {
        "experiment": "churn-model",
        "project": "churn-model",
        "model-spec": "specs/serving-model-spec.yaml",
        "endpoint-spec": "specs/serving-endpoint-spec.yaml",
    }
    assert tomllib.loads(text.decode())["tool"]["ruff"] == {"line-length": 99}
    assert "added [tool.lamp] to pyproject.toml" in result.stderr
    assert "pyproject.toml" in json.loads(result.stdout)["updated"]


def test_the_table_makes_every_command_work_from_a_subdirectory(
    lamp, isolated_env: Path, monkeypatch
) -> None:
    (isolated_env / "pyproject.toml").write_text('[project]\nname = "fraud"\n')
    init(lamp, "--dir", "deploy/specs")
    sub = isolated_env / "src" / "fraud"
    sub.mkdir(parents=True)
    monkeypatch.chdir(sub)
    rows = {r["name"]: r for r in json.loads(lamp("-o", "json", "config", "show").stdout)}
    assert rows["experiment"] == {"name": "experiment", "value": "fraud", "source": "pyproject"}
    assert rows["model-spec"]["value"] == str(
        isolated_env / "deploy" / "specs" / "serving-model-spec.yaml"
    )
    assert lamp("spec", "validate").exit_code == 0


def test_an_existing_tool_lamp_table_is_left_alone(lamp, isolated_env: Path) -> None:
    original = b'[project]\nname = "x"\n\n[tool.lamp]\nproject = "mine"\n'
    (isolated_env / "pyproject.toml").write_bytes(original)
    result = init(lamp)
    assert (isolated_env / "pyproject.toml").read_bytes() == original
    assert "pyproject.toml already has [tool.lamp]" in result.stderr
    assert "pyproject.toml" not in json.loads(result.stdout)["updated"]


def test_a_pyproject_the_table_cannot_join_is_left_alone_with_a_warning(
    lamp, isolated_env: Path
) -> None:
    content = b"tool = {ruff = {line-length = 99}}\n"  # an inline table cannot be extended
    (isolated_env / "pyproject.toml").write_bytes(content)
    result = lamp("spec", "init", "--name", "app")
    assert result.exit_code == 0, result.stderr
    assert (isolated_env / "pyproject.toml").read_bytes() == content
    assert "warning: cannot add [tool.lamp] to pyproject.toml" in result.stderr
    assert (isolated_env / "specs" / "serving-model-spec.yaml").is_file()


def test_an_invalid_pyproject_stops_init_before_anything_is_written(lamp, isolated_env) -> None:
    (isolated_env / "pyproject.toml").write_bytes(b"[project\nname = 1\n")
    result = lamp("spec", "init", "--name", "app")
    assert result.exit_code == 3
    assert "pyproject.toml" in result.stderr
    assert sorted(p.name for p in isolated_env.iterdir()) == ["pyproject.toml"]


def test_without_a_pyproject_a_minimal_one_holds_the_table(lamp, isolated_env: Path) -> None:
    result = init(lamp)
    data = tomllib.loads((isolated_env / "pyproject.toml").read_text())
    assert set(data) == {"tool"} and set(data["tool"]) == {"lamp"}
    assert data["tool"]["lamp"]["experiment"] == "work"  # the directory's name
    assert "created pyproject.toml with [tool.lamp]" in result.stderr


def test_gitignore_gets_the_local_store_once(lamp, isolated_env: Path) -> None:
    gitignore = isolated_env / ".gitignore"
    gitignore.write_bytes(b"__pycache__/\n.venv")  # no final newline
    first = init(lamp, "--name", "app")
    assert gitignore.read_bytes().startswith(b"__pycache__/\n.venv\n")
    lines = gitignore.read_text().splitlines()
    assert "mlflow.db" in lines and "mlruns/" in lines
    assert "added mlflow.db, mlruns/ to .gitignore" in first.stderr
    again = init(lamp, "--name", "app", "--force")
    assert gitignore.read_text().splitlines() == lines
    assert ".gitignore" not in json.loads(again.stdout)["updated"]
    assert "pyproject.toml" not in json.loads(again.stdout)["updated"]


def test_gitignore_is_created_and_existing_patterns_count(
    lamp, isolated_env: Path, tmp_path: Path, monkeypatch
) -> None:
    init(lamp, "--name", "app")
    assert (isolated_env / ".gitignore").read_text().splitlines()[-2:] == ["mlflow.db", "mlruns/"]
    other = tmp_path / "other"  # another app, beside this one
    other.mkdir()
    (other / ".gitignore").write_text("/mlflow.db\nmlruns\n")
    monkeypatch.chdir(other)
    result = init(lamp, "--name", "app")
    assert (other / ".gitignore").read_text() == "/mlflow.db\nmlruns\n"
    assert ".gitignore" not in json.loads(result.stdout)["updated"]


def _uncomment(text: str, key: str) -> str:
    """The spec with the commented example of ``key`` in place of its empty list."""
    lines = text.splitlines(keepends=True)
    lines.remove(f"  {key}: []\n")
    start = lines.index(f"  # {key}:\n")
    end = start + 1
    while lines[end].startswith("  #   "):
        end += 1
    lines[start:end] = [line.replace("  # ", "  ", 1) for line in lines[start:end]]
    return "".join(lines)


def test_the_required_secrets_example_is_valid_when_uncommented(lamp, isolated_env) -> None:
    init(lamp, "--name", "app")
    model = isolated_env / "specs" / "serving-model-spec.yaml"
    endpoint = isolated_env / "specs" / "serving-endpoint-spec.yaml"
    assert re.search(r"^  #   - name: MODEL_API_KEY$", model.read_text(), re.MULTILINE)
    model.write_text(_uncomment(model.read_text(), "requiredSecrets"))
    # The model alone now needs a secret the endpoint does not supply yet: the pair says so.
    half = lamp("-o", "json", "spec", "validate")
    assert half.exit_code == 3
    assert "MODEL_API_KEY" in json.loads(half.stderr)["error"]["problems"][0]["message"]
    endpoint.write_text(_uncomment(endpoint.read_text(), "env"))
    whole = lamp("-o", "json", "spec", "validate")
    assert whole.exit_code == 0, whole.stderr
    from lamp_cli.specs import load_pair

    pair = load_pair(model, endpoint)
    assert [s.name for s in pair.model_spec.spec.required_secrets] == ["MODEL_API_KEY"]
