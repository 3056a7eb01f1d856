"""The app's API in what lamp records, end to end: a template-shaped app with its own `.venv`,
`lamp spec init` -> `spec validate` -> `release` against the session's real `mlflow server`; the
version's signature read back by MLflow's own client; the breaking-change gate."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

pytestmark = pytest.mark.server


def edit(app: Path, relative: str, old: str, new: str) -> None:
    module = app / relative
    text = module.read_text()
    assert old in text
    module.write_text(text.replace(old, new))


@pytest.fixture
def released(serving_app: Path, server_env: str, lamp, unique: str) -> dict:
    """The app's first release: `spec init` from the app, version 1 at @production."""
    project = f"api-{unique}"
    pyproject = serving_app / "pyproject.toml"
    pyproject.write_text(pyproject.read_text() + f'\n[tool.lamp]\nproject = "{project}"\n')
    subprocess.run(["git", "init", "-q", "-b", "main"], cwd=serving_app, check=True)
    init = lamp("spec", "init")
    assert init.exit_code == 0, init.stderr
    validated = lamp("spec", "validate")
    assert validated.exit_code == 0, validated.stderr
    assert lamp("project", "create").exit_code == 0
    first = lamp.json(
        "release", "--no-verify-image", "--release-key", "v1", "--alias", "production"
    )
    assert first["model_version"] == 1
    return {"project": project, "first": first}


def test_the_version_carries_the_apis_signature_and_document(
    released: dict, serving_app: Path, server_env: str, lamp
) -> None:
    import mlflow
    from mlflow.models import get_model_info
    from mlflow.tracking import MlflowClient

    project = released["project"]
    mlflow.set_tracking_uri(server_env)
    mlflow.set_registry_uri(server_env)
    info = get_model_info(f"models:/{project}/1")
    inputs = {c["name"]: c for c in info.signature.inputs.to_dict()}
    outputs = {c["name"]: c for c in info.signature.outputs.to_dict()}
    assert set(inputs) == {"customer", "note", "tags", "threshold", "transactions"}
    assert inputs["customer"]["type"] == "object" and inputs["customer"]["required"] is True
    assert inputs["customer"]["properties"]["id"] == {"type": "long", "required": True}
    assert inputs["customer"]["properties"]["segment"]["required"] is False
    assert inputs["transactions"]["type"] == "array"
    assert inputs["transactions"]["items"]["properties"]["at"]["type"] == "datetime"
    assert inputs["tags"]["type"] == "map" and inputs["note"]["required"] is False
    assert set(outputs) == {"label", "model_version", "reasons", "score"}
    assert outputs["reasons"] == {
        "type": "array", "items": {"type": "string"}, "name": "reasons", "required": True,
    }  # fmt: skip

    printed = lamp("version", "spec", project, "1", "--kind", "openapi")
    assert printed.exit_code == 0, printed.stderr
    assert printed.stdout == lamp("spec", "openapi").stdout
    client = MlflowClient(server_env, server_env)
    version = client.get_model_version(project, "1")
    run = client.get_run(version.run_id)
    api_sha = run.data.tags["lamp.api.sha256"]
    assert version.tags["lamp_api_sha256"] == api_sha
    manifest = json.loads(
        Path(mlflow.artifacts.download_artifacts(f"models:/{project}/1/lamp.json")).read_text()
    )
    assert manifest["api"] == {"file": "openapi.json", "sha256": api_sha}


def test_a_breaking_release_is_refused_before_anything_is_written(
    released: dict, serving_app: Path, lamp
) -> None:
    edit(serving_app, "src/dataclasses/responses.py", "    reasons: list[str]\n", "")
    refused = lamp(
        "release", "--no-verify-image", "--release-key", "v2", "--alias", "production",
        "--fail-on-breaking",
    )  # fmt: skip
    assert refused.exit_code == 5, refused.stderr
    assert "POST /v1/predict: response field reasons removed" in refused.stderr
    assert "version 1 (@production)" in refused.stderr
    assert [v["version"] for v in lamp.json("version", "list")] == [1]
    assert json.loads(lamp("-o", "json", "run", "list").stdout)[0]["name"].endswith("@v1")


def test_diff_tells_breaking_from_compatible(released: dict, serving_app: Path, lamp) -> None:
    project = released["project"]
    edit(
        serving_app,
        "src/dataclasses/requests.py",
        "    note: str | None = None\n",
        "    note: str | None = None\n    channel: str | None = None\n",
    )
    compatible = lamp(
        "release", "--no-verify-image", "--release-key", "v2", "--alias", "production",
        "--fail-on-breaking",
    )  # fmt: skip
    assert compatible.exit_code == 0, compatible.stderr
    ok = lamp("-o", "json", "version", "diff", project, "1", "2", "--fail-on-breaking")
    assert ok.exit_code == 0, ok.stderr
    api = json.loads(ok.stdout)["api"]
    assert api["breaking"] is False
    assert [(c["change"], c["field"]) for c in api["changes"]] == [
        ("request_field_added", "channel")
    ]

    edit(
        serving_app,
        "src/dataclasses/requests.py",
        "    threshold:",
        "    country: str\n    threshold:",
    )
    third = lamp.json("release", "--no-verify-image", "--release-key", "v3")
    assert third["model_version"] == 3
    broken = lamp("-o", "json", "version", "diff", project, "2", "3", "--fail-on-breaking")
    assert broken.exit_code == 5
    assert json.loads(broken.stdout)["api"]["breaking"] is True
    error = json.loads(broken.stderr)["error"]
    assert error["type"] == "breaking"
    assert error["problems"][0]["message"] == (
        "POST /v1/predict: request field country added (required)"
    )
    human = lamp("version", "diff", project, "2", "3")
    assert human.exit_code == 0
    assert "API: 1 of 1 changes break" in human.stdout


def test_a_route_the_app_lacks_is_refused_with_its_line(released: dict, serving_app: Path, lamp):
    model = serving_app / "specs" / "serving-model-spec.yaml"
    model.write_text(model.read_text().replace("path: /v1/predict", "path: /v1/score"))
    result = lamp("release", "--no-verify-image", "--release-key", "v9")
    assert result.exit_code == 3, result.stderr
    assert "serving-model-spec.yaml:" in result.stderr and "/v1/score" in result.stderr
    assert [v["version"] for v in lamp.json("version", "list")] == [1]
