"""lamp against the Databricks stand-in: Unity Catalog registry, SDK auth, workspace rules.

The commands run as a user runs them (the root app, env from `databricks_env`); the operator's
read-back uses MLflow's plain client. Every credential is a canary: it must not appear in any
output, tag, artifact or request URL (the last is checked for every test by conftest).
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

CATALOG, SCHEMA = "main", "default"


@pytest.fixture
def uc(databricks_env, monkeypatch):
    """Unity Catalog as the registry, with `main.default` for bare project ids."""

    def use(kind: str = "pat", **overrides: str) -> dict[str, str]:
        env = databricks_env(kind, **overrides)
        monkeypatch.setenv("LAMP_UC_CATALOG", CATALOG)
        monkeypatch.setenv("LAMP_UC_SCHEMA", SCHEMA)
        return env

    return use


def leaks(databricks, *texts: str) -> list[str]:
    return [s for s in databricks.secrets() if any(s in t for t in texts)]


def log_spec(lamp, specs, experiment: str):
    model, endpoint = specs
    return lamp(
        "-o", "json", "run", "log-spec", "--experiment", experiment,
        "--model-spec", str(model), "--endpoint-spec", str(endpoint),
    )  # fmt: skip


@pytest.mark.parametrize("kind", ["pat", "m2m"])
def test_whole_workflow_on_unity_catalog(
    lamp, databricks, uc, specs, unique, kind, tmp_path: Path, monkeypatch
) -> None:
    uc(kind)
    outputs: list[str] = []

    def ok(*args: str):
        result = lamp("-o", "json", *args)
        outputs.extend([result.stdout, result.stderr])
        assert result.exit_code == 0, result.stderr
        return json.loads(result.stdout)

    experiment = f"/Shared/lamp-{kind}-{unique}"
    exp = ok("experiment", "create", experiment)
    assert exp["name"] == experiment
    assert exp["artifact_location"].startswith("dbfs:/databricks/mlflow-tracking/")

    logged = log_spec(lamp, specs, experiment)
    outputs.extend([logged.stdout, logged.stderr])
    assert logged.exit_code == 0, logged.stderr
    run = json.loads(logged.stdout)
    assert run["status"] == "FINISHED"
    assert "lamp/MLmodel" in run["artifacts"]

    project = f"Fraud-{kind}-{unique}"
    full = f"{CATALOG}.{SCHEMA}.{project.lower()}"
    assert ok("project", "create", project)["project"] == full
    version = ok("register", run["run_id"], project, "--alias", "candidate")
    assert version["project"] == full
    assert version["version"] == 1 and version["status"] == "READY"
    assert version["aliases"] == ["candidate"]
    assert version["source"] == f"runs:/{run['run_id']}/lamp"
    assert version["tags"]["lamp_image"] == run["tags"]["lamp.image"]
    assert version["tags"]["lamp_spec_model_sha256"] == run["specs"]["model"]

    again = ok("register", run["run_id"], project)
    assert again["version"] == 1 and again["created"] is False
    assert again["aliases"] == ["candidate"]

    listed = ok("version", "list", project)
    assert [(v["version"], v["aliases"]) for v in listed] == [(1, ["candidate"])]
    shown = ok("version", "show", full, "@candidate")
    assert shown["run_id"] == run["run_id"] and shown["tags"]["lamp_image"]
    spec = lamp("version", "spec", project, "@candidate", "--kind", "endpoint")
    assert spec.exit_code == 0, spec.stderr
    assert "kind: ServingEndpointSpec" in spec.stdout

    # The operator's read-back: a plain MLflow client, Unity Catalog, by alias.
    import mlflow

    mlflow.set_tracking_uri("databricks")
    mlflow.set_registry_uri("databricks-uc")
    local = Path(
        mlflow.artifacts.download_artifacts(
            artifact_uri=f"models:/{full}@candidate", dst_path=str(tmp_path / "operator")
        )
    )
    model_bytes = (local / "serving-model-spec.yaml").read_bytes()
    endpoint_bytes = (local / "serving-endpoint-spec.yaml").read_bytes()
    assert hashlib.sha256(model_bytes).hexdigest() == run["specs"]["model"]
    assert hashlib.sha256(endpoint_bytes).hexdigest() == run["specs"]["endpoint"]
    assert endpoint_bytes.decode() == spec.stdout

    # No credential anywhere: outputs, tags, artifacts.
    artifacts = [p.read_text() for p in local.iterdir() if p.is_file()]
    tags = json.dumps([run["tags"], shown["tags"]])
    assert leaks(databricks, *outputs, tags, *artifacts) == []


def test_release_lands_a_uc_version_with_the_default_experiment(
    lamp, databricks, uc, specs, unique
) -> None:
    uc("m2m")
    project = f"rel-{unique}"
    assert lamp("project", "create", project).exit_code == 0
    model, endpoint = specs
    args = (
        "-o", "json", "release", "--project", project, "--model-spec", str(model),
        "--endpoint-spec", str(endpoint), "--release-key", "v1.0.0", "--no-verify-image",
        "--alias", "candidate",
    )  # fmt: skip
    first = lamp(*args)
    assert first.exit_code == 0, first.stderr
    data = json.loads(first.stdout)
    assert data["experiment"] == f"/Shared/{project}"
    assert data["project"] == f"{CATALOG}.{SCHEMA}.{project}"
    assert data["model_version"] == 1 and data["version"]["aliases"] == ["candidate"]
    again = lamp(*args)
    assert again.exit_code == 0, again.stderr
    assert json.loads(again.stdout)["reused"] is True
    assert json.loads(again.stdout)["model_version"] == 1
    assert leaks(databricks, first.stdout, first.stderr, again.stdout, again.stderr) == []


def test_bare_experiment_name_is_refused_before_any_request(lamp, databricks, uc) -> None:
    uc()
    databricks.reset_log()
    result = lamp("-o", "json", "experiment", "create", "fraud-detector")
    assert result.exit_code == 3, result.stderr
    error = json.loads(result.stderr)["error"]
    assert "/Users/" in error["hint"] and "/Shared/fraud-detector" in error["hint"]
    assert databricks.requests("/api/2.0/mlflow/experiments") == []


def test_missing_parent_folder_is_named_with_the_command_that_creates_it(
    lamp, databricks, uc, unique
) -> None:
    uc()
    folder = f"/Users/{databricks.user}/missing-{unique}"
    result = lamp("experiment", "create", f"{folder}/exp")
    assert result.exit_code == 4, result.stderr
    assert folder in result.stderr
    assert f"databricks workspace mkdirs {folder}" in result.stderr
    assert "lamp experiment create" not in result.stderr


def test_uc_rules_are_checked_before_anything_is_written(
    lamp, databricks, uc, specs, unique
) -> None:
    uc()
    experiment = f"/Shared/rules-{unique}"
    assert lamp("experiment", "create", experiment).exit_code == 0
    run = json.loads(log_spec(lamp, specs, experiment).stdout)
    assert lamp("project", "create", f"rules-{unique}").exit_code == 0
    databricks.reset_log()

    bad_tag = lamp("register", run["run_id"], f"rules-{unique}", "--tag", "team.name=fraud")
    assert bad_tag.exit_code == 3 and "team.name" in bad_tag.stderr
    two_level = lamp("register", run["run_id"], "main.rules")
    assert two_level.exit_code == 3, two_level.stderr
    no_schema = lamp("register", run["run_id"], f"rules-{unique}", env={"LAMP_UC_SCHEMA": ""})
    assert no_schema.exit_code == 2 and "LAMP_UC_SCHEMA" in no_schema.stderr
    assert databricks.requests("/api/2.0/mlflow/unity-catalog/model-versions/create") == []
    assert databricks.requests("/api/2.0/mlflow/runs") == []


def test_a_run_without_mlmodel_is_refused_on_unity_catalog(
    lamp, databricks, uc, specs, unique, tmp_path: Path
) -> None:
    """A run logged by an earlier lamp (no MLmodel) cannot become a UC version: exit 4."""
    uc()
    from mlflow.tracking import MlflowClient

    experiment = f"/Shared/old-{unique}"
    exp_id = json.loads(lamp("-o", "json", "experiment", "create", experiment).stdout)
    run = json.loads(log_spec(lamp, specs, experiment).stdout)
    client = MlflowClient("databricks")
    old = client.create_run(exp_id["experiment_id"])
    folder = tmp_path / "lamp"
    folder.mkdir()
    for name in ("serving-model-spec.yaml", "serving-endpoint-spec.yaml", "lamp.json"):
        local = client.download_artifacts(run["run_id"], f"lamp/{name}", str(tmp_path / "dl"))
        (folder / name).write_bytes(Path(local).read_bytes())
    client.log_artifacts(old.info.run_id, str(folder), "lamp")
    for key in ("lamp.spec.model.sha256", "lamp.spec.endpoint.sha256", "lamp.image"):
        client.set_tag(old.info.run_id, key, run["tags"][key])
    client.set_terminated(old.info.run_id, "FINISHED")
    assert lamp("project", "create", f"old-{unique}").exit_code == 0

    result = lamp("register", old.info.run_id, f"old-{unique}")
    assert result.exit_code == 4, result.stderr
    assert "MLmodel" in result.stderr and "Unity Catalog" in result.stderr


def test_workspace_registry_has_no_aliases_and_disabled_is_reported(
    lamp, databricks, databricks_env, specs, unique
) -> None:
    databricks_env("pat", MLFLOW_REGISTRY_URI="databricks")
    databricks.reset_log()
    alias = lamp("version", "show", f"ws-{unique}", "@candidate")
    assert alias.exit_code == 2 and "Unity Catalog" in alias.stderr
    experiment = f"/Shared/ws-{unique}"
    assert lamp("experiment", "create", experiment).exit_code == 0
    run = json.loads(log_spec(lamp, specs, experiment).stdout)
    databricks.reset_log()
    registered = lamp("register", run["run_id"], f"ws-{unique}", "--alias", "candidate")
    assert registered.exit_code == 2 and "Unity Catalog" in registered.stderr
    assert databricks.requests("/api/2.0/mlflow/registered-models") == []
    assert databricks.requests("/api/2.0/mlflow/runs") == []

    disabled = lamp("project", "create", f"ws-{unique}")
    assert disabled.exit_code == 7, disabled.stderr
    assert "disabled" in disabled.stderr and "Unity Catalog" in disabled.stderr

    databricks.enable_legacy_registry()
    created = lamp("-o", "json", "project", "create", f"ws-{unique}")
    assert created.exit_code == 0, created.stderr
    version = lamp("-o", "json", "register", run["run_id"], f"ws-{unique}")
    assert version.exit_code == 0, version.stderr
    assert json.loads(version.stdout)["project"] == f"ws-{unique}"


def test_rate_limits_are_waited_out(lamp, databricks, uc, specs, unique) -> None:
    uc()
    experiment = f"/Shared/busy-{unique}"
    assert lamp("experiment", "create", experiment).exit_code == 0
    run = json.loads(log_spec(lamp, specs, experiment).stdout)
    assert lamp("project", "create", f"busy-{unique}").exit_code == 0
    databricks.inject(429, 2, "/api/2.0/mlflow/unity-catalog/model-versions")
    databricks.inject(503, 1, "/api/2.0/mlflow/runs/get")
    result = lamp("-o", "json", "register", run["run_id"], f"busy-{unique}")
    assert result.exit_code == 0, result.stderr
    statuses = [r["status"] for r in databricks.log]
    assert statuses.count(429) == 2 and statuses.count(503) == 1


def test_one_sdk_configuration_per_process(databricks, uc, unique) -> None:
    """Host metadata and OIDC discovery are fetched once per lamp process, not once per call."""
    env = {**os.environ, **uc("m2m"), "LAMP_UC_CATALOG": CATALOG, "LAMP_UC_SCHEMA": SCHEMA}
    project = f"once-{unique}"
    lamp = [sys.executable, "-m", "lamp_cli"]
    created = subprocess.run(
        [*lamp, "project", "create", project], env=env, capture_output=True, text=True, timeout=120
    )
    assert created.returncode == 0, created.stderr
    databricks.reset_log()
    done = subprocess.run(
        [*lamp, "-o", "json", "project", "show", project],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    api_calls = databricks.requests("/api/")
    assert len(api_calls) >= 1
    assert len(databricks.requests("/.well-known/databricks-config")) == 1
    assert len(databricks.requests("/oidc/.well-known/oauth-authorization-server")) == 1
    assert len(databricks.requests("/oidc/v1/token")) == 1
    assert leaks(databricks, done.stdout, done.stderr, created.stderr) == []


def test_github_oidc_federation_without_a_stored_secret(lamp, databricks, uc, specs, unique):
    env = uc("github-oidc")
    assert "DATABRICKS_TOKEN" not in env and "DATABRICKS_CLIENT_SECRET" not in env
    project = f"oidc-{unique}"
    created = lamp("-o", "json", "project", "create", project)
    assert created.exit_code == 0, created.stderr
    assert json.loads(created.stdout)["project"] == f"{CATALOG}.{SCHEMA}.{project}"
    assert [r["status"] for r in databricks.requests("/github-actions/idtoken")][-1] == 200
    assert leaks(databricks, created.stdout, created.stderr) == []


def test_a_databrickscfg_profile(lamp, databricks, specs, unique, tmp_path, monkeypatch) -> None:
    """`databricks://PROFILE` reads ~/.databrickscfg; the registry becomes databricks-uc://PROFILE."""
    home = tmp_path / "home"
    home.mkdir()
    (home / ".databrickscfg").write_text(
        f"[lamp-ci]\nhost = {databricks.url}\ntoken = {databricks.pat}\n"
    )
    monkeypatch.setenv("HOME", str(home))
    for name, value in databricks.pat_env().items():
        if not name.startswith("DATABRICKS_") and name != "MLFLOW_TRACKING_URI":
            monkeypatch.setenv(name, value)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "databricks://lamp-ci")
    monkeypatch.setenv("LAMP_UC_CATALOG", CATALOG)
    monkeypatch.setenv("LAMP_UC_SCHEMA", SCHEMA)
    config = {r["name"]: r["value"] for r in lamp.json("config", "show")}
    assert config["registry-uri"] == "databricks-uc://lamp-ci"
    experiment = f"/Users/{databricks.user}/profile-{unique}"
    assert lamp("experiment", "create", experiment).exit_code == 0
    logged = log_spec(lamp, specs, experiment)
    assert logged.exit_code == 0, logged.stderr
    run = json.loads(logged.stdout)
    assert lamp("project", "create", f"profile-{unique}").exit_code == 0
    version = lamp("-o", "json", "register", run["run_id"], f"profile-{unique}", "-a", "staging")
    assert version.exit_code == 0, version.stderr
    assert json.loads(version.stdout)["aliases"] == ["staging"]


