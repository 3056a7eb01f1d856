"""The workspace stand-in, driven by MLflow's real client and the real Databricks SDK only.

Each test sets the environment a CI job would set and uses `mlflow`, `MlflowClient` or the
SDK's `WorkspaceClient`; raw HTTP appears only where storage itself (signed URLs) is checked.
The request log proves which path the client took, since MLflow's Databricks artifact
repository silently falls back from the SDK to signed URLs on any error.
"""

from __future__ import annotations

import filecmp
import hashlib
import json
import os
import time
import uuid
from pathlib import Path

import pytest
import requests

pytestmark = pytest.mark.server

SIGNATURE = {
    "inputs": json.dumps([{"type": "double", "name": "x", "required": True}]),
    "outputs": json.dumps([{"type": "double", "required": True}]),
    "params": None,
}


def write_model(directory: Path, signature: dict | None = SIGNATURE) -> Path:
    """A model directory as `mlflow.models.Model.save` lays it out, written by hand."""
    directory.mkdir(parents=True)
    mlmodel = {
        "artifact_path": "model",
        "flavors": {"python_function": {"loader_module": "lamp_model", "python_version": "3.11"}},
        "mlflow_version": "3.17.2",
        "model_uuid": uuid.uuid4().hex,
        "utc_time_created": "2024-01-01 00:00:00.000000",
    }
    if signature is not None:
        mlmodel["signature"] = signature
    import yaml

    (directory / "MLmodel").write_text(yaml.safe_dump(mlmodel))
    (directory / "serving.yaml").write_text("replicas: 2\nimage: example/model:1\n")
    (directory / "weights.bin").write_bytes(os.urandom(70_000))
    return directory


def same_tree(left: Path, right: Path, ignore: tuple[str, ...] = ()) -> None:
    names = sorted(p.relative_to(left).as_posix() for p in left.rglob("*") if p.is_file())
    other = sorted(
        p.relative_to(right).as_posix()
        for p in right.rglob("*")
        if p.is_file() and p.name not in ignore
    )
    assert names == other
    for name in names:
        assert filecmp.cmp(left / name, right / name, shallow=False), name


