"""Services against a temporary embedded SQLite store: the workflow and its failure modes."""

from __future__ import annotations

from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from lamp_cli import layout
from lamp_cli.errors import Conflict, InvalidInput, NotFound
from lamp_cli.gateway import Gateway, connect
from lamp_cli.services import artifacts, experiments, projects, registry, runs, versions
from lamp_cli.services.pairs import Prepared
from lamp_cli.settings import resolve
from lamp_cli.specs import load_pair


@pytest.fixture
def backend(isolated_env: Path, embedded_store: Path) -> Gateway:
    return connect(resolve({}, environ={}, cwd=isolated_env))


@pytest.fixture
def pair(specs: tuple[Path, Path]):
    return Prepared(load_pair(*specs))


def mlflow_client(gateway: Gateway) -> MlflowClient:
    """MLflow's own client on the same store: the tests' independent view of what was written."""
    uri = gateway.settings.tracking_uri
    return MlflowClient(uri, uri)


def test_embedded_store_is_created_in_the_working_directory(isolated_env: Path) -> None:
    fresh = isolated_env / "fresh"
    fresh.mkdir()
    gateway = connect(resolve({}, environ={}, cwd=fresh), writes=True)
    experiments.create(gateway, "exp")
    assert (fresh / "mlflow.db").is_file()


def test_experiment_create_is_a_conflict_unless_exist_ok(backend: Gateway) -> None:
    first, created = experiments.create(backend, "exp", tags={"team": "fraud"})
    assert created and first.tags["team"] == "fraud"
    with pytest.raises(Conflict) as info:
        experiments.create(backend, "exp")
    assert info.value.exit_code == 5
    again, created_again = experiments.create(backend, "exp", exist_ok=True)
    assert not created_again and again.experiment_id == first.experiment_id


def test_experiment_by_name_or_id_and_missing(backend: Gateway) -> None:
    exp, _ = experiments.create(backend, "by-id")
    assert experiments.get(backend, exp.experiment_id).name == "by-id"
    with pytest.raises(NotFound):
        experiments.get(backend, "nope")


def test_log_specs_then_register(backend: Gateway, pair) -> None:
    experiments.create(backend, "exp")
    logged = runs.log_specs(backend, pair, experiment="exp")
    run = logged.run
    assert logged.created_run and not logged.unchanged
    assert run.status == "FINISHED"
    assert set(run.artifacts) == {f"lamp/{name}" for name in (*layout.SPEC_FILES, "MLmodel")}
    assert run.tags[layout.TAG_MODEL_SHA] == pair.pair.model.sha256
    assert run.tags[layout.TAG_ENDPOINT_SHA] == pair.pair.endpoint.sha256
    assert run.tags[layout.TAG_IMAGE].startswith(pair.pair.model.document.spec.image.repository)

    projects.create_project(backend, "proj")
    result = registry.register(backend, run.run_id, "proj", aliases=["staging"])
    version = result.version
    assert result.created and version.version == 1 and version.status == "READY"
    assert version.source == f"runs:/{run.run_id}/lamp"
    assert version.run_id == run.run_id
    assert version.aliases == ["staging"]
    assert version.tags["lamp_spec_model_sha256"] == pair.pair.model.sha256

    again = registry.register(backend, run.run_id, "proj")
    assert not again.created and again.version.version == 1
    assert [v.version for v in versions.list_versions(backend, "proj")] == [1]


def test_logging_the_same_specs_again_writes_nothing(backend: Gateway, pair) -> None:
    experiments.create(backend, "exp")
    first = runs.log_specs(backend, pair, experiment="exp").run
    again = runs.log_specs(backend, pair, run_id=first.run_id)
    assert again.unchanged and again.run.ended_at == first.ended_at


def test_logging_different_specs_to_a_run_is_a_conflict(backend: Gateway, pair, specs) -> None:
    experiments.create(backend, "exp")
    run = runs.log_specs(backend, pair, experiment="exp").run
    other = Prepared(load_pair(*specs, overrides=["endpoint.spec.replicas=5"]))
    assert other.pair.endpoint.sha256 != pair.pair.endpoint.sha256
    with pytest.raises(Conflict, match="different specs"):
        runs.log_specs(backend, other, run_id=run.run_id)


def test_upload_failure_marks_the_run_failed(backend: Gateway, pair, isolated_env: Path) -> None:
    blocker = isolated_env / "not-a-directory"
    blocker.write_text("a file where the artifact store should be")
    experiments.create(backend, "broken", artifact_location=str(blocker / "artifacts"))
    with pytest.raises(Exception) as info:
        runs.log_specs(backend, pair, experiment="broken")
    assert "marked FAILED" in str(info.value.message)
    exp = experiments.get(backend, "broken")
    found = mlflow_client(backend).search_runs([exp.experiment_id])
    assert [r.info.status for r in found] == ["FAILED"]
    assert "marked FAILED" not in found[0].data.tags[layout.TAG_ERROR]
    projects.create_project(backend, "proj")
    with pytest.raises(NotFound, match="no complete lamp specs"):
        registry.register(backend, found[0].info.run_id, "proj")


