"""Every create of every write command through a proxy that fails it: refused and reset
connections, bursts of 500/503/429, answers slower than the timeout, and answers lost after the
server acted. Each command succeeds or exits 6 in time; nothing is left duplicated or half done.

The counts are read from the real server behind the proxy, with MLflow's plain client.
"""

from __future__ import annotations

import json
import re
import time

import pytest
from mlflow.tracking import MlflowClient

pytestmark = pytest.mark.server

#: Longer than the proxy fixture's 2 s timeout: the client gives up before the answer comes.
SLOW_S = 3.5

#: Each fault kind as the injections of one scenario; the burst needs all three retries.
FAULTS = {
    "burst": [("status", {"code": 500}), ("status", {"code": 503}), ("status", {"code": 429})],
    "reset": [("reset", {})],
    "drop": [("drop", {})],
    "slow": [("slow", {"delay": SLOW_S})],
}
CREATES = {
    "experiment": r"/mlflow/experiments/create$",
    "run": r"/mlflow/runs/create$",
    "project": r"/mlflow/registered-models/create$",
    "version": r"/mlflow/model-versions/create$",
    "alias": r"/mlflow/registered-models/alias$",
}


def inject(proxy, kind: str, path: str) -> list:
    return [proxy.inject(fault, "POST", path, **kwargs) for fault, kwargs in FAULTS[kind]]


def specs_args(specs) -> list[str]:
    model, endpoint = specs
    return ["--model-spec", str(model), "--endpoint-spec", str(endpoint)]


def runs_of(client: MlflowClient, experiment: str) -> list:
    exp = client.get_experiment_by_name(experiment)
    return list(client.search_runs([exp.experiment_id])) if exp else []


def versions_of(client: MlflowClient, project: str) -> list[tuple[int, str]]:
    found = client.search_model_versions(f"name = '{project}'")
    return sorted((int(v.version), v.run_id) for v in found)


def complete(run) -> bool:
    tags = run.data.tags
    return run.info.status == "FINISHED" and all(
        key in tags for key in ("lamp.spec.model.sha256", "lamp.spec.endpoint.sha256")
    )


@pytest.fixture
def client(mlflow_server: str) -> MlflowClient:
    return MlflowClient(mlflow_server, mlflow_server)


@pytest.mark.parametrize("kind", FAULTS)
@pytest.mark.parametrize("create", CREATES)
def test_each_create_survives_each_fault_exactly_once(
    lamp, proxy, client, specs, unique: str, create: str, kind: str
) -> None:
    name = f"fault-{create}-{kind}-{unique}"
    if create in ("run", "version", "alias"):
        client.create_experiment(name)
    if create in ("version", "alias"):
        client.create_registered_model(name)
        run_id = lamp.json("run", "log-spec", "-e", name, *specs_args(specs))["run_id"]
    if create == "alias":
        assert lamp.json("register", run_id, name)["version"] == 1
    faults = inject(proxy, kind, CREATES[create])

    if create == "experiment":
        result = lamp("-o", "json", "experiment", "create", name)
    elif create == "project":
        result = lamp("-o", "json", "project", "create", name)
    elif create == "run":
        result = lamp("-o", "json", "run", "log-spec", "-e", name, *specs_args(specs))
    else:
        extra = ["--alias", "staging"] if create == "alias" else []
        result = lamp("-o", "json", "register", run_id, name, *extra)
    assert result.exit_code == 0, result.stderr
    assert [f.hits for f in faults] == [1] * len(faults)  # each fault did happen
    data = json.loads(result.stdout)

    if create == "experiment":
        # The answer was lost, not the experiment: it is this call's, not "already exists".
        assert data["created"] is True
        assert client.get_experiment_by_name(name) is not None
    elif create == "project":
        assert data["created"] is True
        found = client.search_registered_models(f"name = '{name}'")
        assert [m.name for m in found] == [name]
    elif create == "run":
        found = runs_of(client, name)
        assert [r.info.run_id for r in found] == [data["run_id"]]
        assert complete(found[0])
    else:
        assert versions_of(client, name) == [(1, run_id)]
        assert data["version"] == 1
    if create == "alias":
        assert client.get_model_version_by_alias(name, "staging").version == "1"
    if create == "run" and kind in ("drop", "slow"):
        # MLflow's client did not send the create again: lamp looked the run up by its start
        # time and name, and found it.
        assert proxy.calls.count(("POST", "/api/2.0/mlflow/runs/create")) == 1
        assert ("POST", "/api/2.0/mlflow/runs/search") in proxy.calls


@pytest.mark.parametrize("kind", ["drop", "burst"])
@pytest.mark.parametrize("create", ["run", "version"])
def test_a_release_under_faults_records_one_run_and_one_version(
    lamp, proxy, client, specs, unique: str, create: str, kind: str
) -> None:
    project = f"fault-rel-{create}-{kind}-{unique}"
    client.create_registered_model(project)
    faults = inject(proxy, kind, CREATES[create])
    args = ["release", "--project", project, "--experiment", project, *specs_args(specs)]
    args += ["--no-verify-image", "--release-key", "v1", "--alias", "candidate"]
    data = lamp.json(*args)
    assert [f.hits for f in faults] == [1] * len(faults)
    found = runs_of(client, project)
    assert [r.info.run_id for r in found] == [data["run_id"]]
    assert complete(found[0])
    assert versions_of(client, project) == [(1, data["run_id"])]
    again = lamp.json(*args)
    assert (again["run_id"], again["model_version"], again["reused"]) == (data["run_id"], 1, True)


def test_a_4xx_answer_is_not_retried(lamp, proxy, client, specs, unique: str) -> None:
    name = f"fault-denied-{unique}"
    client.create_experiment(name)
    proxy.inject("status", "POST", CREATES["run"], code=403, times=10)
    result = lamp("run", "log-spec", "-e", name, *specs_args(specs))
    assert result.exit_code == 7, result.stderr
    assert "permission denied" in result.stderr
    assert proxy.calls.count(("POST", "/api/2.0/mlflow/runs/create")) == 1
    assert runs_of(client, name) == []


def test_a_server_failing_every_create_is_exit_6_in_time(
    lamp, proxy, client, specs, unique: str
) -> None:
    name = f"fault-down-{unique}"
    client.create_experiment(name)
    proxy.inject("status", "POST", CREATES["run"], code=503, times=100)
    started = time.monotonic()
    result = lamp("run", "log-spec", "-e", name, *specs_args(specs))
    assert result.exit_code == 6, result.stderr
    assert time.monotonic() - started < 20  # the documented bound for any command
    # MLflow before 3.18 retries the 503s itself and says so; 3.18 leaves every retry to lamp.
    assert re.search(r"(kept answering|answered) HTTP 503 on run in experiment", result.stderr)
    assert "Traceback" not in result.stderr
    # One create per attempt: MLflow's client did not multiply them.
    assert proxy.calls.count(("POST", "/api/2.0/mlflow/runs/create")) == 4
    assert runs_of(client, name) == []


def test_refused_connections_are_exit_6_in_time(lamp, closed_port, specs, monkeypatch) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"http://127.0.0.1:{closed_port}")
    started = time.monotonic()
    result = lamp("run", "log-spec", "-e", "anything", *specs_args(specs))
    assert result.exit_code == 6
    assert time.monotonic() - started < 20
    assert f"cannot reach the tracking server at http://127.0.0.1:{closed_port}" in result.stderr