def sha(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()[:16]


def new_experiment(databricks, name: str) -> str:
    from mlflow import MlflowClient

    return MlflowClient().create_experiment(f"/Users/{databricks.user}/{name}")


# -- auth ------------------------------------------------------------------------------------------


def test_pat_identifies_the_user(databricks, databricks_env):
    from databricks.sdk import WorkspaceClient
    from mlflow import MlflowClient

    databricks_env("pat")
    assert WorkspaceClient().current_user.me().user_name == databricks.user
    MlflowClient().search_experiments(max_results=1)
    api = databricks.requests("/api/")
    assert api and all(r["token_sha256"] == sha(databricks.pat) for r in api)
    assert all(r["status"] == 200 for r in api)


def test_m2m_oauth_gets_a_token_and_identifies_the_service_principal(databricks, databricks_env):
    from databricks.sdk import WorkspaceClient
    from mlflow import MlflowClient

    databricks_env("m2m")
    assert WorkspaceClient().current_user.me().user_name == databricks.client_id
    MlflowClient().search_experiments(max_results=1)
    token_calls = databricks.requests("/oidc/v1/token")
    assert token_calls and all(r["status"] == 200 for r in token_calls)
    assert {r["auth_scheme"] for r in token_calls} == {"Basic"}
    api = databricks.requests("/api/")
    assert api and all(r["status"] == 200 for r in api)
    assert all(r["token_sha256"] not in (None, sha(databricks.pat)) for r in api)


def test_github_oidc_federation_exchanges_an_id_token(databricks, databricks_env):
    from databricks.sdk import WorkspaceClient

    databricks_env("github-oidc")
    assert WorkspaceClient().current_user.me().user_name == databricks.client_id
    assert [r["status"] for r in databricks.requests("/github-actions/idtoken")][-1] == 200
    assert databricks.requests("/oidc/v1/token")[-1]["status"] == 200


def test_github_oidc_with_a_wrong_request_token_gets_no_credentials(databricks, databricks_env):
    from databricks.sdk import WorkspaceClient

    databricks_env("github-oidc", ACTIONS_ID_TOKEN_REQUEST_TOKEN="not-the-runner-token")
    with pytest.raises(ValueError, match="github-oidc"):
        WorkspaceClient()
    assert {r["status"] for r in databricks.requests("/github-actions/idtoken")} == {401}
    assert not databricks.requests("/oidc/v1/token")


def test_wrong_pat_is_401(databricks, databricks_env):
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    databricks_env("pat", DATABRICKS_TOKEN="dapi" + "0" * 32)
    with pytest.raises(MlflowException) as caught:
        MlflowClient().search_experiments(max_results=1)
    assert caught.value.error_code == "UNAUTHENTICATED"
    assert {r["status"] for r in databricks.requests("/api/")} == {401}


def test_wrong_client_secret_gets_no_token(databricks, databricks_env):
    from databricks.sdk import WorkspaceClient

    databricks_env("m2m", DATABRICKS_CLIENT_SECRET="dose-wrong")
    # The SDK turns the token endpoint's OAuth error body into "invalid_client: <description>".
    with pytest.raises(ValueError, match="invalid_client: Client authentication failed"):
        WorkspaceClient().current_user.me()
    assert {r["status"] for r in databricks.requests("/oidc/v1/token")} == {401}
    assert not [r for r in databricks.requests("/api/") if r["status"] == 200]


# -- workspace and experiments ---------------------------------------------------------------------


def test_experiment_names_follow_workspace_rules(databricks, databricks_env, unique):
    from databricks.sdk import WorkspaceClient
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    databricks_env("pat")
    client = MlflowClient()
    with pytest.raises(MlflowException, match="Got an invalid experiment name") as bare:
        client.create_experiment(f"bare-{unique}")
    assert bare.value.error_code == "INVALID_PARAMETER_VALUE"

    folder = f"/Users/{databricks.user}/lamp-{unique}"
    with pytest.raises(MlflowException, match=f"Parent directory {folder} does not exist") as gone:
        client.create_experiment(f"{folder}/x")
    assert gone.value.error_code == "RESOURCE_DOES_NOT_EXIST"

    WorkspaceClient().workspace.mkdirs(folder)
    assert WorkspaceClient().workspace.get_status(folder).object_type.value == "DIRECTORY"
    experiment_id = client.create_experiment(f"{folder}/x")
    experiment = client.get_experiment(experiment_id)
    assert experiment.artifact_location == f"dbfs:/databricks/mlflow-tracking/{experiment_id}"
    # The SDK's ObjectType enum has no MLFLOW_EXPERIMENT, so read the answer as sent.
    status = WorkspaceClient().api_client.do(
        "GET", "/api/2.0/workspace/get-status", query={"path": f"{folder}/x"}
    )
    assert (status["object_type"], status["object_id"]) == ("MLFLOW_EXPERIMENT", int(experiment_id))
    run = client.create_run(experiment_id)
    assert run.info.artifact_uri == (
        f"dbfs:/databricks/mlflow-tracking/{experiment_id}/{run.info.run_id}/artifacts"
    )
    assert run.info.user_id == databricks.user


def test_shared_folder_exists_from_the_start(databricks_env, unique):
    from mlflow import MlflowClient

    databricks_env("m2m")
    assert MlflowClient().create_experiment(f"/Shared/lamp-{unique}")


# -- run artifacts ---------------------------------------------------------------------------------


def _round_trip(databricks, tmp_path: Path, unique: str) -> tuple[Path, Path]:
    import mlflow

    source = write_model(tmp_path / "upload" / "model")
    (source / "nested").mkdir()
    (source / "nested" / "empty.txt").write_bytes(b"")
    experiment_id = new_experiment(databricks, f"artifacts-{unique}")
    with mlflow.start_run(experiment_id=experiment_id) as run:
        mlflow.log_artifacts(str(source), "model")
    listed = {f.path for f in mlflow.MlflowClient().list_artifacts(run.info.run_id, "model")}
    assert listed == {"model/MLmodel", "model/serving.yaml", "model/weights.bin", "model/nested"}
    target = tmp_path / "download"
    target.mkdir()
    local = mlflow.artifacts.download_artifacts(
        run_id=run.info.run_id, artifact_path="model", dst_path=str(target)
    )
    return source, Path(local)


def test_run_artifacts_through_the_sdk_files_api(databricks, databricks_env, tmp_path, unique):
    databricks_env("pat")
    same_tree(*_round_trip(databricks, tmp_path, unique))
    puts = databricks.requests("/api/2.0/fs/files/WorkspaceInternal/Mlflow/Artifacts/", "PUT")
    assert len(puts) == 4 and {r["status"] for r in puts} == {204}
    assert databricks.requests("/api/2.0/fs/create-download-url")
    assert {r["status"] for r in databricks.requests("/signed/", "GET")} == {200}
    assert not databricks.requests("/api/2.0/mlflow/artifacts/credentials-for-")


def test_run_artifacts_through_signed_urls(databricks, databricks_env, tmp_path, unique):
    databricks_env("m2m", MLFLOW_DISABLE_DATABRICKS_SDK_FOR_RUN_ARTIFACTS="true")
    same_tree(*_round_trip(databricks, tmp_path, unique))
    assert databricks.requests("/api/2.0/mlflow/artifacts/credentials-for-write", "POST")
    assert databricks.requests("/api/2.0/mlflow/artifacts/credentials-for-read", "POST")
    assert databricks.requests("/api/2.0/mlflow/artifacts/list", "GET")
    assert len(databricks.requests("/signed/", "PUT")) == 4
    assert not databricks.requests("/api/2.0/fs/")


def test_signed_urls_refuse_tokens_tampering_and_expiry(databricks, databricks_env, unique):
    from databricks.sdk import WorkspaceClient
    from mlflow import MlflowClient

    databricks_env("pat")
    run = MlflowClient().create_run(new_experiment(databricks, f"signed-{unique}"))
    api = WorkspaceClient().api_client
    body = {"run_id": run.info.run_id, "path": ["a.txt"]}
    url = api.do("POST", "/api/2.0/mlflow/artifacts/credentials-for-write", body=body)[
        "credential_infos"
    ][0]["signed_uri"]
    bearer = {"Authorization": f"Bearer {databricks.pat}"}
    assert requests.put(url, data=b"x", headers=bearer, timeout=10).status_code == 400
    leaked = f"{url}&access_token={databricks.pat}"
    assert requests.put(leaked, data=b"x", timeout=10).status_code == 400
    # That probe put the PAT in a URL on purpose; the per-test canary must not count it.
    assert any(databricks.pat in r["url"] for r in databricks.log)
    databricks.reset_log()
    tampered = url.replace("op=put", "op=get")
    assert b"SignatureDoesNotMatch" in requests.get(tampered, timeout=10).content
    assert requests.put(url, data=b"hello", timeout=10).status_code == 200
    databricks.workspace.signer.ttl = -1
    try:
        expired = api.do("POST", "/api/2.0/mlflow/artifacts/credentials-for-read", body=body)
        answer = requests.get(expired["credential_infos"][0]["signed_uri"], timeout=10)
    finally:
        databricks.workspace.signer.ttl = 900.0
    assert answer.status_code == 403 and b"Request has expired" in answer.content


# -- Unity Catalog registry ------------------------------------------------------------------------


@pytest.mark.parametrize("storage", ["s3", "default_storage", "sdk"])
def test_uc_model_version_from_a_run_is_ready_and_readable_by_alias(
    databricks, databricks_env, tmp_path, unique, storage
):
    import mlflow
    from mlflow import MlflowClient

    databricks_env("pat")
    databricks.set_uc_storage(storage)
    source = write_model(tmp_path / "model")
    with mlflow.start_run(experiment_id=new_experiment(databricks, f"uc-{unique}")) as run:
        mlflow.log_artifacts(str(source), "model")
    client = MlflowClient()
    name = f"main.default.Lamp_{unique}"
    assert client.create_registered_model(name).name == name.lower()
    mv = client.create_model_version(name, f"runs:/{run.info.run_id}/model", run.info.run_id)
    assert (mv.name, mv.version, mv.status) == (name.lower(), "1", "READY")
    client.set_registered_model_alias(name, "champion", mv.version)
    assert client.get_model_version_by_alias(name, "champion").aliases == ["champion"]

    target = tmp_path / "download"
    target.mkdir()
    local = mlflow.artifacts.download_artifacts(f"models:/{name}@champion", dst_path=str(target))
    same_tree(source, Path(local), ignore=("registered_model_meta",))

    finalize = databricks.requests("/api/2.0/mlflow/unity-catalog/model-versions/finalize")
    assert [r["status"] for r in finalize] == [200]
    if storage == "s3":
        objects = databricks.uc.s3.list_objects_v2(Bucket=databricks.bucket)["Contents"]
        assert {o["Key"].rsplit("/", 1)[1] for o in objects} >= {"MLmodel", "weights.bin"}
        assert not databricks.requests("/api/2.0/fs/create-upload-url")
    elif storage == "default_storage":
        assert len(databricks.requests("/api/2.0/fs/create-upload-url")) == 3
        assert not databricks.requests("/api/2.0/fs/files/Models/")
    else:
        assert len(databricks.requests("/api/2.0/fs/files/Models/", "PUT")) == 3
        assert not databricks.requests("/api/2.0/mlflow/unity-catalog/model-versions/generate-")


def test_renamed_model_keeps_its_versions_readable(databricks, databricks_env, tmp_path, unique):
    import mlflow
    from mlflow import MlflowClient

    databricks_env("pat")
    databricks.set_uc_storage("default_storage")
    source = write_model(tmp_path / "model")
    with mlflow.start_run(experiment_id=new_experiment(databricks, f"rename-{unique}")) as run:
        mlflow.log_artifacts(str(source), "model")
    version = mlflow.register_model(f"runs:/{run.info.run_id}/model", f"main.default.a_{unique}")
    MlflowClient().rename_registered_model(version.name, f"main.default.b_{unique}")
    found = MlflowClient().search_model_versions(f"run_id='{run.info.run_id}'")
    assert [(v.name, v.version) for v in found] == [(f"main.default.b_{unique}", "1")]
    target = tmp_path / "download"
    target.mkdir()
    local = mlflow.artifacts.download_artifacts(
        f"models:/main.default.b_{unique}/1", dst_path=str(target)
    )
    same_tree(source, Path(local), ignore=("registered_model_meta",))


def test_finalize_refuses_a_version_without_signature(databricks, databricks_env, unique):
    from databricks.sdk import WorkspaceClient
    from databricks.sdk.errors import DatabricksError
    from mlflow import MlflowClient

    databricks_env("pat")
    databricks.set_uc_storage("default_storage")
    name = f"main.default.unsigned_{unique}"
    MlflowClient().create_registered_model(name)
    api = WorkspaceClient().api_client
    base = "/api/2.0/mlflow/unity-catalog/model-versions"
    mv = api.do("POST", f"{base}/create", body={"name": name, "source": "dbfs:/x"})
    upload = api.do(
        "POST",
        "/api/2.0/fs/create-upload-url",
        body={"path": f"/Models/main/default/unsigned_{unique}/1/MLmodel"},
    )
    assert requests.put(upload["url"], data=b"flavors: {}\n", timeout=10).status_code == 200
    with pytest.raises(DatabricksError, match="signature"):
        api.do("POST", f"{base}/finalize", body={"name": name, "version": "1"})
    assert mv["model_version"]["status"] == "PENDING_REGISTRATION"
    assert MlflowClient().get_model_version(name, "1").status == "FAILED_REGISTRATION"


def test_uc_names_need_three_levels_and_an_existing_schema(databricks, databricks_env, unique):
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    databricks_env("pat")
    client = MlflowClient()
    # MLflow adds its legacy-registry hint when the server's message has this wording.
    with pytest.raises(MlflowException, match=r"specify all three levels.*legacy Workspace"):
        client.create_registered_model(f"default.m_{unique}")
    with pytest.raises(MlflowException, match=f"Catalog 'ml_{unique}' does not exist"):
        client.create_registered_model(f"ml_{unique}.serving.m")
    databricks.create_catalog_schema(f"ml_{unique}", "serving")
    assert client.create_registered_model(f"ml_{unique}.serving.m").name == f"ml_{unique}.serving.m"
    with pytest.raises(MlflowException, match="does not exist") as missing:
        client.get_registered_model(f"main.default.nothing_{unique}")
    assert missing.value.error_code == "RESOURCE_DOES_NOT_EXIST"


def test_uc_search_takes_one_condition_and_no_order(databricks, databricks_env, unique):
    from databricks.sdk import WorkspaceClient
    from databricks.sdk.errors import DatabricksError
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    databricks_env("pat")
    client = MlflowClient()
    name = f"main.default.search_{unique}"
    client.create_registered_model(name)
    assert list(client.search_model_versions(f"name='{name}'")) == []
    with pytest.raises(MlflowException) as two:
        client.search_model_versions(f"name='{name}' AND run_id='abc'")
    assert two.value.error_code == "INVALID_PARAMETER_VALUE"
    # MLflow's client refuses order_by before sending anything; the server refuses it too.
    with pytest.raises(MlflowException, match="order_by"):
        client.search_model_versions(f"name='{name}'", order_by=["version_number DESC"])
    query = {"filter": f"name='{name}'", "order_by": "version_number DESC"}
    with pytest.raises(DatabricksError, match="order_by"):
        WorkspaceClient().api_client.do(
            "GET", "/api/2.0/mlflow/unity-catalog/model-versions/search", query=query
        )


def test_uc_search_results_carry_no_tags_or_aliases(databricks, databricks_env, unique):
    from databricks.sdk import WorkspaceClient

    databricks_env("pat")
    databricks.set_uc_storage("default_storage")
    name = f"main.default.bare_{unique}"
    api = WorkspaceClient().api_client
    base = "/api/2.0/mlflow/unity-catalog"
    api.do("POST", f"{base}/registered-models/create", body={"name": name})
    tags = [{"key": "team", "value": "ml"}]
    api.do(
        "POST", f"{base}/model-versions/create", body={"name": name, "source": "x", "tags": tags}
    )
    got = api.do("GET", f"{base}/model-versions/get", query={"name": name, "version": "1"})
    assert got["model_version"]["tags"] == tags
    found = api.do("GET", f"{base}/model-versions/search", query={"filter": f"name='{name}'"})
    assert [v["version"] for v in found["model_versions"]] == ["1"]
    assert "tags" not in found["model_versions"][0]
    assert "aliases" not in found["model_versions"][0]


def test_uc_tag_keys_with_reserved_characters_are_refused(databricks, databricks_env, unique):
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    databricks_env("pat")
    client = MlflowClient()
    name = f"main.default.tags_{unique}"
    client.create_registered_model(name)
    for key in ("lamp.spec", "lamp-spec", "lamp/spec", "a=b", "a:b", "a,b"):
        with pytest.raises(MlflowException, match="reserved characters") as caught:
            client.set_registered_model_tag(name, key, "v")
        assert caught.value.error_code == "INVALID_PARAMETER_VALUE"
    client.set_registered_model_tag(name, "lamp_spec", "v")
    assert client.get_registered_model(name).tags == {"lamp_spec": "v"}


# -- legacy registry, faults, canary ---------------------------------------------------------------


def test_legacy_workspace_registry_is_disabled_by_default(databricks, databricks_env, unique):
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    databricks_env("pat")
    legacy = MlflowClient(registry_uri="databricks")
    with pytest.raises(MlflowException, match="legacy workspace model registry is disabled") as e:
        legacy.create_registered_model(f"legacy-{unique}")
    assert e.value.error_code == "PERMISSION_DENIED"
    databricks.enable_legacy_registry(True)
    assert legacy.create_registered_model(f"legacy-{unique}").name == f"legacy-{unique}"


@pytest.mark.parametrize("status", [429, 503])
def test_a_burst_of_throttling_is_survived(databricks, databricks_env, unique, status):
    from mlflow import MlflowClient

    databricks_env("pat")
    name = f"/Users/{databricks.user}/burst-{unique}"
    experiment_id = MlflowClient().create_experiment(name)
    databricks.inject(status, 2, "/api/2.0/mlflow/experiments/get-by-name")
    databricks.reset_log()
    started = time.monotonic()
    assert MlflowClient().get_experiment_by_name(name).experiment_id == experiment_id
    assert time.monotonic() - started >= 1.5  # Retry-After: 1, twice
    calls = databricks.requests("/api/2.0/mlflow/experiments/get-by-name")
    assert [r["status"] for r in calls] == [status, status, 200]


def test_no_credential_ever_appears_in_a_url(databricks, databricks_env, tmp_path, unique):
    import mlflow
    from databricks.sdk import WorkspaceClient

    for kind in ("pat", "m2m", "github-oidc"):
        databricks_env(kind)
        WorkspaceClient().current_user.me()
    databricks_env("m2m")
    source = write_model(tmp_path / "model")
    with mlflow.start_run(experiment_id=new_experiment(databricks, f"canary-{unique}")) as run:
        mlflow.log_artifacts(str(source), "model")
    name = f"main.default.canary_{unique}"
    mlflow.register_model(f"runs:/{run.info.run_id}/model", name)
    secrets = databricks.secrets()
    assert len(secrets) >= 5
    urls = [r["url"] for r in databricks.log]
    assert any("/signed/" in u for u in urls)
    assert [u for u in urls if any(s in u for s in secrets)] == []