def test_doctor_names_unity_catalog_and_why(lamp, databricks, uc, unique) -> None:
    uc()
    assert lamp("project", "create", f"doc-{unique}").exit_code == 0
    result = lamp("-o", "json", "doctor", env={"LAMP_PROJECT_ID": f"doc-{unique}"})
    assert result.exit_code == 0, result.stderr
    checks = {c["name"]: c for c in json.loads(result.stdout)}
    assert checks["registry"]["status"] == "ok"
    assert "databricks-uc" in checks["registry"]["detail"]
    assert "Unity Catalog" in checks["registry"]["detail"]
    assert checks["project"]["status"] == "ok"
    assert f"{CATALOG}.{SCHEMA}.doc-{unique}" in checks["project"]["detail"]


@pytest.mark.parametrize(
    "argv",
    [
        ["experiment", "list"],
        ["experiment", "create", "/Shared/denied"],
        ["project", "show", "denied"],
        ["version", "list", "denied"],
        ["version", "show", "denied", "@candidate"],
        ["register", "0" * 32, "denied"],
    ],
    ids=lambda argv: " ".join(argv[:2]),
)
def test_a_rejected_token_is_exit_7_without_the_token(lamp, databricks, uc, argv) -> None:
    canary = "dapi-canary-0123456789abcdef"
    uc("pat", DATABRICKS_TOKEN=canary, MLFLOW_HTTP_REQUEST_MAX_RETRIES="0")
    result = lamp(*argv)
    assert result.exit_code == 7, result.stderr
    assert result.stdout == "" and "Traceback" not in result.stderr
    assert canary not in result.stderr


