"""The CLI end to end against the session's real `mlflow server` (proxied artifacts)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytestmark = pytest.mark.server


def no_noise(result) -> None:
    """Errors are one clear message: no traceback, no SQL, no retry noise."""
    for text in (result.stdout, result.stderr):
        assert "Traceback" not in text
        assert "SQL" not in text
        assert "Max retries" not in text


def log_spec(lamp, specs, experiment: str, *extra: str):
    model, endpoint = specs
    return lamp(
        "-o", "json", "run", "log-spec", "--experiment", experiment,
        "--model-spec", str(model), "--endpoint-spec", str(endpoint), *extra,
    )  # fmt: skip


def test_whole_workflow_on_the_server(lamp, server_env, specs, unique) -> None:
    exp = lamp.json("experiment", "create", f"exp-{unique}", "--tag", "team=fraud")
    assert set(exp) >= {"experiment_id", "name", "artifact_location", "tags"}
    assert exp["tags"]["team"] == "fraud"

    result = log_spec(lamp, specs, f"exp-{unique}")
    assert result.exit_code == 0, result.stderr
    run = json.loads(result.stdout)
    assert set(run) >= {"run_id", "experiment_id", "status", "artifact_uri", "tags"}
    assert run["status"] == "FINISHED"
    assert run["experiment_id"] == exp["experiment_id"]
    assert sorted(run["artifacts"]) == [
        "lamp/MLmodel",
        "lamp/lamp.json",
        "lamp/serving-endpoint-spec.yaml",
        "lamp/serving-model-spec.yaml",
    ]

    shown = lamp.json("run", "show", run["run_id"])
    assert shown["tags"]["lamp.spec.model.sha256"] == run["specs"]["model"]

    project = f"prj-{unique}"
    assert lamp.json("project", "create", project)["project"] == project
    version = lamp.json("register", run["run_id"], project, "--alias", "staging")
    assert set(version) >= {
        "project", "version", "run_id", "source", "status", "aliases", "tags", "created_at",
    }  # fmt: skip
    assert version["version"] == 1
    assert version["status"] == "READY"
    assert version["source"] == f"runs:/{run['run_id']}/lamp"
    assert version["aliases"] == ["staging"]
    assert version["tags"]["lamp_image"] == run["tags"]["lamp.image"]

    again = lamp.json("register", run["run_id"], project)
    assert again["version"] == 1 and again["created"] is False
    listed = lamp.json("version", "list", project)
    assert [v["version"] for v in listed] == [1]
    assert listed[0]["aliases"] == ["staging"]
    by_alias = lamp.json("version", "show", project, "@staging")
    assert by_alias["run_id"] == run["run_id"]

    endpoint_text = lamp("version", "spec", project, "1", "--kind", "endpoint")
    assert endpoint_text.exit_code == 0, endpoint_text.stderr
    assert "kind: ServingEndpointSpec" in endpoint_text.stdout

    # What the operator deploys from the version is what the files render to.
    from_version = lamp("version", "render", project, "@staging")
    model, endpoint = specs
    from_files = lamp(
        "spec", "render", "--model-spec", str(model), "--endpoint-spec", str(endpoint)
    )  # fmt: skip
    assert from_version.exit_code == 0, from_version.stderr
    assert from_version.stdout == from_files.stdout
    assert "kind: Application" in from_version.stdout


def test_quiet_output_is_the_bare_identifier(lamp, server_env, specs, unique) -> None:
    exp_id = lamp("-o", "quiet", "experiment", "create", f"q-{unique}")
    assert exp_id.exit_code == 0 and exp_id.stdout.strip().isdigit()
    run_id = lamp("-o", "quiet", "run", "create", "--experiment", f"q-{unique}")
    assert run_id.exit_code == 0 and len(run_id.stdout.strip()) == 32
    assert run_id.stdout.count("\n") == 1


def test_duplicate_experiment_is_exit_5(lamp, server_env, unique) -> None:
    assert lamp("experiment", "create", f"dup-{unique}").exit_code == 0
    result = lamp("experiment", "create", f"dup-{unique}")
    assert result.exit_code == 5
    assert "already exists" in result.stderr and "--exist-ok" in result.stderr
    assert result.stdout == ""
    no_noise(result)
    ok = lamp("-o", "quiet", "experiment", "create", f"dup-{unique}", "--exist-ok")
    assert ok.exit_code == 0 and ok.stdout.strip().isdigit()


def test_missing_run_and_project_are_exit_4(lamp, server_env, specs, unique) -> None:
    missing_run = lamp("run", "show", "0" * 32)
    assert missing_run.exit_code == 4
    no_noise(missing_run)

    lamp("experiment", "create", f"m-{unique}")
    run = json.loads(log_spec(lamp, specs, f"m-{unique}").stdout)
    result = lamp("register", run["run_id"], f"missing-{unique}")
    assert result.exit_code == 4
    assert f"lamp project create missing-{unique}" in result.stderr
    no_noise(result)

    lamp("project", "create", f"p-{unique}")
    ghost = lamp("register", "f" * 32, f"p-{unique}")
    assert ghost.exit_code == 4
    assert lamp.json("version", "list", f"p-{unique}") == []
    assert lamp("version", "show", f"p-{unique}", "@nope").exit_code == 4


def test_invalid_spec_is_exit_3_and_writes_nothing(lamp, server_env, specs, unique) -> None:
    model, _ = specs
    model.write_text(model.read_text().replace("port: 8000", "port: 80"))
    exp = lamp.json("experiment", "create", f"inv-{unique}")
    result = log_spec(lamp, specs, f"inv-{unique}")
    assert result.exit_code == 3
    assert "spec.server.port" in result.stderr
    assert str(model.name) in result.stderr
    no_noise(result)
    from mlflow.tracking import MlflowClient

    assert MlflowClient(server_env).search_runs([exp["experiment_id"]]) == []


def test_errors_in_json_mode_are_one_json_document_on_stderr(lamp, server_env, unique) -> None:
    result = lamp("-o", "json", "experiment", "show", f"nothing-{unique}")
    assert result.exit_code == 4
    assert result.stdout == ""
    error = json.loads(result.stderr)["error"]
    assert error["type"] == "not_found" and error["exit_code"] == 4


def test_registered_version_is_readable_with_the_plain_mlflow_client(
    lamp, server_env, specs, unique, tmp_path: Path
) -> None:
    lamp("experiment", "create", f"r-{unique}")
    run = json.loads(log_spec(lamp, specs, f"r-{unique}").stdout)
    lamp("project", "create", f"r-{unique}")
    version = lamp.json("register", run["run_id"], f"r-{unique}")

    import mlflow

    mlflow.set_tracking_uri(server_env)
    mlflow.set_registry_uri(server_env)
    local = mlflow.artifacts.download_artifacts(
        artifact_uri=f"models:/r-{unique}/{version['version']}", dst_path=str(tmp_path / "dl")
    )
    files = sorted(p.name for p in Path(local).iterdir())
    # MLflow's client adds registered_model_meta when it downloads a model directory.
    assert set(files) - {"registered_model_meta"} == {
        "MLmodel", "lamp.json", "serving-endpoint-spec.yaml", "serving-model-spec.yaml",
    }  # fmt: skip
    manifest = json.loads((Path(local) / "lamp.json").read_text())
    assert manifest["specs"]["model"]["sha256"] == run["specs"]["model"]
    import hashlib

    model_bytes = (Path(local) / "serving-model-spec.yaml").read_bytes()
    assert hashlib.sha256(model_bytes).hexdigest() == version["tags"]["lamp_spec_model_sha256"]


def test_dead_server_is_exit_6(lamp, closed_port: int) -> None:
    url = f"http://127.0.0.1:{closed_port}"
    result = lamp("--tracking-uri", url, "experiment", "list")
    assert result.exit_code == 6
    assert url in result.stderr
    no_noise(result)


def test_project_list_shows_created_projects_with_aliases(lamp, server_env, specs, unique) -> None:
    lamp("experiment", "create", f"pl-{unique}")
    run = json.loads(log_spec(lamp, specs, f"pl-{unique}").stdout)
    for name in (f"pl-b-{unique}", f"pl-a-{unique}"):
        lamp.json("project", "create", name)
    lamp.json("register", run["run_id"], f"pl-a-{unique}", "--alias", "staging")
    listed = {p["project"]: p for p in lamp.json("project", "list")}
    assert {f"pl-a-{unique}", f"pl-b-{unique}"} <= set(listed)
    assert listed[f"pl-a-{unique}"]["aliases"] == {"staging": "1"}
    assert listed[f"pl-b-{unique}"]["aliases"] == {}
    quiet = lamp("-o", "quiet", "project", "list").stdout.split()
    assert quiet == sorted(quiet) and f"pl-a-{unique}" in quiet