def test_register_refuses_runs_without_specs_and_missing_projects(backend: Gateway, pair) -> None:
    experiments.create(backend, "exp")
    bare = runs.create(backend, "exp")
    projects.create_project(backend, "proj")
    with pytest.raises(NotFound, match="no complete lamp specs"):
        registry.register(backend, bare.run_id, "proj")
    with pytest.raises(NotFound):
        registry.register(backend, "0" * 32, "proj")
    logged = runs.log_specs(backend, pair, experiment="exp").run
    with pytest.raises(NotFound) as info:
        registry.register(backend, logged.run_id, "no-such-project")
    assert "lamp project create no-such-project" in (info.value.hint or "")
    assert versions.list_versions(backend, "proj") == []


def test_invalid_alias_is_refused_before_anything_is_written(backend: Gateway, pair) -> None:
    experiments.create(backend, "exp")
    run = runs.log_specs(backend, pair, experiment="exp").run
    projects.create_project(backend, "proj")
    with pytest.raises(InvalidInput):
        registry.register(backend, run.run_id, "proj", aliases=["latest"])
    assert versions.list_versions(backend, "proj") == []


def test_alias_moves_forward_but_never_back(backend: Gateway, pair, specs) -> None:
    experiments.create(backend, "exp")
    projects.create_project(backend, "proj")
    first = runs.log_specs(backend, pair, experiment="exp").run
    second = runs.log_specs(backend, pair, experiment="exp").run
    v1 = registry.register(backend, first.run_id, "proj", aliases=["prod"]).version
    result = registry.register(backend, second.run_id, "proj", aliases=["prod"])
    assert result.moved_aliases == {"prod": v1.version}
    assert versions.get_version(backend, "proj", "@prod").version == 2
    with pytest.raises(Conflict, match="roll back"):
        registry.register(backend, first.run_id, "proj", aliases=["prod"])
    assert versions.get_version(backend, "proj", "@prod").version == 2


def test_project_create_exist_ok(backend: Gateway) -> None:
    _, created = projects.create_project(backend, "proj", description="d")
    assert created
    with pytest.raises(Conflict):
        projects.create_project(backend, "proj")
    record, created = projects.create_project(backend, "proj", exist_ok=True)
    assert not created and record.description == "d"
    with pytest.raises(InvalidInput):
        projects.create_project(backend, "bad/name")


def test_human_tables_print_values_verbatim(lamp, embedded_store: Path) -> None:
    """Tag values are data, not rich markup: brackets must survive."""
    result = lamp("experiment", "create", "exp", "--tag", "note=[bold]x[/bold] [link]")
    assert result.exit_code == 0, result.stderr
    assert "note=[bold]x[/bold] [link]" in result.stdout


def test_lamp_dir_is_an_mlflow_model_with_a_full_signature(
    backend: Gateway, pair, tmp_path
) -> None:
    """What Unity Catalog checks before it registers: an MLmodel with inputs and outputs."""
    import mlflow.artifacts
    from mlflow.models import Model

    experiments.create(backend, "exp")
    run = runs.log_specs(backend, pair, experiment="exp").run
    local = mlflow.artifacts.download_artifacts(
        run_id=run.run_id,
        artifact_path="lamp",
        dst_path=str(tmp_path),
        tracking_uri=mlflow_client(backend).tracking_uri,
    )
    model = Model.load(local)
    assert model.run_id == run.run_id
    assert model.signature is not None
    assert [c.name for c in model.signature.inputs.inputs] == ["route", "method", "body"]
    assert [c.name for c in model.signature.outputs.inputs] == ["status", "body"]
    flavor = model.flavors["lamp"]
    assert (
        flavor["model_spec"] == layout.MODEL_FILE
        and flavor["endpoint_spec"] == layout.ENDPOINT_FILE
    )
    assert [r["path"] for r in flavor["routes"]] == [
        r.path for r in pair.pair.model.document.spec.routes
    ]
    # The specs beside it are the logged bytes.
    assert (Path(local) / layout.MODEL_FILE).read_text() == pair.pair.model.text


def test_runs_logged_before_mlmodel_still_register_here(backend: Gateway, pair, tmp_path) -> None:
    """A run of an earlier lamp (three files, no MLmodel) registers on a registry without UC."""
    import json

    exp, _ = experiments.create(backend, "old")
    client = mlflow_client(backend)
    run = client.create_run(exp.experiment_id)
    folder = tmp_path / "lamp"
    folder.mkdir()
    (folder / layout.MODEL_FILE).write_text(pair.pair.model.text)
    (folder / layout.ENDPOINT_FILE).write_text(pair.pair.endpoint.text)
    (folder / layout.MANIFEST_FILE).write_text(json.dumps(artifacts.manifest(pair.pair)))
    client.log_artifacts(run.info.run_id, str(folder), "lamp")
    for key, value in artifacts.spec_tags(pair.pair).items():
        client.set_tag(run.info.run_id, key, value)
    client.set_terminated(run.info.run_id, "FINISHED")
    projects.create_project(backend, "legacy")
    version = registry.register(backend, run.info.run_id, "legacy").version
    assert version.status == "READY" and version.source == f"runs:/{run.info.run_id}/lamp"