def test_compare_and_promote_on_unity_catalog(lamp, databricks, uc, specs, unique) -> None:
    uc()
    experiment, project = f"/Shared/promote-{unique}", f"promote-{unique}"
    full = f"{CATALOG}.{SCHEMA}.{project}"
    assert lamp("experiment", "create", experiment).exit_code == 0
    assert lamp("project", "create", project).exit_code == 0
    model, endpoint = specs
    base = ["-o", "json", "run", "log-spec", "-e", experiment]
    base += ["--model-spec", str(model), "--endpoint-spec", str(endpoint)]
    first = json.loads(lamp(*base).stdout)
    second = json.loads(lamp(*base, "--set", "endpoint.spec.replicas=4").stdout)
    assert lamp("register", first["run_id"], project, "-a", "production").exit_code == 0
    assert lamp("register", second["run_id"], project).exit_code == 0
    diffed = lamp("-o", "json", "version", "diff", project, "@production", "2")
    assert diffed.exit_code == 0, diffed.stderr
    diff = json.loads(diffed.stdout)
    assert diff["project"] == full
    assert [(c["path"], c["old"], c["new"]) for c in diff["changes"]] == [("spec.replicas", 2, 4)]
    moved = lamp("-o", "json", "version", "alias", "set", project, "production", "2",
                 "--expect-current", "1")  # fmt: skip
    assert moved.exit_code == 0, moved.stderr
    listed = json.loads(lamp("-o", "json", "version", "list", project).stdout)
    assert [(v["version"], v["aliases"]) for v in listed] == [(2, ["production"]), (1, [])]
    assert lamp("version", "alias", "delete", full, "production").exit_code == 0
    projects = lamp("-o", "json", "project", "list")
    assert projects.exit_code == 0, projects.stderr
    assert full in [p["project"] for p in json.loads(projects.stdout)]


