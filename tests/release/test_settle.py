"""Racing releases of one key, with the interleavings forced by hand: the registry's version
order settles them, never the runs' start times.

Real parallel processes (tests/concurrency) cannot choose who is first; here each order that
matters is set up against the session's real `mlflow server`.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from lamp_cli import layout
from lamp_cli.errors import Conflict
from lamp_cli.gateway import Gateway, connect
from lamp_cli.services import experiments, projects, registry, release_key, runs
from lamp_cli.services import release as service
from lamp_cli.services.pairs import Prepared
from lamp_cli.settings import resolve
from lamp_cli.specs import load_pair

pytestmark = pytest.mark.server
KEY = "v9.9.9"
CREATE_VERSION = registry.create_version  # as it is before a test wraps it


@pytest.fixture
def backend(server_env: str, isolated_env: Path) -> Gateway:
    return connect(resolve({}, environ={"MLFLOW_TRACKING_URI": server_env}, cwd=isolated_env))


@pytest.fixture
def client(server_env: str) -> MlflowClient:
    """MLflow's own client: the tests' independent view of the server."""
    return MlflowClient(server_env, server_env)


@pytest.fixture
def setup(backend: Gateway, specs, unique: str):
    project = f"settle-{unique}"
    projects.create_project(backend, project)
    exp, _ = experiments.create(backend, f"settle-{unique}")
    return project, exp, load_pair(*specs)


def _rival(client: MlflowClient, exp, project: str, pair, *, started_ms: int | None = None) -> str:
    """Another racer's run of the key, tagged at creation and still RUNNING."""
    tags = {
        layout.TAG_RELEASE_KEY: KEY,
        layout.TAG_PROJECT: project,
        layout.TAG_MODEL_SHA: pair.model.sha256,
        layout.TAG_ENDPOINT_SHA: pair.endpoint.sha256,
    }
    run = client.create_run(exp.experiment_id, tags=tags, start_time=started_ms)
    return run.info.run_id


def _complete(backend: Gateway, project: str, run_id: str, pair) -> int:
    """The rival logs its specs and registers its run: its version number."""
    logged = runs.log_specs(backend, Prepared(pair), run_id=run_id)
    return CREATE_VERSION(backend, project, logged.run).version


def _release(backend: Gateway, exp, project: str, pair) -> service.ReleaseResult:
    return service.release(
        backend,
        Prepared(pair),
        experiment=exp.name,
        project=project,
        key=KEY,
        run_name=f"{project}@{KEY}",
        aliases=["cand"],
    )


def test_the_racer_that_registers_second_steps_back(backend, client, setup, monkeypatch) -> None:
    project, exp, pair = setup
    rival = _rival(client, exp, project, pair)

    def rival_registers_first(*args, **kwargs):
        # The rival's version is created between this racer's run and its version.
        _complete(backend, project, rival, pair)
        return CREATE_VERSION(*args, **kwargs)

    monkeypatch.setattr(registry, "create_version", rival_registers_first)
    result = _release(backend, exp, project, pair)
    assert (result.run.run_id, result.version.version) == (rival, 1)
    assert result.created_run is False and result.reused is True
    found = client.search_model_versions(f"name = '{project}'")
    assert [(int(v.version), v.run_id) for v in found] == [(1, rival)]
    mine = [r for r in client.search_runs([exp.experiment_id]) if r.info.run_id != rival]
    assert [r.info.status for r in mine] == ["KILLED"]
    assert mine[0].data.tags[layout.TAG_SUPERSEDED_BY] == rival


def test_the_lower_version_wins_whatever_the_start_times(
    backend, client, setup, monkeypatch
) -> None:
    project, exp, pair = setup
    # The rival's run claims to have started earlier; its version comes later.
    rival = _rival(client, exp, project, pair, started_ms=int((time.time() - 120) * 1000))
    result = _release(backend, exp, project, pair)
    assert result.created_run is True and result.version.version == 1

    late = _complete(backend, project, rival, pair)
    assert late == 2
    rival_version = registry.whole(
        backend, registry.versions.get_version(backend, project, str(late))
    )
    settled = registry.settle(
        backend,
        rival_version,
        lambda: release_key.key_versions(
            backend, exp.experiment_id, project, KEY, "", False, rival
        ),
    )
    assert (settled.version, settled.run_id) == (1, result.run.run_id)
    found = client.search_model_versions(f"name = '{project}'")
    assert [int(v.version) for v in found] == [1]


def test_a_racer_with_other_specs_conflicts(backend, client, setup, specs, monkeypatch) -> None:
    project, exp, pair = setup
    rival = _rival(client, exp, project, pair)
    other = load_pair(*specs, overrides=["endpoint.spec.replicas=4"])

    def rival_registers_first(*args, **kwargs):
        _complete(backend, project, rival, pair)
        return CREATE_VERSION(*args, **kwargs)

    monkeypatch.setattr(registry, "create_version", rival_registers_first)
    with pytest.raises(Conflict, match=rival):
        _release(backend, exp, project, other)
    found = client.search_model_versions(f"name = '{project}'")
    assert [(int(v.version), v.run_id) for v in found] == [(1, rival)]
    mine = [r for r in client.search_runs([exp.experiment_id]) if r.info.run_id != rival]
    assert [r.info.status for r in mine] == ["FAILED"]


def test_versions_of_runs_no_longer_live_do_not_win(backend, client, setup) -> None:
    project, exp, pair = setup
    dead = _rival(client, exp, project, pair)
    assert _complete(backend, project, dead, pair) == 1
    client.set_terminated(dead, "FAILED")
    result = _release(backend, exp, project, pair)
    assert result.created_run is True and result.version.version == 2
    assert result.version.aliases == ["cand"]


def test_a_rerun_reports_the_version_every_racer_settles_on(backend, client, setup) -> None:
    """Two finished runs of the key, each registered: the lower version stands, whichever run
    the rerun happens to list first (racers settle on the lowest version and delete the other)."""
    project, exp, pair = setup
    first, second = sorted(_rival(client, exp, project, pair) for _ in range(2))
    for run_id in (first, second):
        runs.log_specs(backend, Prepared(pair), run_id=run_id)
    # The run listed last by id registers first: a rerun must not take the other's version.
    assert CREATE_VERSION(backend, project, runs.get(backend, second)).version == 1
    assert CREATE_VERSION(backend, project, runs.get(backend, first)).version == 2
    result = _release(backend, exp, project, pair)
    assert (result.run.run_id, result.version.version) == (second, 1)
    assert result.reused is True and result.created_run is False
