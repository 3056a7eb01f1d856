"""`lamp spec init` and `lamp spec validate` through the root app, in an empty working directory."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.conftest import imported_by

pytestmark = pytest.mark.offline

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "specs" / "examples"


def test_init_from_pyproject_writes_a_valid_pair(tmp_path: Path, monkeypatch, lamp) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "Churn_Model"\nversion = "2.3.1"\n', encoding="utf-8"
    )
    result = lamp("-o", "json", "spec", "init")
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["name"] == "churn-model"
    assert data["name_source"] == "pyproject.toml"
    model = tmp_path / "specs" / "serving-model-spec.yaml"
    text = model.read_text(encoding="utf-8")
    assert text.startswith(
        "# yaml-language-server: $schema=schema/serving-model-spec.schema.json\n"
    )
    assert (tmp_path / "specs" / "schema" / "serving-model-spec.schema.json").is_file()
    assert "tag: 2.3.1" in text
    validated = lamp("-o", "json", "spec", "validate")
    assert validated.exit_code == 0, validated.stderr
    report = json.loads(validated.stdout)
    assert report["pair_checked"] is True
    assert [s["kind"] for s in report["specs"]] == ["ServingModelSpec", "ServingEndpointSpec"]
    assert {s["name"] for s in report["specs"]} == {"churn-model"}


def test_init_prefers_copier_answers_and_never_overwrites(tmp_path: Path, monkeypatch, lamp):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "pkg"\n', encoding="utf-8")
    (tmp_path / ".copier-answers.yml").write_text(
        "_src_path: gh:lamp/serving-template\nproject_slug: fraud_scorer\n", encoding="utf-8"
    )
    first = lamp("-o", "json", "spec", "init", "--dir", "deploy")
    assert first.exit_code == 0, first.stderr
    assert json.loads(first.stdout)["name"] == "fraud-scorer"
    target = tmp_path / "deploy" / "serving-endpoint-spec.yaml"
    target.write_text("edited", encoding="utf-8")
    again = lamp("spec", "init", "--dir", "deploy")
    assert again.exit_code == 5
    assert "--force" in again.stderr
    assert target.read_text(encoding="utf-8") == "edited"
    forced = lamp("spec", "init", "--dir", "deploy", "--force", "--name", "other")
    assert forced.exit_code == 0, forced.stderr
    assert "name: other" in target.read_text(encoding="utf-8")


def test_init_refuses_a_bad_name(tmp_path: Path, monkeypatch, lamp) -> None:
    monkeypatch.chdir(tmp_path)
    result = lamp("spec", "init", "--name", "Not A Name")
    assert result.exit_code == 2
    assert "not-a-name" in result.stderr
    assert not (tmp_path / "specs").exists()


def test_validate_uses_settings_paths(tmp_path: Path, monkeypatch, lamp) -> None:
    monkeypatch.chdir(tmp_path)
    for name in ("serving-model-spec.yaml", "serving-endpoint-spec.yaml"):
        shutil.copy(EXAMPLES / name, tmp_path / name)
    (tmp_path / "pyproject.toml").write_text(
        '[tool.lamp]\nmodel-spec = "serving-model-spec.yaml"\n'
        'endpoint-spec = "serving-endpoint-spec.yaml"\n',
        encoding="utf-8",
    )
    result = lamp("-o", "json", "spec", "validate")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["pair_checked"] is True
    quiet = lamp("-o", "quiet", "spec", "validate")
    assert len(quiet.stdout.split()) == 2


def test_validate_without_anything_is_a_usage_error(tmp_path: Path, monkeypatch, lamp):
    monkeypatch.chdir(tmp_path)
    result = lamp("spec", "validate")
    assert result.exit_code == 2
    assert "no spec files" in result.stderr


def test_validate_set_overrides(lamp) -> None:
    model = EXAMPLES / "serving-model-spec.yaml"
    endpoint = EXAMPLES / "serving-endpoint-spec.yaml"
    # One file: the prefix may be left out, and the value is typed by the schema.
    single = lamp("-o", "json", "spec", "validate", model, "--set", "spec.server.port=80")
    assert single.exit_code == 3
    [problem] = json.loads(single.stderr)["error"]["problems"]
    assert problem["field"] == "spec.server.port"
    assert "--set spec.server.port=80" in problem["message"]
    # Two files: the prefix is required.
    pair = lamp("-o", "json", "spec", "validate", model, endpoint, "--set", "spec.replicas=3")
    assert pair.exit_code == 3
    assert json.loads(pair.stderr)["error"]["problems"][0]["field"] == "--set spec.replicas"
    good = lamp(
        "spec",
        "validate",
        model,
        endpoint,
        "--set",
        "endpoint.spec.replicas=3",
        "--set",
        "model.spec.image.tag=2.0.0",
        "--set",
        'endpoint.spec.resources.limits["nvidia.com/gpu"]=1',
        "--set",
        'endpoint.spec.resources.requests["nvidia.com/gpu"]=1',
        "--set",
        "endpoint.spec.autoscaling.enabled=false",
    )
    assert good.exit_code == 0, good.stderr
    typo = lamp(
        "-o", "json", "spec", "validate", model, endpoint, "--set", "endpoint.spec.replicaz=3"
    )
    assert typo.exit_code == 3
    [problem] = json.loads(typo.stderr)["error"]["problems"]
    assert problem["field"] == "--set endpoint.spec.replicaz"
    assert "allowed under spec: chart, target, replicas" in problem["message"]
    wrong_type = lamp("spec", "validate", model, endpoint, "--set", "endpoint.spec.replicas=two")
    assert wrong_type.exit_code == 3
    assert "must be an integer" in wrong_type.stderr


@pytest.mark.parametrize("command", ["validate", "render"])
def test_spec_commands_do_not_import_mlflow_or_boto3(command: str, tmp_path: Path) -> None:
    model = EXAMPLES / "serving-model-spec.yaml"
    endpoint = EXAMPLES / "serving-endpoint-spec.yaml"
    args = [str(model), str(endpoint)]
    if command == "render":
        args = ["--model-spec", str(model), "--endpoint-spec", str(endpoint)]
    _, modules = imported_by(["spec", command, *args], tmp_path)
    heavy = sorted(m for m in ("mlflow", "boto3", "botocore") if m in modules)
    assert heavy == []