def test_unity_catalog_takes_the_signature_of_the_apps_primary_route(
    lamp, databricks, uc, specs, unique, tmp_path
) -> None:
    """A saved OpenAPI document (the CI path, where the app's dependencies are in its image):
    the version Unity Catalog registers has the request and answer of POST /v1/predict."""
    import mlflow
    from mlflow.models import get_model_info

    uc("m2m")
    obj = {"type": "object"}
    document = {
        "openapi": "3.1.0",
        "info": {"title": "fraud", "version": "1"},
        "paths": {
            "/v1/predict": {
                "post": {
                    "requestBody": {"content": {"application/json": {"schema": {
                        **obj, "required": ["amount"],
                        "properties": {"amount": {"type": "number"},
                                       "channel": {"type": "string"}},
                    }}}},
                    "responses": {"200": {"content": {"application/json": {"schema": {
                        **obj, "required": ["score"],
                        "properties": {"score": {"type": "number"}},
                    }}}}},
                }
            },
            "/v1/model": {"get": {"responses": {"200": {"description": "ok"}}}},
            "/health/live": {"get": {"responses": {"200": {"description": "ok"}}}},
            "/health/ready": {"get": {"responses": {"200": {"description": "ok"}}}},
        },
    }  # fmt: skip
    saved = tmp_path / "openapi.json"
    saved.write_text(json.dumps(document))
    project = f"sig-{unique}"
    assert lamp("project", "create", project).exit_code == 0
    model, endpoint = specs
    result = lamp(
        "-o", "json", "release", "--project", project, "--model-spec", str(model),
        "--endpoint-spec", str(endpoint), "--release-key", "v1", "--no-verify-image",
        "--openapi", str(saved),
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    full = json.loads(result.stdout)["project"]
    mlflow.set_registry_uri("databricks-uc")
    signature = get_model_info(f"models:/{full}/1").signature
    assert signature.inputs.to_dict() == [
        {"type": "double", "name": "amount", "required": True},
        {"type": "string", "name": "channel", "required": False},
    ]
    assert signature.outputs.to_dict() == [{"type": "double", "name": "score", "required": True}]
